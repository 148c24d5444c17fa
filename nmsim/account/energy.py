"""Energy and latency from counters: a pure function of the counts (spec §3, last paragraph).

Dynamic energy = ``counters x energy_pj`` (one pJ cost per action, ordered like
:data:`nmsim.describe.actions.ACTIONS`); the host column is charged only for
``io_packet``, the flit hops it sends and ``barrier`` (the host's other counts,
e.g. its input spikes, are free).  Static energy = static power per core x
``n_cores`` x simulated time.  Changing a cost needs no re-run: call
:func:`account` again on the same counters.  Takes plain arrays and floats so it
does not depend on the chip-description classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nmsim.describe.actions import A, ACTIONS, N_ACTIONS

#: Actions charged in the host column; every other host count costs nothing.
HOST_CHARGED: tuple[str, ...] = ("io_packet", "flit_hop_east_west", "flit_hop_north_south", "barrier")

#: Energy category of every action (``docs/replay.md``); ``static`` is the category of static power.
CATEGORY: dict[str, str] = {
    "synapse_read": "synapse", "synaptic_op": "synapse", "packet_receive": "synapse",
    "neuron_update_active": "neuron", "neuron_update_idle": "neuron", "spike": "neuron",
    "packet_send": "noc", "flit_hop_east_west": "noc", "flit_hop_north_south": "noc", "local_delivery": "noc",
    "io_packet": "io", "barrier": "barrier",
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

    @property
    def total_pj(self) -> float:
        return float(self.step_pj.sum())

    def categories(self) -> dict[str, float]:
        """pJ per category over the whole run."""
        return by_category(self.dynamic_pj, float(self.static_pj.sum()))


def price_steps(core_counts, host_counts, step_cycles, energy_pj, static_mw_per_core: float, n_cores: int,
                clock_hz: float) -> StepEnergy:
    """Price counts recorded per step as ``core_counts int64[n_steps, N_ACTIONS]`` (summed over the cores)
    and ``host_counts int64[n_steps, N_ACTIONS]`` (the host column), exactly as :func:`account` prices the
    per-core array whose core rows sum to ``core_counts``: the host column pays only :data:`HOST_CHARGED`."""
    core_counts = np.asarray(core_counts)
    host_counts = np.asarray(host_counts)
    step_cycles = np.asarray(step_cycles, dtype=np.int64)
    energy_pj = _cost_vector(energy_pj)
    if core_counts.shape != host_counts.shape or core_counts.shape != (step_cycles.shape[0], N_ACTIONS):
        raise ValueError(f"core/host counts {core_counts.shape}/{host_counts.shape} do not match "
                         f"(n_steps={step_cycles.shape[0]}, {N_ACTIONS})")
    latency_ns = _latency_ns(step_cycles, clock_hz)
    dyn = core_counts.astype(np.float64) * energy_pj + host_counts.astype(np.float64) * (energy_pj * host_mask())
    st = static_pj(latency_ns, static_mw_per_core, n_cores)
    return StepEnergy(dynamic_pj=dyn, static_pj=st, step_pj=dyn.sum(axis=1) + st, latency_ns=latency_ns)


def _cost_vector(energy_pj) -> np.ndarray:
    energy_pj = np.asarray(energy_pj, dtype=np.float64)
    if energy_pj.shape != (N_ACTIONS,):
        raise ValueError(f"energy_pj shape {energy_pj.shape}, want ({N_ACTIONS},) ordered like ACTIONS")
    return energy_pj


def _latency_ns(step_cycles: np.ndarray, clock_hz: float) -> np.ndarray:
    if clock_hz <= 0:
        raise ValueError(f"clock_hz={clock_hz} must be > 0")
    return step_cycles.astype(np.float64) / clock_hz * 1e9


def account(result, energy_pj, static_mw_per_core: float, n_cores: int, clock_hz: float) -> EnergyReport:
    """Price the counts of ``result`` (anything with ``counters int64[n_steps, n_cores+1, N_ACTIONS]`` and
    ``step_cycles int64[n_steps]``, e.g. a ``SimResult``).

    ``energy_pj float[N_ACTIONS]``: pJ per action, ordered like ``ACTIONS``; ``static_mw_per_core``: mW per
    core (host excluded); ``n_cores``: cores paying static power; ``clock_hz``: chip clock (cycles -> seconds).
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
    latency_ns = _latency_ns(step_cycles, clock_hz)
    static = static_pj(latency_ns, static_mw_per_core, n_cores)
    step_dyn = dynamic.sum(axis=(1, 2))
    return EnergyReport(
        dynamic_pj=dynamic,
        static_pj_per_step=static,
        step_pj=step_dyn + static,
        core_pj=dynamic.sum(axis=(0, 2)),
        action_pj=dynamic.sum(axis=(0, 1)),
        latency_cycles=step_cycles.copy(),
        latency_ns=latency_ns,
        dynamic_total_pj=float(step_dyn.sum()),
        static_total_pj=float(static.sum()),
        total_pj=float(step_dyn.sum() + static.sum()),
        time_ns=float(latency_ns.sum()),
    )
