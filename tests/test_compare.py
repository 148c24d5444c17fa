"""``nmsim compare``: the table's values and ratios against the runs' summaries, the bar figure's data,
``--same-model`` and bad run directories."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nmsim.cli import main
from nmsim.report.compare import ENERGY_KEYS, compare_figure, load_runs
from replay_helpers import ptb_model_file


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("cmp")
    model = ptb_model_file(d / "m.nmm")
    other = ptb_model_file(d / "other.nmm", seed=5)
    out = {}
    for name, chip, mdl in (("loihi", "loihi", model), ("spinnaker2", "spinnaker2", model),
                            ("other-model", "loihi", other)):
        out[name] = d / name
        assert main(["run", "--no-progress", "--no-figures", "--model", str(mdl), "--chip", chip, "--tokens", "6",
                     "--decoder", "host", "--out", str(out[name])]) == 0
    return out


def _table(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| quantity"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def test_loihi_vs_spinnaker2_table_and_figure(runs, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", str(runs["loihi"]), str(runs["spinnaker2"]), "--same-model", "--out", str(out)]) == 0
    rows = _table(capsys.readouterr().out)
    a, b = (json.loads((runs[k] / "summary.json").read_text()) for k in ("loihi", "spinnaker2"))
    assert rows["chip"] == ["loihi", "spinnaker2"]
    lat_a, lat_b = a["latency_ns"]["mean"] / 1e3, b["latency_ns"]["mean"] / 1e3
    cell = rows["latency mean (us)"][1]
    assert float(cell.split()[0]) == pytest.approx(lat_b, rel=1e-3) and cell.endswith(f"({lat_b / lat_a:.3g}x)")
    ea, eb = a["energy_nj_per_token"]["total"], b["energy_nj_per_token"]["total"]
    assert rows["energy/token (nJ)"][1].endswith(f"({eb / ea:.3g}x)")
    for c in ENERGY_KEYS:
        assert f"  {c} (nJ)".strip() in {k.strip() for k in rows}
    assert rows["bit_exact"] == ["true", "true"]
    assert rows["logits_sha256"] == [a["logits_sha256"][:16]] * 2
    assert rows["perplexity"][1].endswith("(1x)")
    assert {"packets/token", "hops/token", "synaptic ops/token", "activity L1"} <= set(rows)
    assert (out / "compare.png").read_bytes()[:4] == b"\x89PNG" and (out / "compare.md").is_file()
    _, d = compare_figure(load_runs([runs["loihi"], runs["spinnaker2"]]))
    stack = sum(d["energy_nj"][c] for c in ENERGY_KEYS)
    np.testing.assert_allclose(stack, [ea, eb], rtol=1e-4)
    np.testing.assert_allclose(d["latency_us"], [lat_a, lat_b])
    np.testing.assert_allclose(d["packets_per_token"], [a["traffic"]["packets"] / 6, b["traffic"]["packets"] / 6])


def test_same_model_refuses_different_logits(runs, tmp_path, capsys):
    args = ["compare", str(runs["loihi"]), str(runs["other-model"]), "--out", str(tmp_path / "c")]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args + ["--same-model"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nmsim: error: --same-model: logits hashes differ") and err.count("\n") == 1


def test_a_directory_without_a_run_is_one_line(tmp_path, capsys):
    assert main(["compare", str(tmp_path), "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "no summary.json" in err and err.count("\n") == 1
