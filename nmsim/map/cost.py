"""Predicted cost of one timestep under a placement: per-core work and the step's critical path.

The ``balanced`` strategy (:mod:`nmsim.map.balanced`) minimises :func:`predict`'s
``critical_cycles``; ``nmsim map`` prints it.  The model (``docs/mapping.md``) takes the
expected events per step of every neuron (``rate``, from calibration tokens) and the
chip's cycle costs (``docs/engine-model.md`` §2), all in cycles per step:

``neuron[c]``  = Σ over the core's neurons of ``neuron_update_active_cycles``
``synapse[c]`` = Σ over its CSR rows (source ``s``, this core) of
                 ``rate[s] * (packet_receive_cycles + ceil(nnz(row) / synapses_per_read) * synapse_read_cycles)``
``send[c]``    = Σ over its neurons of ``rate * routes * spike_send_cycles`` (host: ``io_packet_cycles``);
                 ``routes`` = destination cores (+1 if it reports to the host), or 1 on a multicast chip
``net[c]``     = the longest XY route latency of a row into ``c`` (injection + hops + local delivery)
``out[c]``     = ``max(neuron[c], send[c])``: when the core's last packet has left
``critical[c]``= ``max(neuron[c] + synapse[c], max over its source cores s of out[s]) + net[c]``

The step is predicted to take ``max(max_c critical[c], max_c out[c], host) + barrier_cycles``
where ``host`` is the arrival of the last packet routed to the host.  The neuron and synapse
units overlap on the chip, so the sum is a conservative bound; it is the quantity balanced.
Energy (pJ per step; the tie-break): the expected count of every action per step, priced by
:mod:`nmsim.account` with the static power of the cores in use over the predicted step.
"""

from __future__ import annotations

import functools

from dataclasses import dataclass
from functools import cached_property

import numba
import numpy as np
import scipy.sparse as sp

from nmsim.describe.actions import A
from nmsim.describe.chip import ChipSpec
from nmsim.describe.network import Network
from nmsim.jit import JIT
from nmsim.map.connectivity import Connectivity


@dataclass(frozen=True, eq=False)
class Workload:
    """What the cost model needs of a network: synapse counts and expected events per step.

    ``counts`` CSC ``int64[N, N]``: synapses ``s -> d`` (all projections); ``rate[g]``: expected
    events of neuron ``g`` per step (1.0 for neurons that send every step); ``to_host[g]``: the
    neuron also routes its events to the host; ``source``: where the rates came from (run.json).
    """

    counts: sp.csc_matrix
    rate: np.ndarray
    to_host: np.ndarray
    source: dict

    @cached_property
    def rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``counts`` by source (CSR ``indptr``, ``indices``, ``data``, ``int64``): built once, used by
        every :func:`predict` of this workload."""
        m = self.counts.tocsr()
        m.sort_indices()
        return m.indptr.astype(np.int64), m.indices.astype(np.int64), m.data.astype(np.int64)


def synapse_counts(net: Network, conn: Connectivity) -> sp.csc_matrix:
    """``counts[s, d]`` = number of synapses from ``s`` into ``d`` (network order), CSC, sorted."""
    rows, cols = [], []
    for q in net.projections:
        coo = q.weights.tocoo()
        rows.append(coo.row.astype(np.int64) + conn.offset[q.src])
        cols.append(coo.col.astype(np.int64) + conn.offset[q.dst])
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    m = sp.csc_matrix((np.ones(r.size, np.int64), (r, c)), shape=(conn.n, conn.n))
    m.sum_duplicates()
    m.sort_indices()
    return m


def workload(net: Network, conn: Connectivity, rates: dict | None = None, source: dict | None = None) -> Workload:
    """A :class:`Workload` with ``rates[pop]`` (scalar or per neuron, events per step); populations
    not given send every step (rate 1.0, the worst case)."""
    rate = np.ones(conn.n, np.float64)
    to_host = np.zeros(conn.n, bool)
    for name, p in net.populations.items():
        off = conn.offset[name]
        if rates and name in rates:
            rate[off:off + p.n] = np.broadcast_to(np.asarray(rates[name], np.float64), (p.n,))
        to_host[off:off + p.n] = bool(p.to_host)
    if source is None:
        source = ({"kind": "given", "populations": sorted(rates)} if rates else
                  {"kind": "worst case", "note": "every neuron sends every step"})
    return Workload(synapse_counts(net, conn), rate, to_host, dict(source))


def route_latency(chip: ChipSpec) -> np.ndarray:
    """``int64[n_cores+1, n_cores+1]``: cycles from a packet's injection request to its arrival,
    idle mesh (injection + XY hops + ejection); row/column ``n_cores`` is the host (a packet to the host has
    ``readout_flits_per_packet`` flits)."""
    from nmsim.map.placement import core_xy

    t, f = chip.timing, chip.flits_per_packet
    xy = core_xy(chip).astype(np.int64)
    if chip.board is None:
        dx = np.abs(xy[:, None, 0] - xy[None, :, 0])
        dy = np.abs(xy[:, None, 1] - xy[None, :, 1])
        dc = np.zeros_like(dx)
    else:  # a board: hops along the routes through the chips' ports (nmsim.sim.board_routes)
        hx, hy, hc = board_hops(chip)
        r = xy[:, 1] * chip.mesh.width + xy[:, 0]
        dx, dy, dc = hx[r[:, None], r[None, :]], hy[r[:, None], r[None, :]], hc[r[:, None], r[None, :]]
    link_lat = 0 if chip.board is None else int(chip.board["link_lat"])
    inj = np.full(xy.shape[0], t.spike_send_cycles, np.int64)
    inj[-1] = t.io_packet_cycles
    fl = np.full(xy.shape[0], f, np.int64)
    fl[-1] = chip.readout_flits_per_packet  # the destination's column: the host receives readout packets
    fl = fl[None, :]
    return (inj[:, None] + dx * (t.hop_east_west_cycles + fl - 1) + dy * (t.hop_north_south_cycles + fl - 1)
            + dc * link_lat + t.local_delivery_cycles + fl - 1)


def chip_link_bound(chip: ChipSpec, src_core: np.ndarray, dst_core: np.ndarray, rate: np.ndarray) -> float:
    """Cycles the busiest chip-to-chip link of a board is occupied per step: packets per step through it
    (``rate`` per ``(src_core, dst_core)`` pair; host = ``n_cores``) x its occupancy.  Chip-level routes are
    those of :func:`nmsim.sim.board_routes.chip_dirs` (XY over chips, east/west first, avoiding empty positions)."""
    from nmsim.sim.board_routes import PORT_E, PORT_N, PORT_S, PORT_W, chip_dirs

    g, m = chip.board, chip.mesh
    W, H, CX = g["chip_width"], g["chip_height"], g["chips_x"]
    xy = _xy(chip)
    cx, cy = xy[:, 0] // W, xy[:, 1] // H
    a, b = cy[src_core] * CX + cx[src_core], cy[dst_core] * CX + cx[dst_core]
    cross = a != b
    if not cross.any():
        return 0.0
    key, inv = np.unique(a[cross] * (CX * g["chips_y"]) + b[cross], return_inverse=True)
    load_pair = np.bincount(inv, weights=rate[cross], minlength=key.size)
    load: dict = {}
    n = CX * g["chips_y"]
    dirs = chip_dirs(dict(g))
    move = {PORT_E: (1, 0), PORT_W: (-1, 0), PORT_N: (0, 1), PORT_S: (0, -1)}
    for kk, w in zip(key.tolist(), load_pair.tolist()):
        c, d = kk // n, kk % n
        while c != d:
            sx, sy = move[int(dirs[c, d])]
            load[(c % CX, c // CX, sx, sy)] = load.get((c % CX, c // CX, sx, sy), 0.0) + w
            c += sx + sy * CX
    return max(load.values()) * g["link_occ"]


def board_hops(chip: ChipSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """On-chip east-west, north-south and chip-to-chip hops between routers of a board chip (``[R, R]``,
    read-only; computed once per board geometry, as the balanced mapper asks for them per candidate)."""
    return _board_hops(tuple(sorted(chip.board.items())))


@functools.lru_cache(maxsize=2)
def _board_hops(key: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from nmsim.sim import board_routes as br

    g = dict(key)
    out = br.hop_tables(g, br.next_links(g))
    for a in out:
        a.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class Prediction:
    """Per core (``[n_cores]``, cycles per step): ``neuron``, ``synapse``, ``send``, ``net``, ``critical``;
    ``host_send``/``host_in``: the host's injection work and the arrival of its last packet;
    ``step_cycles``: the predicted step (barrier included); ``energy_pj`` per step; ``packets``
    per step; ``critical_core`` (``n_cores`` = the host)."""

    neuron: np.ndarray
    synapse: np.ndarray
    send: np.ndarray
    net: np.ndarray
    critical: np.ndarray
    host_send: float
    host_in: float
    step_cycles: float
    energy_pj: float
    packets: float
    critical_core: int


def predict(chip: ChipSpec, conn: Connectivity, wl: Workload, core_of: np.ndarray,
            lat: np.ndarray | None = None) -> Prediction:
    """The step cost of ``core_of`` (``int64[N]``, network order, host = ``n_cores``)."""
    C = chip.n_cores
    t, f = chip.timing, chip.flits_per_packet
    spr = chip.core.synapses_per_read
    if lat is None:
        lat = route_latency(chip)
    core_of = np.asarray(core_of, np.int64)
    ps, pc, nnz_i = row_pairs(wl, core_of, C)
    nnz = nnz_i.astype(np.float64)
    reads = -(-nnz // spr)
    r = wl.rate[ps]
    syn = np.bincount(pc, weights=r * (t.packet_receive_cycles + reads * t.synapse_read_cycles),
                      minlength=C + 1)[:C]
    host = ~conn.is_host
    neuron = np.bincount(core_of[host], minlength=C + 1)[:C].astype(np.float64) * t.neuron_update_active_cycles
    kv, rf = chip.noc.readout_values_per_packet, chip.readout_flits_per_packet
    routes = np.bincount(ps, minlength=conn.n) + wl.to_host / kv  # a packet to the host carries kv values
    if chip.noc.multicast:  # one packet per event along the neuron's XY tree (engine-model §2.6)
        routes = np.minimum(routes, 1)
    pk = wl.rate * routes  # packets per step of each neuron
    sent = np.bincount(core_of, weights=pk, minlength=C + 1)
    send = sent[:C] * t.spike_send_cycles
    host_send = float(sent[C]) * t.io_packet_cycles
    out = np.append(np.maximum(neuron, send), host_send)
    pl = lat[core_of[ps], pc]
    net = np.zeros(C + 1)
    np.maximum.at(net, pc, pl)
    arrive = np.zeros(C + 1)
    np.maximum.at(arrive, pc, out[core_of[ps]] + pl)
    crit = np.maximum(neuron + syn + net[:C], arrive[:C])
    th = np.flatnonzero(wl.to_host & (wl.rate > 0))
    host_in = 0.0
    if th.size:
        hc = core_of[th]
        host_in = float(max((out[hc] + lat[hc, C]).max(), (wl.rate[th] / kv * rf).sum()))
    tails = np.append(np.maximum(crit, out[:C]), max(host_in, host_send))
    k = int(np.argmax(tails))
    step = float(tails[k]) + chip.barrier_cycles
    if chip.board is not None:  # the busiest chip-to-chip link serializes its packets (occupancy each)
        step = max(step, chip_link_bound(chip, core_of[ps], pc, r) + chip.barrier_cycles)
    energy = _energy_pj(chip, conn, wl, core_of, ps, pc, r, reads, nnz, pk, th, step)
    return Prediction(neuron, syn, send, net[:C], crit, host_send, host_in, step, energy,
                      float(pk.sum()), k)


def row_pairs(wl: Workload, core_of: np.ndarray, n_cores: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The CSR rows of a placement: ``(source, core, synapses)`` per distinct (source neuron, core
    holding one of its targets), ``int64``, sorted by source then core (host = ``n_cores``)."""
    indptr, indices, data = wl.rows
    bound = int(np.minimum(np.diff(indptr), n_cores + 1).sum())
    ps = np.empty(bound, np.int64)
    pc = np.empty(bound, np.int64)
    pn = np.empty(bound, np.int64)
    m = _row_pairs_kernel(indptr, indices, data, np.asarray(core_of, np.int64), int(n_cores), ps, pc, pn)
    return ps[:m], pc[:m], pn[:m]


@numba.njit(**JIT)
def _row_pairs_kernel(indptr, indices, data, core_of, n_cores, ps, pc, pn):
    """Writes the distinct (source, core) pairs of CSR ``counts`` under ``core_of`` with their synapse
    counts, sorted by source then core; returns how many."""
    acc = np.zeros(n_cores + 1, np.int64)
    seen = np.full(n_cores + 1, -1, np.int64)
    touched = np.empty(n_cores + 1, np.int64)
    m = 0
    for s in range(indptr.shape[0] - 1):
        t = 0
        for j in range(indptr[s], indptr[s + 1]):
            k = core_of[indices[j]]
            if seen[k] != s:
                seen[k] = s
                acc[k] = 0
                touched[t] = k
                t += 1
            acc[k] += data[j]
        cores = np.sort(touched[:t])
        for i in range(t):
            k = cores[i]
            ps[m] = s
            pc[m] = k
            pn[m] = acc[k]
            m += 1
    return m


def _energy_pj(chip, conn, wl, core_of, ps, pc, r, reads, nnz, pk, th, step) -> float:
    """Expected counts per step of every action, priced by :func:`nmsim.account.price_steps` with the
    static power of the cores in use over the predicted step, or the tick period if longer (pJ per step)."""
    from nmsim.account import price_steps
    from nmsim.describe.actions import N_ACTIONS

    C, f = chip.n_cores, chip.flits_per_packet
    kv, rf = chip.noc.readout_values_per_packet, chip.readout_flits_per_packet
    xy = _xy(chip)
    host = ~conn.is_host
    src_core = core_of[ps]
    from_host = src_core == C
    if chip.board is None:
        hops = np.abs(xy[src_core] - xy[pc])  # [pairs, 2] east-west, north-south hops
        th_hops = np.abs(xy[core_of[th]] - xy[C])
    else:  # a board: on-chip east-west, north-south and chip-to-chip hops along the port routes
        tabs = board_hops(chip)
        rt = xy[:, 1] * chip.mesh.width + xy[:, 0]
        hops = np.stack([t[rt[src_core], rt[pc]] for t in tabs], axis=1)
        th_hops = np.stack([t[rt[core_of[th]], rt[C]] for t in tabs], axis=1)
    cores, hostc = np.zeros(N_ACTIONS), np.zeros(N_ACTIONS)
    cores[A["neuron_update_active"]] = host.sum()
    cores[A["spike"]] = wl.rate[host].sum()
    hostc[A["spike"]] = wl.rate[~host].sum()
    cores[A["packet_send"]] = pk[host].sum()
    hostc[A["io_packet"]] = pk[~host].sum() + wl.rate[th].sum() / kv  # sent by the host, received by it
    for j, name in enumerate(("flit_hop_east_west", "flit_hop_north_south", "flit_hop_chip")[:hops.shape[1]]):
        to_cores, to_host = (r * hops[:, j])[~from_host].sum(), (wl.rate[th] * th_hops[:, j]).sum()
        cores[A[name]] = f * (to_cores + to_host) if kv == 1 else f * to_cores + rf * to_host / kv
        hostc[A[name]] = f * (r * hops[:, j])[from_host].sum()
    cores[A["local_delivery"]] = cores[A["packet_receive"]] = r.sum()
    cores[A["synapse_read"]] = (r * reads).sum()
    cores[A["synaptic_op"]] = (r * nnz).sum()
    hostc[A["barrier"]] = 1
    used = int((np.bincount(core_of[host], minlength=C + 1)[:C] > 0).sum())
    e = price_steps(cores[None], hostc[None], [int(round(max(step, tick_cycles(chip))))], chip.energy.vector_pj(),
                    chip.static.core_power_mw, used, chip.clock.frequency_hz)
    return e.total_pj


def tick_cycles(chip: ChipSpec) -> float:
    """The tick period in cycles in ``fixed`` timestep mode (a step lasts at least this long), else 0."""
    if chip.timestep.mode != "fixed":
        return 0.0
    return chip.timestep.period_ns * chip.clock.frequency_hz / 1e9


def _xy(chip: ChipSpec) -> np.ndarray:
    from nmsim.map.placement import core_xy

    return core_xy(chip).astype(np.int64)
