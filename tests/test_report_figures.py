"""Run figures and report.md: every figure's plotted data against summary.json / tokens.csv; determinism;
``nmsim report`` and ``nmsim run --no-figures``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nmsim.cli import main
from nmsim.replay import ReplayConfig, build_replay, load_replay_chip, replay
from nmsim.replay.outputs import run_info, write_outputs
from nmsim.report import figures as F
from nmsim.report.run_data import load_run
from replay_helpers import ptb_model_file, tiny_golden, tokens

N = 20


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    cfg = ReplayConfig(chip="test-2x2", decoder="host")
    m = build_replay(tiny_golden("egru"), load_replay_chip("test-2x2"), "snake", "host")
    res = replay(cfg, mapped=m, tokens=tokens(N))
    write_outputs(d, res, run_info(cfg, m, ["test"]))
    return d


@pytest.fixture(scope="module")
def run(run_dir):
    return load_run(run_dir)


def test_a_run_writes_every_figure_and_the_report(run_dir):
    for name in F.FIGURES:
        assert (run_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    md = (run_dir / "report.md").read_text()
    assert all(f"]({name})" in md for name in F.FIGURES)
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["logits_sha256"] in md and f"{s['energy_nj_per_token']['total']:.1f} nJ" in md


def test_energy_stack_sums_to_the_totals(run):
    _, d = F.energy_per_token(run)
    stack = sum(d[c] for c in F.ENERGY_PARTS)
    np.testing.assert_allclose(stack, run.tokens["energy_nj"], rtol=1e-4)
    e, st = run.summary["energy_nj_per_token"], run.summary["static_nj_per_token"]
    assert stack.sum() == pytest.approx(run.summary["energy_nj_total"], rel=1e-4)
    for c in F.ENERGY_PARTS:
        want = st[c] if c in st else e[c]  # dynamic categories and wake-ups; static lines
        assert d[c].sum() / N == pytest.approx(want, rel=1e-4, abs=1e-9), c
    static = sum(d[c] for c in F.ENERGY_PARTS if c.startswith("static_"))
    assert static.sum() / N == pytest.approx(e["static"], rel=1e-4)


def test_core_heatmaps_hold_every_core(run):
    _, d = F.core_busy(run)
    chip = run.cores["core"] != "host"
    for col, grid in d.items():
        assert np.count_nonzero(~np.isnan(grid)) == chip.sum()  # 8 cores, 2 per router: 2x1 cells per router
        assert np.nansum(grid) == pytest.approx(run.cores[col][chip].sum())
    host = run.cores["critical_share"][~chip].sum()
    assert np.nansum(d["critical_share"]) + host == pytest.approx(1.0)
    assert d["critical_share"].shape == (2, 4)
    # core 0 sits on router (0, 0), core 3 on router (1, 0) as the second core there
    assert d["neuron_cycles_mean"][0, 0] == run.cores["neuron_cycles_mean"][0]
    assert d["neuron_cycles_mean"][0, 3] == run.cores["neuron_cycles_mean"][3]


def test_link_heatmaps_show_the_busiest_link(run):
    _, d = F.link_utilization(run)
    assert set(d) == {"E", "W", "N", "S", "inject", "eject"}
    peak = max(float(np.nanmax(g)) for g in d.values())
    assert peak == pytest.approx(run.summary["traffic"]["max_link_utilization"], rel=1e-5)
    assert np.isnan(d["E"][:, 1]).all() and np.isnan(d["W"][:, 0]).all()  # no port off the mesh edge


def test_latency_figure_is_tokens_csv(run):
    _, d = F.latency(run)
    np.testing.assert_array_equal(d["latency_us"] * 1e3, run.tokens["latency_ns"])
    assert d["latency_us"].mean() * 1e3 == pytest.approx(run.summary["latency_ns"]["mean"], rel=1e-5)
    assert d["hist_counts"].sum() == N


def test_traffic_per_step_adds_up(run):
    _, d = F.traffic_per_step(run)
    t = run.summary["traffic"]
    assert len(d["step"]) == run.summary["steps"]
    assert d["packets"].sum() == t["packets"] and d["hops"].sum() == t["hops"]


def test_figures_are_byte_identical(run, run_dir):
    """Drawn again from the files, every PNG is the one the run wrote (no timestamp, fixed dpi)."""
    assert {k: v[0] for k, v in F.render_all(run).items()} == {k: (run_dir / k).read_bytes() for k in F.FIGURES}


def test_report_regenerates_the_same_files_and_no_figures_skips_them(tmp_path, capsys):
    model = ptb_model_file(tmp_path / "m.nmm")
    out = tmp_path / "run"
    assert main(["run", "--no-progress", "--model", str(model), "--tokens", "8", "--decoder", "host",
                 "--out", str(out)]) == 0
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(F.FIGURES) | {"report.md", "cores.csv", "links.csv", "steps.csv"} <= set(first)
    for name in (*F.FIGURES, "report.md"):
        (out / name).unlink()
    assert main(["report", str(out)]) == 0
    for name in (*F.FIGURES, "report.md"):
        assert (out / name).read_bytes() == first[name], name
    assert main(["run", "--no-progress", "--no-figures", "--model", str(model), "--tokens", "8",
                 "--decoder", "host", "--out", str(out)]) == 0
    left = {p.name for p in out.iterdir()}
    assert not left & (set(F.FIGURES) | {"report.md"}) and "cores.csv" in left
    capsys.readouterr()
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
