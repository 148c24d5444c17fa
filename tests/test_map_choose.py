"""The choice rule of ``balanced`` (``nmsim.map.choose``) on hand-made score tables."""

from __future__ import annotations

from nmsim.map.choose import Score, eligible, order, reference


def S(step, energy, conv=False, fits=True, name=None):
    return Score(float(step), float(energy), conv, fits, name or f"{step}/{energy}")


# A table shaped like SpiNNaker 2 under a barrier (validation/mapping.md, EGRU 90 %, decoder on the host):
# more cores buy speed with static power.
TABLE = [S(300, 43.5, True, name="cap 16"), S(746, 32.4, True, name="snake"), S(163, 78.9, name="150 cores"),
         S(245, 46.5, name="49 cores"), S(228, 44.4, name="55 cores")]


def test_budget_admits_speed_up_to_ten_percent_over_the_frugal_point_of_reference_speed():
    # t_ref = 300 (cap 16), band 303: cap 16, 150, 49 and 55 cores are that fast; E* = 43.5 (cap 16);
    # limit 1.1 x 43.5 = 47.85: 150 cores (78.9) is out; the fastest of the rest is 55 cores (228)
    assert eligible(TABLE, 0.10) == [True, True, False, True, True]
    got = [TABLE[i].name for i in order(TABLE, "latency", 0.10)]
    assert got == ["55 cores", "49 cores", "cap 16", "snake", "150 cores"]
    assert TABLE[reference(TABLE)].name == "cap 16"


def test_no_budget_is_the_shortest_step():
    assert TABLE[order(TABLE, "latency", None)[0]].name == "150 cores"
    # a budget of 0.9 admits 78.9 <= 1.9 x 43.5 = 82.65
    assert TABLE[order(TABLE, "latency", 0.9)[0]].name == "150 cores"
    # a budget of 0: only energies <= 43.5: cap 16 (300) is the fastest of cap 16 and snake
    assert TABLE[order(TABLE, "latency", 0.0)[0]].name == "cap 16"


def test_steps_within_one_percent_tie_and_energy_decides():
    t = [S(100, 10, True, name="a"), S(100.9, 9, name="b"), S(101.1, 1, name="c")]
    # band 101: a and b tie (b cheaper); c is 1.1 % slower, so it comes after them despite its energy
    assert [t[i].name for i in order(t, "latency", None)] == ["b", "a", "c"]


def test_without_conventional_candidates_the_budget_has_no_reference():
    t = [S(100, 50, name="a"), S(200, 10, name="b")]
    assert eligible(t, 0.10) == [True, True]
    assert reference(t) is None
    assert t[order(t, "latency", 0.10)[0]].name == "a"


def test_energy_objective_keeps_the_tick_then_least_energy():
    t = [S(50, 30, True, True, "fast"), S(90, 20, False, True, "frugal"), S(120, 5, False, False, "overruns")]
    assert [t[i].name for i in order(t, "energy", 0.10)] == ["frugal", "fast", "overruns"]
    # nothing keeps the tick: the shortest step, with no budget (a budget would keep only "a")
    u = [S(50, 30, True, False, "a"), S(60, 100, False, False, "b"), S(40, 200, False, False, "c")]
    assert [u[i].name for i in order(u, "energy", 0.10)] == ["c", "a", "b"]
