"""The ``replay`` sweep point kind."""

from __future__ import annotations

import pytest

from nmsim.errors import SweepError
from nmsim.sweep.points import run_point, validate_point_params
from replay_helpers import ptb_model_file


def test_replay_point(tmp_path):
    model = str(ptb_model_file(tmp_path / "m.nmm"))
    p = validate_point_params("replay", {"chip": "loihi", "model": model, "dataset": "ptb", "tokens": 12,
                                         "chip.timing.hop_east_west_cycles": 20})
    assert p["mode"] == "pipelined" and p["offset"] == 0
    m1 = run_point({"kind": "replay", "params": p})
    m2 = run_point({"kind": "replay", "params": p})
    assert m1 == m2  # pure, no wall clock
    assert m1["bit_exact"] == 1 and {"energy_per_token_nj", "latency_per_token_us", "perplexity"} <= set(m1)
    slow = run_point({"kind": "replay", "params": {**p, "chip.timing.hop_east_west_cycles": 400}})
    assert slow["logits_sha256"] == m1["logits_sha256"]
    assert slow["latency_per_token_us"] > m1["latency_per_token_us"]
    off = run_point({"kind": "replay", "params": {**p, "offset": 5}})
    assert off["logits_sha256"] != m1["logits_sha256"]


@pytest.mark.parametrize("extra,message", [
    ({"chip.timing.hop_east_wst_cycles": 3}, "parameter chip.timing.hop_east_wst_cycles=3: unknown key"),
    ({"sparsity": 0.9}, "unknown parameter 'sparsity'"),
    ({"mode": "warp"}, "parameter 'mode' = 'warp'"),
    ({"dataset": "imdb"}, "unknown dataset"),
])
def test_bad_params(extra, message):
    with pytest.raises(SweepError, match=message):
        validate_point_params("replay", {"chip": "loihi", "model": "m", "dataset": "ptb", "tokens": 5, **extra})
