"""How ``balanced`` chooses among scored placements: one rule for predictions and for calibration replays.

A candidate is scored by its step (predicted cycles, or measured ns per token), its energy (predicted pJ
per step, or measured nJ per token), whether it is a *conventional* placement (the fills ``snake`` and
``snake`` with a neuron cap give, and the ``partition`` strategy's) and whether it keeps the chip's tick.

``latency`` objective, with an energy budget ``b`` (``map.energy_budget``, default :data:`DEFAULT_BUDGET`):

1. ``t_ref``: the shortest step among the conventional candidates (the fastest placement a compiler that
   fills cores by memory, with the best neuron cap, would give);
2. ``E*``: the least energy among the candidates whose step is within :data:`TIE` of ``t_ref`` or shorter;
3. *eligible*: the candidates with energy at most ``(1 + b) * E*``;
4. among the eligible, the shortest step wins; steps within :data:`TIE` of the shortest are a tie, broken
   by energy, then by name.  The others follow, shortest first.

So ``balanced`` is never slower than the best conventional placement, and it pays at most ``b`` more
energy than the most frugal placement of that speed for any further speed.  The budget matters where
more cores buy speed with static power (SpiNNaker 2 under a barrier: 1.5-2x faster at 1.2-2x energy
with no budget).  ``b = None`` (``map.energy_budget = "none"``): the shortest step, energy breaking ties.

``energy`` objective: the least energy among the candidates that keep the tick (every one without a
tick), then step, then name; the others after them by step.  If none keeps the tick: the ``latency``
rule without a budget.
"""

from __future__ import annotations

from typing import NamedTuple

#: Steps within this fraction of the shortest are a tie (energy decides).
TIE = 0.01
#: Default of ``map.energy_budget``: the energy premium ``balanced`` may pay for speed (fraction of ``E*``).
DEFAULT_BUDGET = 0.10


class Score(NamedTuple):
    step: float          #: cycles per step (predicted) or ns per token (measured)
    energy: float        #: pJ per step (predicted) or nJ per token (measured)
    conventional: bool   #: a snake / capped snake / partition placement
    fits: bool           #: keeps the chip's tick (always True without a tick)
    name: str


def order(scores: list[Score], objective: str = "latency", budget: float | None = DEFAULT_BUDGET) -> list[int]:
    """Indices of ``scores``, best first, under ``objective`` and ``budget`` (module docstring)."""
    idx = range(len(scores))
    if objective == "energy" and any(s.fits for s in scores):
        return sorted(idx, key=lambda i: (not scores[i].fits,
                                          scores[i].energy if scores[i].fits else scores[i].step,
                                          scores[i].step, scores[i].name))
    if objective == "energy":  # nothing keeps the tick: the shortest step
        budget = None
    ok = eligible(scores, budget)
    pool = [i for i in idx if ok[i]]
    t_min = min(scores[i].step for i in pool)
    band = t_min * (1 + TIE)

    def key(i):
        s = scores[i]
        if not ok[i]:
            return (2, s.step, s.energy, s.name)
        return (0, s.energy, 0.0, s.name) if s.step <= band else (1, s.step, s.energy, s.name)
    return sorted(idx, key=key)


def eligible(scores: list[Score], budget: float | None) -> list[bool]:
    """Which candidates the energy budget admits (all when ``budget`` is None or nothing is conventional)."""
    conv = [s for s in scores if s.conventional]
    if budget is None or not conv:
        return [True] * len(scores)
    t_ref = min(s.step for s in conv) * (1 + TIE)
    e_star = min(s.energy for s in scores if s.step <= t_ref)
    return [s.energy <= e_star * (1 + budget) for s in scores]


def reference(scores: list[Score]) -> int | None:
    """Index of the fastest conventional candidate (ties: least energy, then name), or None."""
    conv = [i for i, s in enumerate(scores) if s.conventional]
    if not conv:
        return None
    return min(conv, key=lambda i: (scores[i].step, scores[i].energy, scores[i].name))
