"""Presets: every number sourced (loihi2 included), power/timestep defaults as published, the EGRU replay
bit-exact on loihi2 without a [replay] profile, the on-chip decoder's payload width, fixed-tick replays."""

from __future__ import annotations

import numpy as np
import pytest

from nmsim.commands.chips import format_chip
from nmsim.describe.chip import list_chips, load_chip, read_chip_doc
from nmsim.errors import MappingError
from nmsim.replay import ReplayConfig, build_replay, load_replay_chip, replay
from nmsim.replay.network import decoder_payload_bits
from replay_helpers import tiny_golden, tokens


def _walk(d, path=""):
    if isinstance(d, dict):
        if "value" in d or "pj" in d:
            yield path, d
        else:
            for k, v in d.items():
                yield from _walk(v, f"{path}.{k}" if path else k)


@pytest.mark.parametrize("name", list_chips())
def test_every_number_has_a_source(name):
    d = load_chip(name).to_dict()
    items = [(p, v) for p, v in _walk({k: v for k, v in d.items() if k not in ("derived",)})]
    assert items
    for path, v in items:
        assert isinstance(v.get("source"), str) and v["source"].strip(), f"{name}: {path} has no source"


def test_loihi2_show_lists_every_number_with_its_source():
    text = format_chip(load_chip("loihi2"))
    for sec in ("[clock]", "[mesh]", "[core]", "[noc]", "[timing]", "[barrier]", "[static]", "[power]", "[timestep]",
                "[energy]"):
        assert sec in text
    for line in text.splitlines():
        if line.startswith("  ") and not line.startswith("    ") and "#" not in line and "cores" not in line:
            if line.split()[0] in ("n_routers", "n_cores", "io_router", "cycle", "model"):
                continue
            pytest.fail(f"no source on: {line}")
    assert "payload_bits                   24 bits" in text


def test_loihi2_has_no_replay_profile_and_published_widths():
    doc, _ = read_chip_doc("loihi2")
    assert "replay" not in doc
    c = load_chip("loihi2")
    assert c.noc.payload_bits == 24 and c.core.n_accumulators == 4 and c.timestep.mode == "barrier"


def test_preset_modes_and_power_defaults():
    """SpiNNaker 2 and TrueNorth tick at 1 ms; Loihi uses a barrier; each preset sets unused_cores."""
    s2, tn, lo = load_chip("spinnaker2"), load_chip("truenorth"), load_chip("loihi")
    assert (s2.timestep.mode, s2.timestep.period_ns, s2.timestep.overrun) == ("fixed", 1e6, "stretch")
    assert (tn.timestep.mode, tn.timestep.period_ns, tn.barrier_cycles) == ("fixed", 1e6, 0)
    assert lo.timestep.mode == "barrier" and lo.power is not None
    assert s2.power.unused_cores == "gated" and lo.power.unused_cores == "on"
    assert tn.static.core_power_mw > 0 and tn.energy.pj["neuron_update_active"] > 0  # no longer 0
    assert "Pohoiki Springs holds 768" in lo.static.sources["core_power_mw"]
    assert "2607.24396" not in s2.clock.sources["frequency_hz"]
    low = load_replay_chip("spinnaker2", {"operating_point": "0.5V-150MHz"})
    assert low.clock.frequency_hz == 150e6
    assert low.energy.pj["packet_send"] == pytest.approx(860.0 * (0.5 / 0.8) ** 2)


def test_decoder_payload_width_is_the_proven_bound():
    g = tiny_golden("egru")
    ymax = 1 << (g.layers[-1].cell.payload_bits - 1)
    bound = max(int(np.abs(g.emb[v]).sum()) * ymax + abs(int(g.dec_bias[v])) for v in range(g.emb.shape[0]))
    assert decoder_payload_bits(g) == bound.bit_length() + 1
    assert 2 ** (decoder_payload_bits(g) - 1) > bound


def test_decoder_wider_than_the_payload_is_refused_naming_both_widths():
    g = tiny_golden("egru")
    w = decoder_payload_bits(g)
    narrow = load_replay_chip("test-2x2", {"noc.payload_bits": w - 1})
    with pytest.raises(MappingError, match=f"population 'dec' sends {w}-bit payloads, wider than chip 'test-2x2' "
                                           f"payload_bits = {w - 1}; .*--decoder host"):
        build_replay(g, narrow)
    build_replay(g, narrow, decoder="host")  # the host decoder needs no wide payloads


def test_egru_replay_bit_exact_on_loihi2():
    from nmsim.replay import DEFAULT_MODEL

    r = replay(ReplayConfig(model=DEFAULT_MODEL, chip="loihi2", tokens=40))
    s = r.summary
    assert s["bit_exact"] is True and s["chip"] == "loihi2" and s["timestep"]["mode"] == "barrier"


def test_fixed_tick_replay_latency_and_overruns():
    """A tiny EGRU on test-2x2: under a tick, every step lasts the period unless it overruns."""
    g = tiny_golden("egru")
    toks = tokens(6)
    base = load_replay_chip("test-2x2")
    bar = replay(ReplayConfig(chip="test-2x2"), mapped=build_replay(g, base), tokens=toks)
    work = bar.record.step_cycles
    period = int(np.percentile(work, 50))
    tick = load_replay_chip("test-2x2", {"timestep.mode": "fixed", "timestep.period_ns": period * 1000})
    fx = replay(ReplayConfig(chip="test-2x2"), mapped=build_replay(g, tick), tokens=toks)
    s = fx.summary["timestep"]
    assert s["mode"] == "fixed" and s["period_ns"] == period * 1000
    assert s["overrun_steps"] == int((work > period).sum()) > 0
    assert s["worst_overrun_ns"] == (int(work.max()) - period) * 1000
    assert s["shortest_period_ns"] == bar.summary["timestep"]["shortest_period_ns"] == int(work.max()) * 1000
    assert fx.summary["simulated_time_ns"] == pytest.approx(float(np.maximum(work, period).sum()) * 1000)
    assert sum(r["overrun_steps"] for r in fx.tokens_rows) == s["overrun_steps"]
    assert bar.summary["logits_sha256"] == fx.summary["logits_sha256"]  # timing mode never changes results


def test_sweeps_can_vary_the_operating_point_and_timestep():
    from nmsim.errors import SweepError
    from nmsim.replay.sweep_point import validate_sweep_params

    base = {"chip": "spinnaker2", "model": "workloads/models/ptb-egru-tiny.nmm", "dataset": "ptb", "tokens": 3}
    p = validate_sweep_params({**base, "chip.operating_point": "0.5V-150MHz", "chip.timestep.period_ns": 2e6})
    assert p["chip.operating_point"] == "0.5V-150MHz"
    with pytest.raises(SweepError, match="unknown point 'fast'"):
        validate_sweep_params({**base, "chip.operating_point": "fast"})
