"""Timestep modes applied to the engine's self-timed step lengths (``docs/power-and-time.md``).

The engine ends every step when its work and the barrier are done (``SimResult.step_cycles``: the
*work* of the step, cycles).  A fixed-tick chip starts a step every ``period`` cycles instead:

- ``barrier``: ``step = work`` (self-timed; today's behaviour).
- ``fixed``, ``overrun = "stretch"``: ``step = max(work, period)``; a step with ``work > period`` is an
  overrun and lasts until its work is done.
- ``fixed``, ``overrun = "violation"``: ``step = period``; every overrun is a real-time violation (the
  tick does not wait; on the real chip the late work would spill into the next tick).

Whatever the mode, ``shortest_period_cycles = max(work)`` is the shortest fixed period with no overrun.
A pure function of the step lengths, so it runs after the engine; the SimPy oracle
(:mod:`nmsim.oracle.simpy_chip`) ends its steps on a tick of its own and must agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MODES = ("barrier", "fixed")
OVERRUN = ("stretch", "violation")


@dataclass(frozen=True)
class TimestepStats:
    """``step_cycles int64[n_steps]`` (the step lengths under the mode); ``overrun bool[n_steps]``;
    ``overrun_steps`` (count), ``worst_overrun_cycles`` (largest ``work - period``, 0 if none),
    ``shortest_period_cycles`` (``max(work)``: the shortest period that would have held), ``mode``,
    ``period_cycles`` (0 in barrier mode), ``overrun_policy``."""

    step_cycles: np.ndarray
    overrun: np.ndarray
    overrun_steps: int
    worst_overrun_cycles: int
    shortest_period_cycles: int
    mode: str
    period_cycles: int
    overrun_policy: str

    @property
    def real_time_violations(self) -> int:
        """Overruns counted as real-time violations (``overrun = "violation"``), else 0."""
        return self.overrun_steps if self.overrun_policy == "violation" else 0


def apply_timestep(work_cycles, mode: str = "barrier", period_cycles: int = 0,
                   overrun: str = "stretch") -> TimestepStats:
    """Step lengths (cycles) under ``mode`` from the self-timed ``work_cycles int[n_steps]``."""
    work = np.asarray(work_cycles, dtype=np.int64)
    if mode not in MODES:
        raise ValueError(f"timestep mode {mode!r}; choices: {', '.join(MODES)}")
    if overrun not in OVERRUN:
        raise ValueError(f"overrun {overrun!r}; choices: {', '.join(OVERRUN)}")
    shortest = int(work.max(initial=0))
    if mode == "barrier":
        return TimestepStats(work.copy(), np.zeros(work.shape, bool), 0, 0, shortest, mode, 0, overrun)
    period = int(period_cycles)
    if period < 1:
        raise ValueError(f"fixed timestep needs period_cycles >= 1, got {period}")
    over = work > period
    step = np.maximum(work, period) if overrun == "stretch" else np.full(work.shape, period, np.int64)
    worst = int((work - period).max(initial=0)) if over.any() else 0
    return TimestepStats(step, over, int(over.sum()), worst, shortest, mode, period, overrun)


def chip_timestep(work_cycles, chip) -> TimestepStats:
    """:func:`apply_timestep` with the mode, period and overrun policy of ``chip`` (a ``ChipSpec``)."""
    ts = chip.timestep
    return apply_timestep(work_cycles, ts.mode, ts.period_cycles(chip.clock.frequency_hz), ts.overrun)
