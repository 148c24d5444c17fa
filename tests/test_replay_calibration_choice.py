"""``balanced``'s calibration replay: which shortlisted candidates are replayed, and the choice made on
their measurements (``nmsim.replay.mapped``; the rule itself: ``tests/test_map_choose.py``)."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np

import nmsim.replay.driver as driver
import nmsim.replay.mapped as mapped


@dataclasses.dataclass(frozen=True)
class FakePlacement:
    search: dict


@dataclasses.dataclass(frozen=True)
class FakeMapped:
    placement: object


def _cand(name, step, groups, conventional=False, energy=1.0, budget=0.10, objective="latency (auto)"):
    return FakePlacement({"chosen": name, "objective": objective, "energy_budget": budget,
                          "conventional": conventional, "shortlist": groups, "predicted_step_cycles": step,
                          "predicted_energy_pj_per_step": energy})


def test_trial_set_takes_each_group_within_its_band():
    cands = [_cand("a", 200, ["objective"]), _cand("b", 210, ["objective"]), _cand("c", 240, ["objective"]),
             _cand("d", 100, ["latency"]), _cand("e", 114, ["latency"]), _cand("f", 116, ["latency"]),
             _cand("g", 300, ["conventional"], True), _cand("h", 400, ["conventional"], True)]
    # objective: a, b (c is 20 % over a); latency: d, e (f is 16 % over d); conventional: g (h is 33 % over)
    assert [c.search["chosen"] for c in mapped._trial_set(cands)] == ["a", "b", "d", "e", "g"]


def test_choice_is_made_on_the_measurements(monkeypatch):
    """Measured: 'spread' is fastest but costs 150 nJ; 'capped' (conventional) sets t_ref = 200 ns and, as
    the most frugal candidate that fast, E* = 100 nJ; 'mid' (105 nJ <= 110) is the fastest within the budget
    and wins.  With no budget the measured fastest ('spread', 100 ns against 'other' at 110) wins."""
    measured = {"spread": (100.0, 150.0), "mid": (180.0, 105.0), "capped": (200.0, 100.0)}
    monkeypatch.setattr(mapped, "compiled", lambda g, lm, chip, pl: FakeMapped(pl))

    def fake_replay(cfg, mapped=None, tokens=None):
        t, e = measured[mapped.placement.search["chosen"]]
        return SimpleNamespace(summary={"latency_ns": {"mean": t}, "energy_nj_per_token": {"total": e},
                                        "timestep": {"overrun_steps": 0}})
    monkeypatch.setattr(driver, "replay", fake_replay)
    lm = SimpleNamespace(decoder="host")
    chip = SimpleNamespace(name="test")
    ids = np.arange(5)
    for budget, want in ((0.10, "mid"), (None, "spread")):
        if budget is not None:  # the budget's prediction ranks 'mid' first; 'spread' is the fastest prediction
            cands = [_cand("mid", 170, ["objective"]), _cand("spread", 90, ["latency"]),
                     _cand("capped", 190, ["conventional"], True)]
        else:  # no budget: one group; 'other' is within 15 % of 'spread', so both are replayed
            cands = [_cand("spread", 90, ["objective"], budget=None), _cand("other", 95, ["objective"], budget=None)]
            measured["other"] = (110.0, 90.0)
        pick, m = mapped._select_by_replay(None, lm, chip, cands, ids)
        assert pick.search["chosen"] == want
        assert m.placement is pick
        trial = pick.search["calibration_replay"]
        assert [r["candidate"] for r in trial] == [c.search["chosen"] for c in cands]
        assert all(r["latency_ns_per_token"] == measured[r["candidate"]][0] for r in trial)
