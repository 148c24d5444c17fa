"""LM replay under both routing modes: the same logits (bit-exact), less traffic with multicast."""

from __future__ import annotations

import pytest

from nmsim.replay import ReplayConfig, build_replay, load_replay_chip, replay
from replay_helpers import tiny_golden, tokens


def _summary(golden, toks, chip, routing):
    ov = {"noc.routing": routing}
    cs = load_replay_chip(chip, ov)
    assert cs.noc.routing == routing
    cfg = ReplayConfig(chip=chip, placement="snake", mode="pipelined", decoder="chip", chip_overrides=ov)
    return replay(cfg, mapped=build_replay(golden, cs, "snake", "chip"), tokens=toks).summary


@pytest.mark.parametrize("kind", ["egru", "lstm"])
def test_same_logits_under_unicast_and_multicast(kind):
    g = tiny_golden(kind, hidden=(6, 6)) if kind == "lstm" else tiny_golden(kind)
    toks = tokens(25)
    uni, mc = (_summary(g, toks, "test-2x2", r) for r in ("unicast", "multicast"))
    assert uni["bit_exact"] and mc["bit_exact"]
    assert uni["logits_sha256"] == mc["logits_sha256"]
    assert uni["synaptic_ops_per_token"] == mc["synaptic_ops_per_token"]
    # a tree is the union of the XY paths it replaces: never more hops, and one packet per event
    t_u, t_m = uni["traffic"], mc["traffic"]
    assert t_m["hops"] < t_u["hops"] and t_m["packets"] < t_u["packets"]
    assert t_m["host_packets_in"] == t_u["host_packets_in"]  # deliveries to the host are per route either way


def test_spinnaker2_preset_is_multicast():
    from nmsim.describe.chip import load_chip

    c = load_chip("spinnaker2")
    assert c.noc.routing == "multicast" and c.noc.routing_table_entries == 16384
    assert "16,384" in c.noc.sources["routing_table_entries"]
    assert load_chip("loihi").noc.routing == "unicast"


def test_cli_table_capacity_error_and_traced_multicast_run(tmp_path, capsys):
    """Over the table capacity: one stderr line naming the router, need and limit, exit 2.  Within it, a
    traced multicast run on spinnaker2 writes its outputs (the Perfetto trace has one track per delivery)."""
    from nmsim.cli import main
    from replay_helpers import ptb_model_file

    model = ptb_model_file(tmp_path / "m.nmm")
    base = ["run", "--no-progress", "--no-figures", "--model", str(model), "--chip", "spinnaker2", "--tokens", "4"]
    rc = main(base + ["--set", "chip.noc.routing_table_entries=1", "--out", str(tmp_path / "bad")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert err[0].startswith("nmsim: error: router (") and "routing-table entries, the chip has 1 per router" in err[0]
    rc = main(base + ["--trace", "--trace-steps", "3", "--out", str(tmp_path / "ok")])
    assert rc == 0 and (tmp_path / "ok" / "trace.json").stat().st_size > 0
    assert "bit_exact       true" in capsys.readouterr().out
