"""Energy and latency from counters: a pure function of the counts (spec §3, last paragraph).

Dynamic energy = ``counters x energy_pj`` (one pJ cost per action, ordered like
:data:`nmsim.describe.actions.ACTIONS`); the host column is charged only for
``io_packet``, the flit hops it sends and ``barrier`` (the host's other counts,
e.g. its input spikes, are free).  Static energy: by power state per core and step plus the
chip-level line (:mod:`nmsim.account.static`), over the steps as the timestep mode makes them
(:mod:`nmsim.account.timestep`); without power states, static power per core x ``n_cores`` x
simulated time.  Changing a cost needs no re-run: call
:func:`account` again on the same counters.  Takes plain arrays and floats so it
does not depend on the chip-description classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nmsim.account.static import LINES, PowerParams, busy_cycles, chip_static_args, static_and_time
from nmsim.account.timestep import TimestepStats
from nmsim.describe.actions import A, ACTIONS, N_ACTIONS

#: Actions charged in the host column; every other host count costs nothing.
HOST_CHARGED: tuple[str, ...] = ("io_packet", "flit_hop_east_west", "flit_hop_north_south", "barrier",
                                 "multicast_replication", "routing_table_lookup", "flit_hop_chip")

#: Energy category of every action (``docs/replay.md``); ``static`` is the category of static power.
CATEGORY: dict[str, str] = {
    "synapse_read": "synapse", "synaptic_op": "synapse", "packet_receive": "synapse",
    "neuron_update_active": "neuron", "neuron_update_idle": "neuron", "spike": "neuron",
    "packet_send": "noc", "flit_hop_east_west": "noc", "flit_hop_north_south": "noc", "local_delivery": "noc",
    "flit_hop_chip": "noc",
    "io_packet": "io", "barrier": "barrier",
    "multicast_replication": "noc", "routing_table_lookup": "noc",
}
#: Categories in report order (every action's category, then ``static``).
CATEGORIES: tuple[str, ...] = ("synapse", "neuron", "noc", "io", "barrier", "static")
assert set(CATEGORY) == set(ACTIONS), "every action needs exactly one energy category"
assert set(CATEGORY.values()) | {"static"} == set(CATEGORIES)


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
        """Each line of ``LINES`` summed over the run, pJ."""
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


def by_category(action_pj, static_total_pj: float) -> dict[str, float]:
    """pJ per category from pJ per action (``float[..., N_ACTIONS]``, summed over the leading axes) and the
    run's static pJ."""
    a = np.asarray(action_pj, np.float64).reshape(-1, N_ACTIONS).sum(axis=0)
    out = {c: 0.0 for c in CATEGORIES}
    for i, name in enumerate(ACTIONS):
        out[CATEGORY[name]] += float(a[i])
    out["static"] = float(static_total_pj)
    return out


def static_pj(latency_ns, static_mw_per_core: float, n_cores: int) -> np.ndarray:
    """Static energy per step (pJ): ``static_mw_per_core x n_cores x latency_ns`` (mW x ns = pJ)."""
    return float(static_mw_per_core) * n_cores * np.asarray(latency_ns, np.float64)


@dataclass(frozen=True)
class StepEnergy:
    """Energy of a run priced from per-step counts summed over the cores (the replay's bounded record).

    ``dynamic_pj [n_steps, N_ACTIONS]`` (cores + charged host actions); ``static_pj [n_steps]``;
    ``step_pj [n_steps]`` (dynamic + static); ``latency_ns [n_steps]``."""

    dynamic_pj: np.ndarray
    static_pj: np.ndarray
    step_pj: np.ndarray
    latency_ns: np.ndarray
    #: per-step pJ of each line of ``nmsim.account.static.LINES``; ``step_pj`` includes them all
    lines_step_pj: dict = field(default_factory=dict)
    #: steps under the timestep mode (``step_cycles``), overruns, shortest period that would have held
    timestep: TimestepStats | None = None

    @property
    def total_pj(self) -> float:
        return float(self.step_pj.sum())

    @property
    def step_cycles(self) -> np.ndarray:
        """``int64[n_steps]``: each step's length under the timestep mode (cycles)."""
        return self.timestep.step_cycles

    def lines_pj(self) -> dict[str, float]:
        """Each line of ``LINES`` summed over the run, pJ."""
        return {k: float(v.sum()) for k, v in self.lines_step_pj.items()}

    def categories(self) -> dict[str, float]:
        """pJ per category over the whole run."""
        return by_category(self.dynamic_pj, float(self.static_pj.sum()))


def price_steps(core_counts, host_counts, step_cycles, energy_pj, static_mw_per_core: float, n_cores: int,
                clock_hz: float, *, busy=None, power: PowerParams | None = None,
                timestep: tuple = ("barrier", 0, "stretch")) -> StepEnergy:
    """Price counts recorded per step as ``core_counts int64[n_steps, N_ACTIONS]`` (summed over the cores)
    and ``host_counts int64[n_steps, N_ACTIONS]`` (the host column), exactly as :func:`account` prices the
    per-core array whose core rows sum to ``core_counts``: the host column pays only :data:`HOST_CHARGED`.

    Power states and timestep mode as in :func:`account`; ``busy int[n_steps, n_in_use]`` holds the work
    cycles (:func:`nmsim.account.static.busy_cycles`) of the cores that hold neurons (the other
    ``n_cores - n_in_use`` are unused); ``None``: every core in use, none working (fine without power states).
    """
    core_counts = np.asarray(core_counts)
    host_counts = np.asarray(host_counts)
    step_cycles = np.asarray(step_cycles, dtype=np.int64)
    energy_pj = _cost_vector(energy_pj)
    if core_counts.shape != host_counts.shape or core_counts.shape != (step_cycles.shape[0], N_ACTIONS):
        raise ValueError(f"core/host counts {core_counts.shape}/{host_counts.shape} do not match "
                         f"(n_steps={step_cycles.shape[0]}, {N_ACTIONS})")
    st = _static(step_cycles, busy, n_cores, static_mw_per_core, power, clock_hz, timestep)
    dyn = core_counts.astype(np.float64) * energy_pj + host_counts.astype(np.float64) * (energy_pj * host_mask())
    return StepEnergy(dynamic_pj=dyn, static_pj=st.static_pj, step_pj=dyn.sum(axis=1) + st.static_pj
                      + st.lines["wake"], latency_ns=st.latency_ns, lines_step_pj=st.lines, timestep=st.timestep)


def price_steps_chip(core_counts, host_counts, step_cycles, chip, busy=None) -> StepEnergy:
    """:func:`price_steps` with energies, power states, clock and timestep mode from ``chip``."""
    a = chip_static_args(chip)
    return price_steps(core_counts, host_counts, step_cycles, chip.energy.vector_pj(), chip.static.core_power_mw,
                       chip.n_cores, a["clock_hz"], busy=busy, power=a["p"], timestep=a["timestep"])


def _static(step_cycles, busy, n_cores: int, static_mw_per_core: float, power, clock_hz: float, timestep):
    p = PowerParams.uniform(float(static_mw_per_core)) if power is None else power
    if busy is None:
        if p.in_use_mw != p.idle_mw or p.idle_step_gating:
            raise ValueError("power states that tell working from idle cores need each in-use core's busy cycles")
        busy = np.zeros((step_cycles.shape[0], n_cores), np.int64)
    busy = np.asarray(busy, np.int64)
    if busy.ndim != 2 or busy.shape[0] != step_cycles.shape[0] or busy.shape[1] > n_cores:
        raise ValueError(f"busy shape {busy.shape}, want (n_steps={step_cycles.shape[0]}, n_in_use <= {n_cores})")
    return static_and_time(step_cycles, busy, n_cores - busy.shape[1], p, clock_hz, timestep)


def _cost_vector(energy_pj) -> np.ndarray:
    energy_pj = np.asarray(energy_pj, dtype=np.float64)
    if energy_pj.shape != (N_ACTIONS,):
        raise ValueError(f"energy_pj shape {energy_pj.shape}, want ({N_ACTIONS},) ordered like ACTIONS")
    return energy_pj


def account(result, energy_pj, static_mw_per_core: float, n_cores: int, clock_hz: float, *,
            power: PowerParams | None = None, in_use=None, timing_cycles: dict | None = None,
            timestep: tuple = ("barrier", 0, "stretch")) -> EnergyReport:
    """Price the counts of ``result`` (anything with ``counters int64[n_steps, n_cores+1, N_ACTIONS]`` and
    ``step_cycles int64[n_steps]``, e.g. a ``SimResult``).

    ``energy_pj float[N_ACTIONS]``: pJ per action, ordered like ``ACTIONS``; ``static_mw_per_core``: mW per
    core (host excluded); ``n_cores``: cores paying static power; ``clock_hz``: chip clock (cycles -> seconds).
    Power states (:mod:`nmsim.account.static`): ``power`` (default: every core pays ``static_mw_per_core``
    all the time), ``in_use bool[n_cores]`` (cores that hold neurons; default all), ``timing_cycles`` (the
    chip's ``timing_cycles()``: counts each core's work, needed when ``power`` tells working from idle).
    ``timestep``: ``(mode, period_cycles, overrun)`` (:mod:`nmsim.account.timestep`); latency and static
    energy follow it.  :func:`account_chip` takes all of it from a chip description.
    """
    counters = np.asarray(result.counters)
    step_cycles = np.asarray(result.step_cycles, dtype=np.int64)
    energy_pj = _cost_vector(energy_pj)
    if counters.ndim != 3 or counters.shape[2] != N_ACTIONS or counters.shape[0] != step_cycles.shape[0]:
        raise ValueError(f"counters shape {counters.shape} does not match (n_steps={step_cycles.shape[0]}, "
                         f"n_cores+1, {N_ACTIONS})")
    cost = np.broadcast_to(energy_pj, counters.shape[1:]).copy()  # [n_cores+1, N_ACTIONS]
    cost[-1] *= host_mask()
    dynamic = counters.astype(np.float64) * cost  # exact for counts < 2**53
    in_use = np.ones(n_cores, bool) if in_use is None else np.asarray(in_use, bool)
    if in_use.shape != (n_cores,):
        raise ValueError(f"in_use shape {in_use.shape}, want ({n_cores},)")
    busy = None if timing_cycles is None else busy_cycles(counters, timing_cycles)[:, :n_cores][:, in_use]
    if busy is None and not in_use.all():
        busy = np.zeros((step_cycles.shape[0], int(in_use.sum())), np.int64)
    st = _static(step_cycles, busy, n_cores, static_mw_per_core, power, clock_hz, timestep)
    step_dyn = dynamic.sum(axis=(1, 2))
    step_pj = step_dyn + st.static_pj + st.lines["wake"]
    return EnergyReport(
        dynamic_pj=dynamic,
        static_pj_per_step=st.static_pj,
        step_pj=step_pj,
        core_pj=dynamic.sum(axis=(0, 2)),
        action_pj=dynamic.sum(axis=(0, 1)),
        latency_cycles=st.timestep.step_cycles.copy(),
        latency_ns=st.latency_ns,
        dynamic_total_pj=float(step_dyn.sum()),
        static_total_pj=float(st.static_pj.sum()),
        total_pj=float(step_pj.sum()),
        time_ns=float(st.latency_ns.sum()),
        lines_step_pj=st.lines,
        timestep=st.timestep,
        work_cycles=st.work_cycles,
    )


def account_chip(result, chip, in_use=None) -> EnergyReport:
    """:func:`account` with everything from ``chip`` (a ``ChipSpec``, resolved at its operating point):
    energies, power states, clock, timestep mode.  ``in_use bool[n_cores]``: cores that hold neurons
    (e.g. ``np.diff(model.core_neuron_ptr)[:n_cores] > 0``); default: every core."""
    a = chip_static_args(chip)
    return account(result, chip.energy.vector_pj(), chip.static.core_power_mw, chip.n_cores, a["clock_hz"],
                   power=a["p"], in_use=in_use, timing_cycles=chip.timing_cycles(), timestep=a["timestep"])
