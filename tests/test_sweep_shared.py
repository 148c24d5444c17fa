"""Shared passes across sweep points (docs/sweeps.md, "Shared passes"): points that differ only in chip
timing share one functional record, points that differ only in energy are re-priced from a stored timed
record, and every row is the row of a separate run of that point."""

from __future__ import annotations

import pytest

from nmsim.sweep import run_sweep
from nmsim.sweep.points import run_point
from nmsim.sweep.store import ResultStore
from replay_helpers import ptb_model_file

SPEC = """schema_version = 1
name = "shared"
kind = "replay"
[base]
chip = "loihi"
model = "{model}"
dataset = "ptb"
tokens = 12
placement = "snake"
[grid]
"chip.timing.hop_east_west_cycles" = [10, 20, 40, 80]
"chip.energy.synaptic_op" = [20.0, 40.0]
"""


def test_timing_variants_share_one_functional_pass(tmp_path, monkeypatch):
    from nmsim.replay import driver
    from nmsim.sweep.points import warm_kind

    model = ptb_model_file(tmp_path / "m.nmm")
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.format(model=model))
    warm_kind("replay")  # its tiny replay runs before the counting starts
    calls = {"step loops": 0, "timing passes": 0}

    def counted(name, key):
        real = getattr(driver, name)

        def wrapper(*a, **k):
            calls[key] += 1
            return real(*a, **k)
        monkeypatch.setattr(driver, name, wrapper)

    counted("_steps", "step loops")  # the token-order loop: a functional pass or a one-pass replay
    counted("_timing_pass", "timing passes")
    summary = run_sweep(spec, tmp_path / "sw", workers=0)
    assert (summary.planned, summary.ran, summary.failed) == (8, 8, 0)
    # 4 timing variants x 2 energy tables: one functional pass, one timing pass per timing variant, and the
    # second energy table of each timing variant priced from the stored timed record
    assert calls == {"step loops": 1, "timing passes": 4}
    assert summary.passes == {"functional": 1, "timing": 4, "repriced": 4}
    assert "1 functional pass, 4 timing passes, 4 re-pricings" in summary.line()
    with ResultStore.open_existing(tmp_path / "sw") as store:
        rows = store.rows()
    assert len(rows) == 8
    for r in rows:  # the row of a separate one-pass run of the same point
        assert r["metrics"] == run_point({"kind": "replay", "params": r["params"]}), r["params"]
    lat = {r["params"]["chip.timing.hop_east_west_cycles"]: r["metrics"]["latency_per_token_us"] for r in rows}
    assert lat[10] < lat[80]  # the timing really differs between the points that shared the functional pass
    en = {r["params"]["chip.energy.synaptic_op"]: r["metrics"]["energy_synapse_nj"] for r in rows
          if r["params"]["chip.timing.hop_east_west_cycles"] == 10}
    # the synapse category is synaptic ops x pJ per op (sums rounded to 6 digits in the summary)
    assert en[40.0] == pytest.approx(2 * en[20.0], rel=1e-5) and en[20.0] > 0
    assert (tmp_path / "sw" / "records").is_dir()
    # resuming finds everything done and runs nothing
    again = run_sweep(spec, tmp_path / "sw", workers=0)
    assert again.ran == 0 and again.passes is None


def test_a_sweep_without_shared_groups_runs_one_pass_per_point(tmp_path):
    model = ptb_model_file(tmp_path / "m.nmm")
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.format(model=model).replace('"chip.timing.hop_east_west_cycles" = [10, 20, 40, 80]\n'
                                                     '"chip.energy.synaptic_op" = [20.0, 40.0]', "seed = [0, 1]"))
    summary = run_sweep(spec, tmp_path / "sw", workers=0)
    assert summary.passes == {"functional": 2, "timing": 2, "repriced": 0}
    assert not (tmp_path / "sw" / "records").exists()


@pytest.mark.slow
def test_local_workers_share_too(tmp_path):
    """Two local worker processes: the group's first point runs alone, the others wait for it, so the
    functional pass still runs once, and the rows are those of the in-process sweep."""
    model = ptb_model_file(tmp_path / "m.nmm")
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.format(model=model))
    summary = run_sweep(spec, tmp_path / "local", workers=2)
    assert summary.passes == {"functional": 1, "timing": 4, "repriced": 4}
    run_sweep(spec, tmp_path / "inline", workers=0)
    rows = {}
    for name in ("local", "inline"):
        with ResultStore.open_existing(tmp_path / name) as store:
            rows[name] = [(r["config_hash"], r["metrics"]) for r in store.rows()]
    assert rows["local"] == rows["inline"]


def test_values_per_host_packet_share_the_functional_pass(tmp_path, monkeypatch):
    """Points that differ only in ``noc.readout_values_per_packet`` (traffic and timing only) share one
    functional record, and each row is that of a separate run: the hops of the packets to the host come from
    each point's own timing pass, not from the shared record."""
    from nmsim.sweep.points import warm_kind

    model = ptb_model_file(tmp_path / "m.nmm")
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.format(model=model).split("[grid]")[0]
                    + '[grid]\n"chip.noc.readout_values_per_packet" = [1, 4, 9]\n')
    warm_kind("replay")
    summary = run_sweep(spec, tmp_path / "sw", workers=0)
    assert (summary.planned, summary.ran, summary.failed) == (3, 3, 0)
    assert summary.passes == {"functional": 1, "timing": 3, "repriced": 0}
    with ResultStore.open_existing(tmp_path / "sw") as store:
        rows = store.rows()
    for r in rows:
        assert r["metrics"] == run_point({"kind": "replay", "params": r["params"]}), r["params"]
    by_kv = sorted(rows, key=lambda r: r["params"]["chip.noc.readout_values_per_packet"])
    m = [r["metrics"] for r in by_kv]
    assert len({x["logits_sha256"] for x in m}) == 1 and all(x["bit_exact"] == 1 for x in m)
    # packing 10,000 logits 4 or 9 to a packet: fewer packets and packet hops
    assert m[0]["packets_per_token"] > m[1]["packets_per_token"] > m[2]["packets_per_token"]
    assert m[0]["hops_total"] > m[1]["hops_total"] > m[2]["hops_total"]
