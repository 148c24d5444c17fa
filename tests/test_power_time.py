"""Power states, operating points and timestep modes: hand-computed on test-2x2 (``docs/power-and-time.md``).

test-2x2: 8 cores, 1 MHz (1 cycle = 1000 ns), core_power_mw 1.0; timing: neuron update active 3 /
idle 1 cycles, spike send 2, packet receive 8, synapse read 9.  mW x ns = pJ.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from nmsim.account import account_chip, apply_timestep
from nmsim.describe.actions import A, N_ACTIONS
from nmsim.describe.chip import load_chip, load_chip_variant
from nmsim.errors import ChipConfigError

#: power states written out (test values): in use 1.0 mW (static.core_power_mw), idle 0.25, gated 0.125, chip 2.0
POWER = {"power.unused_cores": "on", "power.idle_core_mw": 0.25, "power.gated_core_mw": 0.125,
         "power.chip_mw": 2.0, "power.idle_step_gating": "off"}


def chip(**extra):
    return load_chip_variant("test-2x2", overrides={**POWER, **extra})


def result():
    """3 steps of 30, 20, 10 cycles.  Cores 0 and 1 hold neurons, cores 2..7 none.

    step 0: core 0: 2 active updates (2 x 3) + 1 packet received (8) + 1 synapse read (9) = 23 busy cycles;
            core 1: 1 idle update = 1 busy cycle.
    step 1: core 0: nothing (0); core 1: 1 packet sent = 2 busy cycles.
    step 2: core 0: 1 active update = 3; core 1: nothing (0).
    """
    c = np.zeros((3, 9, N_ACTIONS), np.int64)
    c[0, 0, A["neuron_update_active"]] = 2
    c[0, 0, A["packet_receive"]] = 1
    c[0, 0, A["synapse_read"]] = 1
    c[0, 1, A["neuron_update_idle"]] = 1
    c[1, 1, A["packet_send"]] = 1
    c[2, 0, A["neuron_update_active"]] = 1
    return SimpleNamespace(counters=c, step_cycles=np.array([30, 20, 10], np.int64))


IN_USE = np.array([1, 1, 0, 0, 0, 0, 0, 0], bool)
#: dynamic energy of result() at test-2x2's pJ table: 2 x 10 + 4 + 5 + 1 + 3 + 10 = 43 pJ
DYN = 43.0


def test_unused_cores_on_versus_gated():
    on = account_chip(result(), chip(), IN_USE)
    # working core-cycles: step 0: 23 + 1, step 1: 0 + 2, step 2: 3 + 0
    assert on.lines_pj()["static_active"] == pytest.approx(1.0 * (24 + 2 + 3) * 1000)
    # idle: in-use cores' other cycles (2 x T - work) + 6 unused cores powered (6 x T)
    idle_on = (60 - 24 + 180) + (40 - 2 + 120) + (20 - 3 + 60)
    assert on.lines_pj()["static_idle"] == pytest.approx(0.25 * idle_on * 1000)
    assert on.lines_pj()["static_gated"] == 0.0
    assert on.lines_pj()["static_chip"] == pytest.approx(2.0 * 60 * 1000)
    total_on = DYN + 29_000 + 0.25 * idle_on * 1000 + 120_000
    assert on.total_pj == pytest.approx(total_on)
    gated = account_chip(result(), chip(**{"power.unused_cores": "gated"}), IN_USE)
    idle_g = (60 - 24) + (40 - 2) + (20 - 3)
    assert gated.lines_pj()["static_idle"] == pytest.approx(0.25 * idle_g * 1000)
    assert gated.lines_pj()["static_gated"] == pytest.approx(0.125 * 6 * 60 * 1000)
    # gating the 6 unused cores saves 6 x 60 cycles x (0.25 - 0.125) mW
    assert on.total_pj - gated.total_pj == pytest.approx(6 * 60 * 1000 * (0.25 - 0.125))
    assert gated.time_ns == on.time_ns == 60_000.0


def test_no_power_table_charges_every_core_all_the_time():
    r = account_chip(result(), load_chip("test-2x2"), IN_USE)
    assert r.static_total_pj == pytest.approx(1.0 * 8 * 60 * 1000)
    assert r.total_pj == pytest.approx(DYN + 480_000)


def test_whole_step_idle_gating_with_wake_up():
    r = account_chip(result(), chip(**{"power.idle_step_gating": "on", "power.wake_cycles": 3,
                                       "power.wake_pj": 50.0}), IN_USE)
    # core 0 is idle (gated) in step 1 and wakes in step 2: +3 cycles on step 2 and 50 pJ; core 1 is
    # gated in step 2 (no wake-up within the run)
    assert r.latency_cycles.tolist() == [30, 20, 13]
    assert r.lines_pj()["wake"] == 50.0
    assert r.lines_pj()["static_active"] == pytest.approx((24 + 2 + 3) * 1000)
    idle = (60 - 24 + 180) + (20 - 2 + 120) + (13 - 3 + 6 * 13)
    assert r.lines_pj()["static_idle"] == pytest.approx(0.25 * idle * 1000)
    assert r.lines_pj()["static_gated"] == pytest.approx(0.125 * (20 + 13) * 1000)
    assert r.total_pj == pytest.approx(DYN + 29_000 + 0.25 * idle * 1000 + 0.125 * 33_000 + 2.0 * 63_000 + 50)


def test_two_operating_points():
    """'high' (nominal, 1.0 V, 1 MHz) and 'low' (0.5 V, 500 kHz; 0.5 / 0.125 / 0.0625 / 1.0 mW)."""
    high = account_chip(result(), chip(), IN_USE)
    lo_chip = chip(operating_point="low")
    assert lo_chip.clock.frequency_hz == 500_000 and lo_chip.energy.pj["neuron_update_active"] == 2.5
    low = account_chip(result(), lo_chip, IN_USE)
    assert low.latency_cycles.tolist() == [30, 20, 10] and low.time_ns == 120_000.0  # 2000 ns per cycle
    assert low.dynamic_total_pj == pytest.approx(DYN * 0.25)                        # x (0.5 / 1.0)^2
    idle_on = (60 - 24 + 180) + (40 - 2 + 120) + (20 - 3 + 60)
    want_static = (0.5 * 29 + 0.125 * idle_on + 1.0 * 60) * 2000
    assert low.static_total_pj == pytest.approx(want_static)
    assert high.total_pj == pytest.approx(DYN + (29 + 0.25 * idle_on + 120) * 1000)
    with pytest.raises(ChipConfigError, match="unknown point 'mid'; choices: high, low"):
        chip(operating_point="mid")


def test_fixed_mode_step_times_and_overruns():
    work = [5, 12, 10, 3]
    s = apply_timestep(work, "fixed", 10, "stretch")
    assert s.step_cycles.tolist() == [10, 12, 10, 10]
    assert s.overrun.tolist() == [False, True, False, False]
    assert (s.overrun_steps, s.worst_overrun_cycles, s.shortest_period_cycles) == (1, 2, 12)
    v = apply_timestep(work, "fixed", 10, "violation")
    assert v.step_cycles.tolist() == [10, 10, 10, 10] and v.real_time_violations == 1
    b = apply_timestep(work, "barrier")
    assert b.step_cycles.tolist() == work and b.overrun_steps == 0 and b.shortest_period_cycles == 12
    assert apply_timestep(work, "fixed", 12).overrun_steps == 0 and apply_timestep(work, "fixed", 11).overrun_steps == 1


def test_fixed_mode_latency_and_static_follow_the_tick():
    c = load_chip_variant("test-2x2", overrides={"timestep.mode": "fixed", "timestep.period_ns": 25_000})
    assert c.timestep.period_cycles(c.clock.frequency_hz) == 25
    r = account_chip(result(), c, IN_USE)
    assert r.latency_cycles.tolist() == [30, 25, 25]          # step 0 (30 cycles of work) overruns and stretches
    assert r.timestep.overrun_steps == 1 and r.timestep.worst_overrun_cycles == 5
    assert r.timestep.shortest_period_cycles == 30
    assert r.static_total_pj == pytest.approx(1.0 * 8 * 80 * 1000)
    # a period that is not a whole number of cycles is rounded up
    c2 = load_chip_variant("test-2x2", overrides={"timestep.mode": "fixed", "timestep.period_ns": 10_500})
    assert c2.timestep.period_cycles(1e6) == 11
    # switching a ticking chip to the barrier keeps its period in the file, unused
    b = load_chip_variant("spinnaker2", overrides={"timestep.mode": "barrier"})
    assert b.timestep.period_cycles(b.clock.frequency_hz) == 0
    assert b.timestep.sources["period_ns"].startswith("not used")


@pytest.mark.parametrize("overrides, message", [
    ({"timestep.mode": "fixed"}, "timestep.period_ns: missing key (required by mode = \"fixed\")"),
    ({"timestep.mode": "tick"}, "unknown value 'tick'; choices: barrier, fixed"),
    ({**POWER, "power.unused_cores": "off"}, "unknown value 'off'; choices: on, gated"),
    ({**POWER, "power.idle_step_gating": "on"}, "power.wake_cycles: missing key (required by idle_step_gating"),
    ({"power.idle_core_mw": 0.1}, "power.unused_cores: missing key"),
    ({**POWER, "power.chip_mw": -1}, "must not be negative, got -1"),
])
def test_bad_power_and_timestep_settings_are_one_line_errors(overrides, message):
    """One line naming the problem (and the table.key or the --set override it came from)."""
    with pytest.raises(ChipConfigError) as exc:
        load_chip_variant("test-2x2", overrides=overrides)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_operating_point_errors():
    with pytest.raises(ChipConfigError, match="has no \\[operating_points\\] table"):
        load_chip_variant("loihi", overrides={"operating_point": "low"})
    doc = {"operating_points": {"nominal": {"value": "a", "source": "x"},
                                "a": {"voltage_v": {"value": 1.0, "source": "x"},
                                      "frequency_hz": {"value": 2e6, "source": "x"}}}}
    from nmsim.describe.chip import parse_chip, read_chip_doc

    base, path = read_chip_doc("test-2x2")
    base = {k: v for k, v in base.items() if k != "operating_points"}
    with pytest.raises(ChipConfigError, match="operating_points.a.frequency_hz: 2000000.0 disagrees with the nominal"):
        parse_chip({**base, **doc}, path)
