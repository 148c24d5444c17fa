"""Static energy by power state (nmsim.account.static) and timestep modes (nmsim.account.timestep) on tiny
hand-built cases: every expected figure is worked out in the comments (mW x ns = pJ).

The power states used below (test values): in use 2.0 mW, idle 0.5, gated 0.25, chip-level 3.0; waking a
gated core costs 7 pJ and 4 cycles; a 100 MHz clock (10 ns per cycle).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from nmsim.account import account, price_steps
from nmsim.account.static import (BUSY_TIMING, LINES, PowerParams, busy_cycles, busy_vector, chip_static_args,
                                  gating, static_and_time, static_lines)
from nmsim.account.timestep import MODES, OVERRUN, TimestepStats, apply_timestep, chip_timestep
from nmsim.describe.actions import A, N_ACTIONS
from nmsim.describe.chip import load_chip, load_chip_variant

P = PowerParams(in_use_mw=2.0, idle_mw=0.5, gated_mw=0.25, chip_mw=3.0, unused_gated=False,
                idle_step_gating=True, wake_cycles=4, wake_pj=7.0)
HZ = 1e8
#: work cycles of 2 in-use cores in 3 steps: core 0 idle in step 1, core 1 idle in step 2
BUSY = np.array([[3, 12], [0, 2], [5, 0]], np.int64)
#: cycles per count (distinct test values, one per timing field)
TIMING = {"neuron_update_active_cycles": 3, "neuron_update_idle_cycles": 1, "spike_send_cycles": 2,
          "packet_receive_cycles": 8, "synapse_read_cycles": 9}


def test_lines_are_in_report_order():
    assert LINES == ("static_active", "static_idle", "static_gated", "static_chip", "wake")
    assert set(BUSY_TIMING.values()) == set(TIMING)


def test_busy_vector_and_busy_cycles():
    v = busy_vector(TIMING)
    want = np.zeros(N_ACTIONS, np.int64)
    want[[A["neuron_update_active"], A["neuron_update_idle"], A["packet_send"], A["packet_receive"],
          A["synapse_read"]]] = [3, 1, 2, 8, 9]
    assert v.dtype == np.int64 and v.tolist() == want.tolist()
    c = np.zeros((2, 3, N_ACTIONS), np.int32)      # 2 steps, cores 0 and 1, host
    c[0, 0, A["neuron_update_active"]] = 2          # 2 x 3
    c[0, 0, A["synapse_read"]] = 1                  # + 9 = 15
    c[0, 1, A["packet_send"]] = 3                   # 3 x 2 = 6
    c[0, 1, A["spike"]] = 5                         # a spike keeps no unit busy
    c[1, 1, A["packet_receive"]] = 1                # 8
    c[1, 1, A["neuron_update_idle"]] = 4            # + 4 = 12
    c[:, 2, A["packet_send"]] = 100                 # the host column is dropped
    b = busy_cycles(c, TIMING)
    assert b.dtype == np.int64 and b.tolist() == [[15, 6], [0, 12]]
    big = np.zeros((1, 2, N_ACTIONS), np.int32)
    big[0, 0, A["synapse_read"]] = 2**30            # 9 x 2**30 overflows int32, not int64
    assert busy_cycles(big, TIMING).tolist() == [[9 * 2**30]]


def test_gating_and_wake_ups():
    """Gated = no work (idle-step gating on); a wake-up = gated in the step before, working in this one."""
    g, w = gating(BUSY, P)
    assert g.tolist() == [[False, False], [True, False], [False, True]]
    assert w.tolist() == [[False, False], [False, False], [True, False]]
    g, w = gating(BUSY, PowerParams(2.0, 0.5))       # gating off: never gated, never woken
    assert not g.any() and not w.any() and g.shape == w.shape == (3, 2)
    g, w = gating(np.array([[0], [0], [0]]), P)      # gated all the time: it never wakes
    assert g.all() and not w.any()


def test_static_lines_by_hand():
    """T = 10, 4, 6 cycles; 1 unused core, powered (unused_gated off).

    on = not gated: step 0 both, step 1 core 1, step 2 core 0.
    working core-cycles: min(3, 10) + min(12, 10) = 13; min(2, 4) = 2; min(5, 6) = 5
    idle: 2 x 10 - 13 = 7 + unused 10 = 17; 1 x 4 - 2 = 2 + 4 = 6; 1 x 6 - 5 = 1 + 6 = 7
    gated cores: 0, 1, 1.  Lines (x 10 ns): active 2.0 x (13, 2, 5); idle 0.5 x (17, 6, 7);
    gated 0.25 x (0, 4, 6); chip 3.0 x (10, 4, 6); wake 7 pJ x (0, 0, 1)."""
    g, w = gating(BUSY, P)
    L = static_lines([10, 4, 6], BUSY, 1, g, w, P, HZ)
    assert list(L) == list(LINES)
    assert {k: v.tolist() for k, v in L.items()} == {
        "static_active": [260.0, 40.0, 100.0], "static_idle": [85.0, 30.0, 35.0],
        "static_gated": [0.0, 10.0, 15.0], "static_chip": [300.0, 120.0, 180.0], "wake": [0.0, 0.0, 7.0]}
    # the unused core gated instead: idle 7, 2, 1; gated cores 1, 2, 2 -> 0.25 x (10, 8, 12) x 10
    G = PowerParams(2.0, 0.5, 0.25, 3.0, unused_gated=True, idle_step_gating=True, wake_cycles=4, wake_pj=7.0)
    L = static_lines([10, 4, 6], BUSY, 1, g, w, G, HZ)
    assert L["static_idle"].tolist() == [35.0, 10.0, 5.0] and L["static_gated"].tolist() == [25.0, 20.0, 30.0]
    assert L["static_active"].tolist() == [260.0, 40.0, 100.0]
    # two unused cores, powered: idle + 2 x T
    L = static_lines([10, 4, 6], BUSY, 2, g, w, P, HZ)
    assert L["static_idle"].tolist() == [135.0, 50.0, 65.0]


def test_static_and_time_adds_the_wake_up_latency_then_the_tick():
    """Core 0 wakes in step 2: its 6 engine cycles become 6 + 4 = 10.  Barrier: steps 10, 4, 10.
    Step 2 at T = 10: working 5, idle 1 x 10 - 5 + unused 10 = 15, 1 gated core.
    static (every line but wake): 260 + 85 + 0 + 300 = 645; 40 + 30 + 10 + 120 = 200;
    100 + 75 + 25 + 300 = 500."""
    r = static_and_time(np.array([10, 4, 6], np.int32), BUSY, 1, P, HZ)
    assert r.work_cycles.tolist() == [10, 4, 10] and r.timestep.step_cycles.tolist() == [10, 4, 10]
    assert r.lines["static_idle"].tolist() == [85.0, 30.0, 75.0] and r.lines["wake"].tolist() == [0.0, 0.0, 7.0]
    assert r.static_pj.tolist() == [645.0, 200.0, 500.0]
    assert r.latency_ns.tolist() == [100.0, 40.0, 100.0] and r.latency_ns.dtype == np.float64
    # a fixed 8-cycle tick that stretches: steps 10, 8, 10; steps 0 and 2 overrun by 2
    f = static_and_time([10, 4, 6], BUSY, 1, P, HZ, ("fixed", 8, "stretch"))
    assert f.timestep.step_cycles.tolist() == [10, 8, 10] and f.timestep.worst_overrun_cycles == 2
    assert f.latency_ns.tolist() == [100.0, 80.0, 100.0]
    # step 1 at T = 8: working 2 -> 40 pJ, idle 8 - 2 + 8 = 14 -> 70, gated 1 x 8 -> 20, chip 3 x 8 -> 240
    assert f.static_pj.tolist() == [645.0, 40 + 70 + 20 + 240, 500.0]
    with pytest.raises(ValueError, match="clock_hz=0 must be > 0"):
        static_and_time([10], [[1]], 0, P, 0)
    assert static_and_time([10], [[1]], 0, P, 1.0).latency_ns.tolist() == [1e10]   # 1 Hz is valid


def test_power_params_from_a_chip():
    assert PowerParams.uniform(1.5) == PowerParams(1.5, 1.5, 0.0, 0.0, False, False, 0, 0.0)
    c = load_chip_variant("test-2x2", overrides={
        "power.unused_cores": "gated", "power.idle_core_mw": 0.25, "power.gated_core_mw": 0.125,
        "power.chip_mw": 2.0, "power.idle_step_gating": "on", "power.wake_cycles": 3, "power.wake_pj": 50.0,
        "timestep.mode": "fixed", "timestep.period_ns": 25_000, "timestep.overrun": "violation"})
    p = PowerParams.from_chip(c)
    assert p == PowerParams(in_use_mw=1.0, idle_mw=0.25, gated_mw=0.125, chip_mw=2.0, unused_gated=True,
                            idle_step_gating=True, wake_cycles=3, wake_pj=50.0)
    assert type(p.wake_cycles) is int and type(p.in_use_mw) is float
    # 25 us at 1 MHz = 25 cycles
    assert chip_static_args(c) == {"p": p, "clock_hz": 1e6, "timestep": ("fixed", 25, "violation")}
    off = load_chip_variant("test-2x2", overrides={
        "power.unused_cores": "on", "power.idle_core_mw": 0.25, "power.gated_core_mw": 0.125,
        "power.chip_mw": 2.0, "power.idle_step_gating": "off"})
    q = PowerParams.from_chip(off)
    assert (q.unused_gated, q.idle_step_gating) == (False, False)
    assert chip_static_args(off)["timestep"] == ("barrier", 0, "stretch")


def test_timestep_modes_by_hand():
    work = np.array([5, 12, 10, 3], np.int64)
    b = apply_timestep(work)
    assert b == TimestepStats(b.step_cycles, b.overrun, 0, 0, 12, "barrier", 0, "stretch")
    assert b.step_cycles.tolist() == [5, 12, 10, 3] and b.step_cycles.dtype == np.int64
    assert b.overrun.tolist() == [False] * 4 and b.real_time_violations == 0
    b.step_cycles[0] = 99
    assert work[0] == 5                              # the result is a copy, not the caller's array
    s = apply_timestep([5, 12, 10, 3], "fixed", 9, "stretch")     # 12 and 10 overrun a 9-cycle tick
    assert (s.step_cycles.tolist(), s.overrun.tolist()) == ([9, 12, 10, 9], [False, True, True, False])
    assert (s.overrun_steps, s.worst_overrun_cycles, s.shortest_period_cycles) == (2, 3, 12)
    assert (s.mode, s.period_cycles, s.overrun_policy, s.real_time_violations) == ("fixed", 9, "stretch", 0)
    v = apply_timestep([5, 12, 10, 3], "fixed", 9.0, "violation")
    assert v.step_cycles.tolist() == [9, 9, 9, 9] and v.step_cycles.dtype == np.int64
    assert (v.overrun_steps, v.real_time_violations, v.worst_overrun_cycles) == (2, 2, 3)
    one = apply_timestep([1, 2], "fixed", 1)         # the shortest valid period
    assert one.step_cycles.tolist() == [1, 2] and one.overrun_steps == 1 and one.worst_overrun_cycles == 1
    e = apply_timestep([], "fixed", 4)               # no steps: nothing overruns
    assert (e.overrun_steps, e.worst_overrun_cycles, e.shortest_period_cycles) == (0, 0, 0)
    # work exactly at the period is no overrun; worst of none is 0, not work - period
    n = apply_timestep([4, 1], "fixed", 4, "violation")
    assert n.overrun_steps == 0 and n.worst_overrun_cycles == 0 and n.step_cycles.tolist() == [4, 4]
    neg = apply_timestep([1, 2], "fixed", 4)
    assert neg.worst_overrun_cycles == 0 and neg.step_cycles.tolist() == [4, 4]


def test_timestep_rejects_bad_settings():
    assert MODES == ("barrier", "fixed") and OVERRUN == ("stretch", "violation")
    with pytest.raises(ValueError, match=r"^timestep mode 'tick'; choices: barrier, fixed$"):
        apply_timestep([1], "tick")
    with pytest.raises(ValueError, match=r"^overrun 'wait'; choices: stretch, violation$"):
        apply_timestep([1], "fixed", 4, "wait")
    with pytest.raises(ValueError, match=r"^overrun 'wait'; choices: stretch, violation$"):
        apply_timestep([1], "barrier", 0, "wait")
    with pytest.raises(ValueError, match=r"^fixed timestep needs period_cycles >= 1, got 0$"):
        apply_timestep([1], "fixed", 0)


def test_chip_timestep_reads_the_chip():
    """test-2x2 ticking every 2.5 us at 1 MHz: 3 cycles (rounded up); barrier: the work itself."""
    c = load_chip_variant("test-2x2", overrides={"timestep.mode": "fixed", "timestep.period_ns": 2_500,
                                                 "timestep.overrun": "violation"})
    t = chip_timestep([1, 5], c)
    assert (t.mode, t.period_cycles, t.overrun_policy) == ("fixed", 3, "violation")
    assert t.step_cycles.tolist() == [3, 3] and t.real_time_violations == 1
    b = chip_timestep([1, 5], load_chip("test-2x2"))
    assert (b.mode, b.period_cycles, b.step_cycles.tolist()) == ("barrier", 0, [1, 5])


def test_static_lines_accepts_one_core_flat_and_0_1_masks():
    """One in-use core given as flat ``[n_steps]`` arrays, and masks as 0/1 integers (not bool).

    T = 10, 4; core busy 3 then 0, gated in step 1, woken in neither: working 3 + 0; idle 10 - 3 = 7, 0;
    gated 0, 1 core.  Lines (x 10 ns): active 2.0 x 3; idle 0.5 x 7; gated 0.25 x 4; chip 3.0 x (10, 4)."""
    L = static_lines([10, 4], [3, 0], 0, [0, 1], [0, 0], P, HZ)
    assert {k: v.tolist() for k, v in L.items()} == {
        "static_active": [60.0, 0.0], "static_idle": [35.0, 0.0], "static_gated": [0.0, 10.0],
        "static_chip": [300.0, 120.0], "wake": [0.0, 0.0]}
    L = static_lines([10, 4], [3, 0], 0, [[0], [1]], [0, 1], P, HZ)     # a wake-up given flat
    assert L["wake"].tolist() == [0.0, 7.0]


def test_static_lines_counts_idle_core_cycles_in_int64():
    """int32 step lengths: 4 unused powered cores x 2**30 cycles = 2**32 core-cycles, past int32.
    1 GHz (1 ns per cycle), idle 1.0 mW: (2**30 + 4 x 2**30) x 1.0 pJ."""
    L = static_lines(np.array([2**30], np.int32), [[0]], 4, [[False]], [[False]], PowerParams(0.0, 1.0), 1e9)
    assert L["static_idle"].tolist() == [5.0 * 2**30]


def test_timestep_results_have_the_documented_dtypes():
    """``step_cycles`` int64 and ``overrun`` bool whatever the input's integer width; fixed mode needs a period."""
    for mode, period in (("barrier", 0), ("fixed", 3)):
        s = apply_timestep(np.array([2, 5], np.int32), mode, period)
        assert s.step_cycles.dtype == np.int64 and s.overrun.dtype == bool
    with pytest.raises(ValueError, match="got 0"):
        apply_timestep([1], "fixed")                 # the default period (0) is not a fixed period


def _idle_update_counters(n_cores):
    """Counters whose core work is BUSY: idle neuron updates, 1 cycle each (TIMING); the host column's 100
    updates keep no core busy."""
    c = np.zeros((3, n_cores + 1, N_ACTIONS), np.int64)
    c[:, :2, A["neuron_update_idle"]] = BUSY
    c[:, -1, A["neuron_update_idle"]] = 100
    return SimpleNamespace(counters=c, step_cycles=np.array([10, 4, 6], np.int64))


def test_account_prices_power_states_from_each_cores_work():
    """No dynamic cost; cores 0 and 1 in use with BUSY's work, core 2 unused: the figures of
    test_static_and_time_adds_the_wake_up_latency_then_the_tick (static 645, 200, 500; wake 7 pJ in step 2)."""
    zero = np.zeros(N_ACTIONS)
    for in_use in ([True, True, False], [1, 1, 0]):
        r = account(_idle_update_counters(3), zero, 2.0, 3, HZ, power=P, in_use=in_use, timing_cycles=TIMING)
        assert r.work_cycles.tolist() == [10, 4, 10] and r.latency_cycles.tolist() == [10, 4, 10]
        assert r.static_pj_per_step.tolist() == [645.0, 200.0, 500.0]
        assert r.step_pj.tolist() == [645.0, 200.0, 507.0] and r.lines_pj()["wake"] == 7.0
    # every core in use by default (2 cores): no unused core's idle cycles (10, 4, 10 x 0.5 x 10 ns fewer)
    r = account(_idle_update_counters(2), zero, 2.0, 2, HZ, power=P, timing_cycles=TIMING)
    assert r.static_pj_per_step.tolist() == [645.0 - 50, 200.0 - 20, 500.0 - 50]


def test_account_without_work_counts_keeps_unused_cores_apart():
    """Core 0 in use, cores 1 and 2 unused and gated at 0.5 mW; in use = idle = 1.0 mW, so no work counts are
    needed: one 10-cycle step (100 ns): core 0 1.0 x 100 + 2 gated x 0.5 x 100 = 200 pJ."""
    res = SimpleNamespace(counters=np.zeros((1, 4, N_ACTIONS), np.int64), step_cycles=np.array([10]))
    p = PowerParams(1.0, 1.0, gated_mw=0.5, unused_gated=True)
    r = account(res, np.zeros(N_ACTIONS), 1.0, 3, HZ, power=p, in_use=[True, False, False])
    assert r.static_pj_per_step.tolist() == [200.0] and r.lines_pj()["static_gated"] == 100.0
    s = price_steps(np.zeros((1, N_ACTIONS)), np.zeros((1, N_ACTIONS)), [10], np.zeros(N_ACTIONS), 1.0, 3, HZ,
                    busy=np.zeros((1, 1)), power=p)
    assert s.static_pj.tolist() == [200.0]


def test_account_and_price_steps_refuse_bad_work_shapes_naming_them():
    res = SimpleNamespace(counters=np.zeros((2, 3, N_ACTIONS), np.int64), step_cycles=np.array([1, 1]))
    zero = np.zeros(N_ACTIONS)
    with pytest.raises(ValueError, match=r"^in_use shape \(3,\), want \(2,\)$"):
        account(res, zero, 1.0, 2, HZ, in_use=[True, True, False])
    no_gating = PowerParams(1.0, 0.25)                 # in use 1.0 mW, idle 0.25: work counts needed
    with pytest.raises(ValueError, match=r"^power states that tell working from idle cores need each in-use "
                                         r"core's busy cycles$"):
        account(res, zero, 1.0, 2, HZ, power=no_gating)
    z = np.zeros((2, N_ACTIONS))
    for busy in (np.zeros((3, 1)), np.zeros(2), np.zeros((2, 3))):
        want = rf"^busy shape \({', '.join(map(str, busy.shape))},?\), want \(n_steps=2, n_in_use <= 2\)$"
        with pytest.raises(ValueError, match=want):
            price_steps(z, z, [1, 1], zero, 1.0, 2, HZ, busy=busy)
