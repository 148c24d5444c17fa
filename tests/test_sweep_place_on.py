"""``place_on = "preset"`` sweep points: the placement is computed on the unmodified preset and the
point's chip runs it (the sensitivity study's fixed mapping)."""

from __future__ import annotations

import pytest

from nmsim.errors import SweepError
from nmsim.replay.sweep_point import sweep_point, validate_sweep_params

BASE = {"chip": "loihi", "model": "workloads/models/ptb-egru-tiny.nmm", "dataset": "ptb", "tokens": 4}


def test_place_on_is_checked():
    assert "place_on" not in validate_sweep_params(BASE)  # absent stays absent: old config hashes hold
    with pytest.raises(SweepError, match=r"parameter 'place_on' = 'chip'; choices: point, preset"):
        validate_sweep_params({**BASE, "place_on": "chip"})
    with pytest.raises(SweepError, match=r"parameter 'chip.core.max_neurons' with place_on = 'preset'"):
        validate_sweep_params({**BASE, "place_on": "preset", "chip.core.max_neurons": 64})


def test_preset_placement_prices_a_doubled_synaptic_op_exactly_twice():
    """Under the preset's placement, doubling ``energy.synaptic_op`` changes nothing but the synapse
    category, which doubles (it is count x price: docs/engine-model.md); the timing and logits are the
    preset's."""
    from nmsim.describe.chip import load_chip

    pj = load_chip("loihi").energy.pj["synaptic_op"]
    base = sweep_point(BASE)
    fixed = sweep_point({**BASE, "place_on": "preset", "chip.energy.synaptic_op": 2 * pj})
    assert fixed["energy_synapse_nj"] == pytest.approx(2 * base["energy_synapse_nj"], rel=1e-9)
    for k in ("energy_neuron_nj", "energy_noc_nj", "energy_io_nj", "energy_static_nj", "latency_per_token_us",
              "cores_used", "logits_sha256", "synaptic_ops_per_token", "hops_total"):
        assert fixed[k] == base[k], k
