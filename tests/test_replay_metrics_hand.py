"""The replay's power-state, timestep, per-step and per-token columns from a hand-written run record
(nmsim.replay.metrics: ``time_and_power``, ``price``, ``step_rows``, ``dynamic_categories``, the ``tokens.csv``
line and category columns).

A 2-token, 1-layer pipelined replay (4 steps; tokens enter at steps 0 and 1, so the steps' owners are
0, 1, 1, 1) on test-2x2 cut down to one router with 2 cores, core 0 holding every neuron, core 1 unused.
Every count is chosen below and every expected figure is worked out by hand in the comments from test-2x2's
published test values (chips/test-2x2.toml); no simulation runs and no figure is copied from the program.

test-2x2: 1 MHz (1 cycle = 1000 ns); pJ per action: active update 10, idle update 1, spike 2, packet send 3,
packet receive 4, synapse read 5, synaptic op 6, E/W flit hop 7, N/S flit hop 8, io packet 9, barrier 20;
core busy cycles per count: active update 3, idle update 1, spike send 2, packet receive 8, synapse read 9;
(20 header + 8 payload bits) / 16-bit links -> 2 flits per packet; static.core_power_mw 1.0.
mW x ns = pJ.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from nmsim.account.timestep import TimestepStats
from nmsim.describe.actions import A, N_ACTIONS
from nmsim.describe.chip import load_chip, load_chip_variant
from nmsim.replay.metrics import RunRecord, assemble, dynamic_categories, price, step_rows, time_and_power
from nmsim.replay.schedule import make_schedule

#: power states and a fixed 25-cycle tick with stretching (test values)
POWER_TIME = {"mesh.width": 1, "mesh.height": 1,
              "power.unused_cores": "gated", "power.idle_core_mw": 0.25, "power.gated_core_mw": 0.125,
              "power.chip_mw": 2.0, "power.idle_step_gating": "on", "power.wake_cycles": 3, "power.wake_pj": 50.0,
              "timestep.mode": "fixed", "timestep.period_ns": 25_000, "timestep.overrun": "stretch"}
ENGINE_CYCLES = [10, 20, 30, 40]     # the engine's self-timed steps
IN_USE = [True, False]


def _chip(**extra):
    return load_chip_variant("test-2x2", overrides={**POWER_TIME, **extra})


def _counts(step):
    """``[core 0, core 1, host] x N_ACTIONS`` counts; core 0's busy cycles in brackets.

    step 0: core 0: 2 active updates [6], 3 synaptic ops, 1 spike; host: 2 io packets, 1 spike (free)
    step 1: core 0: nothing [0] -> power-gated; host: 2 N/S flit hops
    step 2: core 0: 2 packet sends [4] -> wakes up (+3 cycles, 50 pJ), 4 E/W + 2 N/S flit hops; host: 2 E/W hops
    step 3: core 0: 1 packet receive [8] + 1 synapse read [9] = [17]; host: 1 barrier, 1 io packet
    """
    c = np.zeros((3, N_ACTIONS), np.int64)
    if step == 0:
        c[0, A["neuron_update_active"]], c[0, A["synaptic_op"]], c[0, A["spike"]] = 2, 3, 1
        c[2, A["io_packet"]], c[2, A["spike"]] = 2, 1
    elif step == 1:
        c[2, A["flit_hop_north_south"]] = 2
    elif step == 2:
        c[0, A["packet_send"]], c[0, A["flit_hop_east_west"]], c[0, A["flit_hop_north_south"]] = 2, 4, 2
        c[2, A["flit_hop_east_west"]] = 2
    else:
        c[0, A["packet_receive"]], c[0, A["synapse_read"]] = 1, 1
        c[2, A["barrier"]], c[2, A["io_packet"]] = 1, 1
    return c


def _record(chip, in_use=IN_USE, timing=True):
    sched = make_schedule("pipelined", 2, 1)
    rec = RunRecord.empty(sched, n_cores=2, n_links=1, n_layers=1, in_use=in_use,
                          timing_cycles=chip.timing_cycles() if timing else None)
    for s in range(4):
        rec.add_step(s, ENGINE_CYCLES[s], _counts(s), np.zeros(1, np.int64))
    rec.host_out[0] = 1
    rec.layer_events[:] = [4]
    return rec


def _mapped(chip):
    return SimpleNamespace(
        chip=chip, model=SimpleNamespace(meta={}),
        lm=SimpleNamespace(hidden=[8], layer_pops=["L1"], readout=False, decoder="host"),
        golden=SimpleNamespace(mf=SimpleNamespace(header={"name": "m"}, path="m.nmsim")),
        placement=SimpleNamespace(strategy="snake", neurons=np.array([3, 0]), bytes=np.array([8, 0])))


def _checker():
    return SimpleNamespace(first=None, n_pred=0, nll=0.0, nll_golden=0.0, bad_tokens=set(), logits_sha256="")


@pytest.fixture(autouse=True)
def _collaborators(monkeypatch):
    """NeuroBench block and link rows have their own tests; stubbed here."""
    import nmsim.replay.neurobench as nb
    import nmsim.replay.percore as pc

    monkeypatch.setattr(nb, "neurobench_block", lambda golden, lm, rec, n, chip_bytes: {})
    monkeypatch.setattr(pc, "link_rows", lambda cm, busy, cycles: [])


def test_record_keeps_the_in_use_cores_work():
    rec = _record(_chip())
    assert rec.in_use.tolist() == [0]
    assert rec.busy.tolist() == [[6], [0], [4], [17]]     # core 0's busy cycles, from _counts' brackets
    assert rec.busy.dtype == np.int64                      # documented int64[n_steps, n_in_use]
    every = RunRecord.empty(make_schedule("serial", 1, 1), n_cores=3, n_links=1, n_layers=1)
    assert every.in_use.tolist() == [0, 1, 2] and every.busy is None    # default: every core in use


def test_power_states_and_fixed_tick_by_hand():
    """Gating: core 0 busy [6, 0, 4, 17] -> gated in step 1, wakes in step 2: work = 10, 20, 30 + 3, 40.
    Fixed 25-cycle tick, stretch: steps 25, 25, 33, 40; steps 2 and 3 overrun, worst by 40 - 25 = 15.

    Lines per step (pJ), T = 25, 25, 33, 40:
      active (1.0 mW x working cycles x 1000): 6000, 0 (gated), 4000, 17000
      idle (0.25 mW x (T - work)): 19 -> 4750, gated -> 0, 29 -> 7250, 23 -> 5750
      gated (0.125 mW x gated cores x T; core 1 unused and gated): 1 x 25, 2 x 25, 1 x 33, 1 x 40
             -> 3125, 6250, 4125, 5000
      chip (2.0 mW x T): 50000, 50000, 66000, 80000;  wake: 0, 0, 50, 0
    Dynamic: 2x10 + 3x6 + 2 + host 2x9 = 58; host 2x8 = 16; 2x3 + 4x7 + 2x8 + host 2x7 = 64;
             4 + 5 + host 20 + 9 = 38
    Steps: 63933, 56266, 81489, 107788 pJ; total 309476 pJ."""
    chip = _chip()
    rec = _record(chip)
    r = assemble(_mapped(chip), np.array([7, 9]), rec, _checker(), [], sim_wall=1.0)
    s = r.summary
    assert s["timestep"] == {"mode": "fixed", "period_ns": 25000.0, "overrun_policy": "stretch",
                             "overrun_steps": 2, "worst_overrun_ns": 15000.0, "real_time_violations": 0,
                             "shortest_period_ns": 40000.0}
    assert s["power"] == {"unused_cores": "gated", "idle_step_gating": "on", "cores_in_use": 1,
                          "cores_unused": 1, "operating_point": "high", "voltage_v": 1.0, "frequency_hz": 1e6}
    assert s["energy_nj_total"] == 309.476
    assert s["simulated_time_ns"] == 123000.0                   # 25 + 25 + 33 + 40 cycles
    assert s["throughput_tokens_per_s"] == 16260.2              # 2 / 123 us = 16260.16
    # token 0: steps 0-2 = 25 + 25 + 33 = 83 cycles; token 1: steps 1-3 = 25 + 33 + 40 = 98 cycles
    assert s["latency_ns"] == {"mean": 90500.0, "p50": 90500.0, "p99": 97850.0, "max": 98000.0}
    # per token (2): dynamic synapse (18 + 9) / 2, neuron 22 / 2, noc (16 + 64) / 2, io (18 + 9) / 2,
    # barrier 20 / 2; static = the four static lines (27000 + 17750 + 18500 + 246000) / 2; wake 50 / 2
    assert s["energy_nj_per_token"] == {"total": 154.738, "synapse": 0.0135, "neuron": 0.011, "noc": 0.04,
                                        "io": 0.0135, "barrier": 0.01, "static": 154.625, "wake": 0.025}
    assert s["static_nj_per_token"] == {"static_active": 13.5, "static_idle": 8.875, "static_gated": 9.25,
                                        "static_chip": 123.0}
    # tokens.csv: token 0 owns step 0, token 1 steps 1-3
    want = [
        {"token": 0, "id": 7, "latency_cycles": 83, "latency_ns": 83000.0, "energy_nj": 63.933, "events": 2,
         "packets": 1, "synaptic_ops": 3, "step_cycles": 25, "overrun_steps": 0,
         "static_active_nj": 6.0, "static_idle_nj": 4.75, "static_gated_nj": 3.125, "static_chip_nj": 50.0,
         "wake_nj": 0.0, "synapse_nj": 0.018, "neuron_nj": 0.022, "noc_nj": 0.0, "io_nj": 0.018, "barrier_nj": 0.0},
        {"token": 1, "id": 9, "latency_cycles": 98, "latency_ns": 98000.0, "energy_nj": 245.543, "events": 0,
         "packets": 2, "synaptic_ops": 0, "step_cycles": 98, "overrun_steps": 2,
         "static_active_nj": 21.0, "static_idle_nj": 13.0, "static_gated_nj": 15.375, "static_chip_nj": 196.0,
         "wake_nj": 0.05, "synapse_nj": 0.009, "neuron_nj": 0.0, "noc_nj": 0.08, "io_nj": 0.009,
         "barrier_nj": 0.02},
    ]
    assert r.tokens_rows == want
    # steps.csv: cycles = the engine's self-timed cycles (10, 20, 30, 40: before wake-up and the tick);
    # packets = core sends + the host's embedding packet; hops = all flit hops / 2 flits:
    # step 1: host 2 N/S -> 1; step 2: 4 + 2 + host 2 = 8 -> 4; events = core + host spikes
    assert r.steps_rows == [
        {"step": 0, "token": 0, "cycles": 10, "packets": 1, "hops": 0, "synaptic_ops": 3, "events": 2,
         "energy_nj": 63.933},
        {"step": 1, "token": 1, "cycles": 20, "packets": 0, "hops": 1, "synaptic_ops": 0, "events": 0,
         "energy_nj": 56.266},
        {"step": 2, "token": 1, "cycles": 30, "packets": 2, "hops": 4, "synaptic_ops": 0, "events": 0,
         "energy_nj": 81.489},
        {"step": 3, "token": 1, "cycles": 40, "packets": 0, "hops": 0, "synaptic_ops": 0, "events": 0,
         "energy_nj": 107.788},
    ]


def test_violation_policy_keeps_the_tick():
    """overrun = violation: every step lasts the 25-cycle period; the 2 overruns are real-time violations."""
    chip = _chip(**{"timestep.overrun": "violation"})
    r = assemble(_mapped(chip), np.array([7, 9]), _record(chip), _checker(), [], sim_wall=1.0)
    assert r.summary["timestep"] == {"mode": "fixed", "period_ns": 25000.0, "overrun_policy": "violation",
                                     "overrun_steps": 2, "worst_overrun_ns": 15000.0, "real_time_violations": 2,
                                     "shortest_period_ns": 40000.0}
    assert r.summary["simulated_time_ns"] == 100000.0        # 4 ticks of 25 us
    assert r.tokens_rows[0]["latency_cycles"] == 75 and r.tokens_rows[1]["step_cycles"] == 75


def test_dynamic_categories_sum_each_categorys_actions_per_step():
    """The per-step pJ of each category: the dynamic lines above split by category."""
    chip = _chip()
    cats = dynamic_categories(price(chip, _record(chip)))
    assert {k: v.tolist() for k, v in cats.items()} == {
        "synapse": [18.0, 0.0, 0.0, 9.0],        # 3 synaptic ops x 6; receive 4 + read 5
        "neuron": [22.0, 0.0, 0.0, 0.0],         # 2 active updates x 10 + 1 spike x 2 (the host's is free)
        "noc": [0.0, 16.0, 64.0, 0.0],           # host 2 N/S x 8; 2 sends x 3 + 4 x 7 + 2 x 8 + host 2 x 7
        "io": [18.0, 0.0, 0.0, 9.0], "barrier": [0.0, 0.0, 0.0, 20.0]}


def test_step_rows_with_one_flit_packets():
    """1-flit packets: packet hops = flit hops (step 1: 2; step 2: 4 + 2 + 2 = 8)."""
    chip = _chip()
    rec = _record(chip)
    rows = step_rows(rec, price(chip, rec), np.array([0, 1, 1, 1]), 1)
    assert [r["hops"] for r in rows] == [0, 2, 8, 0]


def test_price_without_work_counts_keeps_unused_cores_apart():
    """A record kept without timing (no per-core work) on a chip whose power states do not depend on work
    (no idle-step gating) is priced with core 0 in use but idle all the time and core 1 unused (gated):
    per step T x (0.25 idle + 0.125 gated + 2.0 chip) mW, T = 25, 25, 30, 40 (no wake-ups: nothing gates)."""
    chip = _chip(**{"power.idle_step_gating": "off"})
    rec = _record(chip, timing=False)
    assert rec.busy is None
    e = price(chip, rec)
    assert e.step_cycles.tolist() == [25, 25, 30, 40]
    assert e.lines_step_pj["static_active"].tolist() == [0.0] * 4
    assert e.lines_step_pj["static_idle"].tolist() == [6250.0, 6250.0, 7500.0, 10000.0]
    assert e.lines_step_pj["static_gated"].tolist() == [3125.0, 3125.0, 3750.0, 5000.0]
    assert e.step_pj.tolist() == [58 + 6250 + 3125 + 50000, 16 + 6250 + 3125 + 50000,
                                  64 + 7500 + 3750 + 60000, 38 + 10000 + 5000 + 80000]


def test_price_refuses_power_states_without_work_when_every_core_is_in_use():
    """Every core in use and no work recorded: in use (1.0 mW) vs idle (0.25 mW) cannot be told apart."""
    chip = _chip(**{"power.idle_step_gating": "off"})
    with pytest.raises(ValueError, match="busy cycles"):
        price(chip, _record(chip, in_use=[True, True], timing=False))


def test_record_without_in_use_reports_no_cores_in_use():
    """A record built without ``in_use`` (no power states): 0 cores in use, all 8 of test-2x2 unused."""
    chip = load_chip("test-2x2")
    S = 2
    rec = RunRecord(make_schedule("serial", 1, 0), np.array([10, 20], np.int64), np.zeros((S, N_ACTIONS), np.int64),
                    np.zeros((S, N_ACTIONS), np.int64), np.zeros((9, N_ACTIONS), np.int64), np.zeros(1, np.int64),
                    np.zeros(S, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    m = _mapped(chip)
    m.lm = SimpleNamespace(hidden=[], layer_pops=[], readout=False, decoder="host")
    s = assemble(m, np.array([5]), rec, _checker(), [], sim_wall=1.0).summary
    assert s["power"]["cores_in_use"] == 0 and s["power"]["cores_unused"] == 8
    # 8 cores x 1.0 mW x 30 us = 240000 pJ
    assert s["energy_nj_total"] == 240.0


def test_time_and_power_converts_cycles_at_the_clock():
    """200 MHz: 5 ns per cycle; 246913 cycles = 1234565 ns, a tie at 6 digits, rounded to even: 1234560.
    Barrier mode reports no period and no policy; a chip without operating points no point or voltage."""
    chip = load_chip_variant("test-2x2", overrides={"clock.frequency_hz": 2e8})
    ts = TimestepStats(np.zeros(1, np.int64), np.zeros(1, bool), 3, 246913, 13, "fixed", 246913, "violation")
    out = time_and_power(chip, SimpleNamespace(timestep=ts), 5)
    assert out["timestep"] == {"mode": "fixed", "period_ns": 1234560.0, "overrun_policy": "violation",
                               "overrun_steps": 3, "worst_overrun_ns": 1234560.0, "real_time_violations": 3,
                               "shortest_period_ns": 65.0}
    assert out["power"]["cores_in_use"] == 5 and out["power"]["cores_unused"] == 3   # 8 cores
    assert out["power"]["frequency_hz"] == 2e8
    loihi = load_chip("loihi")          # Davies et al. 2018: 128 neuromorphic cores; no [operating_points]
    b = TimestepStats(np.zeros(1, np.int64), np.zeros(1, bool), 0, 0, 7, "barrier", 0, "stretch")
    out = time_and_power(loihi, SimpleNamespace(timestep=b), 100)
    assert out["timestep"]["period_ns"] is None and out["timestep"]["overrun_policy"] is None
    assert out["timestep"]["mode"] == "barrier" and out["timestep"]["real_time_violations"] == 0
    assert out["power"]["operating_point"] is None and out["power"]["voltage_v"] is None
    assert out["power"]["cores_in_use"] == 100 and out["power"]["cores_unused"] == 28
    assert math.isclose(out["timestep"]["shortest_period_ns"], 7e9 / loihi.clock.frequency_hz, rel_tol=1e-6)


def test_assemble_hands_its_collaborators_the_runs_figures(monkeypatch):
    """The system block, NeuroBench block, per-core rows, critical core and link rows get this run's inputs.

    Summed counts (cores + host): 2 io packets + 1 = 3; E/W flit hops 4 + host 2 = 6; packets: 2 core sends
    + 1 embedding packet = 3; 2 flits per packet; link-busy cycles summed over the steps: 0 (one link)."""
    import nmsim.replay.neurobench as nb
    import nmsim.replay.percore as pc
    import nmsim.replay.system_metrics as sm
    from nmsim.replay.check import Mismatch

    seen = {}
    monkeypatch.setattr(sm, "system_block", lambda cm, tot, energy, packets, fpp: seen.update(
        system=(cm, tot[A["io_packet"]], tot[A["flit_hop_east_west"]], energy.step_pj.tolist(), packets, fpp))
        or {"boards": 1})
    monkeypatch.setattr(nb, "neurobench_block", lambda golden, lm, rec, n, b: seen.update(nb=(golden, lm, rec, n, b))
                        or {"nb": True})
    monkeypatch.setattr(pc, "link_rows", lambda cm, busy, cycles: seen.update(links=(cm, busy.tolist(), cycles))
                        or [{"link": 0}])
    chip = _chip()
    rec = _record(chip)
    cm = SimpleNamespace(meta={"populations": {"L1": 0, "L2": 1}})
    rows = [{"core": 0, "populations": ["L1"], "critical_share": 0.25},
            {"core": 1, "populations": ["L2"], "critical_share": 0.75}]
    rec.cores = SimpleNamespace(rows=lambda cm_, placement, pops: seen.update(cores=(cm_, placement, pops)) or rows)
    m = _mapped(chip)
    m.model = cm
    first = Mismatch(token=1, layer="L1", index=2, chip=3, golden=4)
    ck = _checker()
    ck.first = first
    r = assemble(m, np.array([7, 9]), rec, ck, [], sim_wall=1.0)
    # the step energies of test_power_states_and_fixed_tick_by_hand
    assert seen["system"] == (cm, 3, 6, [63933.0, 56266.0, 81489.0, 107788.0], 3, 2)
    assert r.summary["system"] == {"boards": 1} and r.summary["neurobench"] == {"nb": True}
    assert seen["nb"] == (m.golden, m.lm, rec, 2, 8)           # 8 + 0 placed bytes
    assert seen["cores"] == (cm, m.placement, ["L1", "L2"]) and r.cores_rows == rows
    assert r.summary["critical_core"] == {"core": 1, "populations": ["L2"], "share": 0.75}
    assert seen["links"] == (cm, [0], 123) and r.links_rows == [{"link": 0}]   # 25 + 25 + 33 + 40 cycles
    assert r.first_mismatch is first and r.summary["bit_exact"] is False
