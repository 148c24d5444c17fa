"""Energy and latency from counters: a pure function of the counts (spec §3, last paragraph).

Dynamic energy = ``counters x energy_pj`` (one pJ cost per action, ordered like
:data:`nmsim.describe.actions.ACTIONS`); the host column is charged only for
``io_packet``, the flit hops it sends and ``barrier`` (the host's other counts,
e.g. its input spikes, are free).  Static energy: by power state per core and step plus the
chip-level line (:mod:`nmsim.account.static`), over the steps as the timestep mode makes them
(:mod:`nmsim.account.timestep`).  Changing a cost needs no re-run: call
:func:`account` again on the same counters.  Takes plain arrays and floats so it
does not depend on the chip-description classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nmsim.account.static import LINES, PowerParams, busy_cycles, gating, static_lines
from nmsim.describe.actions import A, ACTIONS, N_ACTIONS
from nmsim.account.timestep import TimestepStats, apply_timestep

#: Actions charged in the host column; every other host count costs nothing.
HOST_CHARGED: tuple[str, ...] = ("io_packet", "flit_hop_east_west", "flit_hop_north_south", "barrier")


@dataclass(frozen=True)
class EnergyReport:
    """Energy (pJ) and latency of a run; all arrays float64 unless noted.

    ``dynamic_pj [n_steps, n_cores+1, N_ACTIONS]`` (host = column ``n_cores``, uncharged host actions 0);
    ``static_pj_per_step [n_steps]``; ``step_pj [n_steps]`` (dynamic + static);
    ``core_pj [n_cores+1]`` (dynamic, summed over steps); ``action_pj [N_ACTIONS]`` (dynamic, summed);
    ``latency_cycles int64[n_steps]``, ``latency_ns [n_steps]``; scalars ``dynamic_total_pj``,
    ``static_total_pj``, ``total_pj``, ``time_ns`` (simulated time of the run).
    """

    dynamic_pj: np.ndarray
    static_pj_per_step: np.ndarray
    step_pj: np.ndarray
    core_pj: np.ndarray
    action_pj: np.ndarray
    latency_cycles: np.ndarray
    latency_ns: np.ndarray
    dynamic_total_pj: float
    static_total_pj: float
    total_pj: float
    time_ns: float
    #: per-step pJ of each line of ``nmsim.account.static.LINES`` (static by power state, chip, wake-ups)
    lines_step_pj: dict = field(default_factory=dict)
    #: step lengths under the timestep mode, overruns, shortest period that would have held
    timestep: TimestepStats | None = None
    #: self-timed work of each step (cycles): the engine's ``step_cycles`` plus any wake-up latency
    work_cycles: np.ndarray | None = None

    def lines_pj(self) -> dict[str, float]:
        """Each static line (and ``wake``) summed over the run, pJ."""
        return {k: float(v.sum()) for k, v in self.lines_step_pj.items()}

    @property
    def total_nj(self) -> float:
        return self.total_pj * 1e-3

    @property
    def n_steps(self) -> int:
        return int(self.latency_cycles.shape[0])

    def by_action(self) -> dict[str, float]:
        """Dynamic pJ per action name (summed over steps and cores)."""
        return {name: float(self.action_pj[i]) for i, name in enumerate(ACTIONS)}


def host_mask() -> np.ndarray:
    """``float64[N_ACTIONS]``: 1 for the actions charged in the host column, else 0."""
    m = np.zeros(N_ACTIONS)
    m[[A[a] for a in HOST_CHARGED]] = 1.0
    return m


def account(result, energy_pj, static_mw_per_core: float, n_cores: int, clock_hz: float, *,
            power: PowerParams | None = None, in_use=None, timing_cycles: dict | None = None,
            timestep: tuple[str, int, str] = ("barrier", 0, "stretch")) -> EnergyReport:
    """Price the counts of ``result`` (anything with ``counters int64[n_steps, n_cores+1, N_ACTIONS]`` and
    ``step_cycles int64[n_steps]``, e.g. a ``SimResult``).

    ``energy_pj float[N_ACTIONS]``: pJ per action, ordered like ``ACTIONS``; ``static_mw_per_core``: mW per
    core (host excluded); ``n_cores``: cores paying static power; ``clock_hz``: chip clock (cycles -> seconds).
    Power states (``nmsim.account.static``): ``power`` (default: every core pays ``static_mw_per_core`` all
    the time), ``in_use bool[n_cores]`` (cores holding neurons; default all), ``timing_cycles`` (the chip's
    ``timing_cycles()``, needed to count each core's work when ``power`` tells working from idle cores).
    ``timestep``: ``(mode, period_cycles, overrun)`` (``nmsim.account.timestep``) turns the self-timed step
    lengths into the mode's; latency and static energy follow it.  :func:`account_chip` takes it all from a chip.
    """
    counters = np.asarray(result.counters)
    step_cycles = np.asarray(result.step_cycles, dtype=np.int64)
    energy_pj = np.asarray(energy_pj, dtype=np.float64)
    if energy_pj.shape != (N_ACTIONS,):
        raise ValueError(f"energy_pj shape {energy_pj.shape}, want ({N_ACTIONS},) ordered like ACTIONS")
    if counters.ndim != 3 or counters.shape[2] != N_ACTIONS or counters.shape[0] != step_cycles.shape[0]:
        raise ValueError(f"counters shape {counters.shape} does not match (n_steps={step_cycles.shape[0]}, "
                         f"n_cores+1, {N_ACTIONS})")
    if clock_hz <= 0:
        raise ValueError(f"clock_hz={clock_hz} must be > 0")
    cost = np.broadcast_to(energy_pj, counters.shape[1:]).copy()  # [n_cores+1, N_ACTIONS]
    cost[-1] *= host_mask()
    dynamic = counters.astype(np.float64) * cost  # exact for counts < 2**53
    p = PowerParams.uniform(float(static_mw_per_core)) if power is None else power
    in_use = np.ones(n_cores, bool) if in_use is None else np.asarray(in_use, bool)
    if in_use.shape != (n_cores,):
        raise ValueError(f"in_use shape {in_use.shape}, want ({n_cores},)")
    if timing_cycles is not None:
        busy = busy_cycles(counters, timing_cycles)[:, :n_cores]
    elif p.in_use_mw != p.idle_mw or p.idle_step_gating:
        raise ValueError("power states that tell working from idle cores need timing_cycles")
    else:
        busy = np.zeros((step_cycles.shape[0], n_cores), np.int64)
    gated, wakes = gating(busy, in_use, p)
    work = step_cycles + p.wake_cycles * wakes.any(axis=1)
    ts = apply_timestep(work, *timestep)
    steps = ts.step_cycles
    lines = static_lines(steps, busy, in_use, gated, wakes, p, clock_hz)
    latency_ns = steps.astype(np.float64) / clock_hz * 1e9
    static = sum(lines[k] for k in LINES if k != "wake")
    step_dyn = dynamic.sum(axis=(1, 2))
    step_pj = step_dyn + static + lines["wake"]
    return EnergyReport(
        dynamic_pj=dynamic,
        static_pj_per_step=static,
        step_pj=step_pj,
        core_pj=dynamic.sum(axis=(0, 2)),
        action_pj=dynamic.sum(axis=(0, 1)),
        latency_cycles=steps.copy(),
        latency_ns=latency_ns,
        dynamic_total_pj=float(step_dyn.sum()),
        static_total_pj=float(static.sum()),
        total_pj=float(step_pj.sum()),
        time_ns=float(latency_ns.sum()),
        lines_step_pj=lines,
        timestep=ts,
        work_cycles=work,
    )


def account_chip(result, chip, in_use=None) -> EnergyReport:
    """:func:`account` with everything taken from ``chip`` (a ``ChipSpec``, resolved at its operating
    point): energies, power states, clock, timestep mode.  ``in_use bool[n_cores]``: cores that hold
    neurons (e.g. ``np.diff(model.core_neuron_ptr)[:n_cores] > 0``); default: every core."""
    ts = chip.timestep
    return account(result, chip.energy.vector_pj(), chip.static.core_power_mw, chip.n_cores,
                   chip.clock.frequency_hz, power=PowerParams.from_chip(chip), in_use=in_use,
                   timing_cycles=chip.timing_cycles(),
                   timestep=(ts.mode, ts.period_cycles(chip.clock.frequency_hz), ts.overrun))
