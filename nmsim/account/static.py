"""Static energy by power state, and the chip-level static line (``docs/power-and-time.md``).

Each core is, for each step of ``T`` cycles, in one of three states:

- **in use**, working for ``busy = min(T, sum of its units' work)`` cycles at ``core_power_mw`` and
  powered but idle (clock-gated) for the other ``T - busy`` cycles at ``idle_core_mw``;
- **power-gated** at ``gated_core_mw`` for the whole step: a core that holds no neurons when
  ``unused_cores = "gated"``, or an in-use core with no work in the step when
  ``idle_step_gating = "on"`` (waking it in a later step costs ``wake_pj`` and ``wake_cycles``);
- a core that holds no neurons with ``unused_cores = "on"`` is powered and idle (``idle_core_mw``).

The chip-level line is ``chip_mw x T``.  A core's work in a step is counted from its counters
(:func:`busy_cycles`): neuron updates, packet sends and the synapse unit's receives and reads, each
times its cycle cost; the neuron and synapse units overlap in time, so the sum, capped at ``T``,
is an upper bound of the cycles the core is clocked.  All energies in pJ (mW x ns = pJ).
Plain arrays in, plain arrays out; :meth:`PowerParams.from_chip` reads a ``ChipSpec``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nmsim.describe.actions import A, N_ACTIONS

#: Action -> the timing field (cycles per count) that keeps its core busy.
BUSY_TIMING: dict[str, str] = {
    "neuron_update_active": "neuron_update_active_cycles",
    "neuron_update_idle": "neuron_update_idle_cycles",
    "packet_send": "spike_send_cycles",
    "packet_receive": "packet_receive_cycles",
    "synapse_read": "synapse_read_cycles",
}
#: Static lines, in report order (pJ): in use (working), idle (clock-gated), power-gated, chip, wake-ups.
LINES = ("static_active", "static_idle", "static_gated", "static_chip", "wake")


@dataclass(frozen=True)
class PowerParams:
    """Static power per core by state and chip-level (mW), and the gating options."""

    in_use_mw: float
    idle_mw: float
    gated_mw: float = 0.0
    chip_mw: float = 0.0
    unused_gated: bool = False
    idle_step_gating: bool = False
    wake_cycles: int = 0
    wake_pj: float = 0.0

    @staticmethod
    def uniform(mw_per_core: float) -> "PowerParams":
        """Every core pays ``mw_per_core`` all the time (no power states)."""
        return PowerParams(in_use_mw=mw_per_core, idle_mw=mw_per_core)

    @staticmethod
    def from_chip(chip) -> "PowerParams":
        p = chip.power_states
        return PowerParams(in_use_mw=float(chip.static.core_power_mw), idle_mw=float(p.idle_core_mw),
                           gated_mw=float(p.gated_core_mw), chip_mw=float(p.chip_mw),
                           unused_gated=p.unused_cores == "gated", idle_step_gating=p.idle_step_gating == "on",
                           wake_cycles=int(p.wake_cycles), wake_pj=float(p.wake_pj))


def busy_vector(timing_cycles: dict) -> np.ndarray:
    """``int64[N_ACTIONS]``: cycles one count of each action keeps its core busy (0 for the others)."""
    v = np.zeros(N_ACTIONS, np.int64)
    for a, t in BUSY_TIMING.items():
        v[A[a]] = int(timing_cycles[t])
    return v


def busy_cycles(counters, timing_cycles: dict) -> np.ndarray:
    """``int64[..., n_cores]``: work cycles of each core from ``counters int[..., n_cores+1, N_ACTIONS]``
    (the host column is dropped; not capped at the step length)."""
    c = np.asarray(counters)
    return c[..., :-1, :].astype(np.int64) @ busy_vector(timing_cycles)


def gating(busy, p: PowerParams) -> tuple[np.ndarray, np.ndarray]:
    """``(gated, wakes)``, both ``bool[n_steps, n_in_use]``, for the in-use cores whose work is
    ``busy int[n_steps, n_in_use]``: gated in a step with no work when ``idle_step_gating`` is on;
    waking = gated in the step before and working in this one (every core starts awake)."""
    busy = np.asarray(busy)
    gated = (busy == 0) if p.idle_step_gating else np.zeros(busy.shape, bool)
    prev = np.zeros(busy.shape, bool)
    prev[1:] = gated[:-1]
    return gated, prev & ~gated


def static_lines(step_cycles, busy, n_unused: int, gated, wakes, p: PowerParams, clock_hz: float) -> dict:
    """Per-step energy of each line of :data:`LINES` (``float64[n_steps]`` each, pJ).

    ``step_cycles int[n_steps]`` (the steps as the timestep mode made them); ``busy int[n_steps, n_in_use]``
    (work cycles of each in-use core); ``n_unused`` cores hold no neurons; ``gated``/``wakes``
    from :func:`gating`."""
    T = np.asarray(step_cycles, np.int64)
    ns = 1e9 / clock_hz
    busy = np.asarray(busy, np.int64).reshape(T.shape[0], -1)
    on = ~np.asarray(gated, bool).reshape(busy.shape)
    work = np.where(on, np.minimum(busy, T[:, None]), 0).sum(axis=1)      # core-cycles working
    idle = on.sum(axis=1) * T - work                                        # in-use core-cycles idle
    n_gated = (~on).sum(axis=1)
    if p.unused_gated:
        n_gated = n_gated + int(n_unused)
    else:
        idle = idle + int(n_unused) * T
    return {
        "static_active": p.in_use_mw * work * ns,
        "static_idle": p.idle_mw * idle * ns,
        "static_gated": p.gated_mw * n_gated * T * ns,
        "static_chip": p.chip_mw * T * ns,
        "wake": p.wake_pj * np.asarray(wakes, bool).reshape(busy.shape).sum(axis=1).astype(np.float64),
    }


@dataclass(frozen=True)
class StaticResult:
    """Steps under the timestep mode and their static energy: ``timestep`` (``TimestepStats``),
    ``work_cycles int64[n_steps]`` (engine step + any wake-up latency), ``lines`` (:func:`static_lines`),
    ``static_pj float64[n_steps]`` (every line but ``wake``), ``latency_ns float64[n_steps]``."""

    timestep: object
    work_cycles: np.ndarray
    lines: dict
    static_pj: np.ndarray
    latency_ns: np.ndarray


def static_and_time(step_cycles, busy, n_unused: int, p: PowerParams, clock_hz: float,
                    timestep: tuple = ("barrier", 0, "stretch")) -> StaticResult:
    """The whole post-engine rule: gating -> wake-up latency -> timestep mode -> static lines.

    ``step_cycles int[n_steps]``: the engine's self-timed steps; ``busy int[n_steps, n_in_use]``;
    ``timestep``: ``(mode, period_cycles, overrun)`` (:func:`nmsim.account.timestep.apply_timestep`)."""
    from nmsim.account.timestep import apply_timestep

    if clock_hz <= 0:
        raise ValueError(f"clock_hz={clock_hz} must be > 0")
    work = np.asarray(step_cycles, np.int64)
    busy = np.asarray(busy, np.int64).reshape(work.shape[0], -1)
    gated, wakes = gating(busy, p)
    work = work + int(p.wake_cycles) * wakes.any(axis=1)
    ts = apply_timestep(work, *timestep)
    lines = static_lines(ts.step_cycles, busy, n_unused, gated, wakes, p, clock_hz)
    static = sum(lines[k] for k in LINES if k != "wake")
    return StaticResult(ts, work, lines, static, ts.step_cycles.astype(np.float64) / clock_hz * 1e9)


def chip_static_args(chip) -> dict:
    """``p``, ``clock_hz`` and ``timestep`` of :func:`static_and_time` from a ``ChipSpec``."""
    ts = chip.timestep
    hz = chip.clock.frequency_hz
    return dict(p=PowerParams.from_chip(chip), clock_hz=hz, timestep=(ts.mode, ts.period_cycles(hz), ts.overrun))
