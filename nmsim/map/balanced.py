"""The ``balanced`` strategy: the placement with the shortest predicted step (``docs/mapping.md``).

Candidates are built by one constrained fill (:func:`fill`): neurons, in a given order,
go to the cores of their population's core sequence (snake order, or the ``map.<pop>.cores``
set) and a core is left when the next neuron would break a capacity (neurons, synapse bytes,
fan-in axons, ``map.*`` caps) or a *work target* (predicted synapse + neuron cycles per step,
:mod:`nmsim.map.cost`).  Orders: network order, and the order of a METIS k-way partition
(``pymetis``: vertex weights = work and synapse bytes, edge weights = expected packets) of the
neuron graph.  For each order and each number of cores ``k`` (all counts up to 16, then steps of
15 %), the smallest work target under which the order fits on ``k`` cores is found by bisection;
plain neuron caps (8, 16, ... neurons per core) are candidates too, and the ``partition`` strategy's
placement (networks up to :data:`PARTITION_MAX_SYNAPSES`, no ``map.*`` limits).
Every candidate is scored with :func:`nmsim.map.cost.predict` and ranked by the objective
(``map.objective``, :mod:`nmsim.map.options`) with the rule of :mod:`nmsim.map.choose`: on a self-timed
chip the shortest predicted step within an energy budget (``map.energy_budget``, +10 % by default, over
the most frugal candidate as fast as the best conventional one), predicted energy breaking ties; on a
chip with a fixed tick the least predicted energy among the candidates whose step fits the tick.  Deterministic: no random choices, METIS seeded.
"""

from __future__ import annotations

import numba
import numpy as np

from nmsim.describe.chip import ChipSpec
from nmsim.describe.network import Network
from nmsim.errors import MappingError
from nmsim.jit import JIT
from nmsim.map.choose import DEFAULT_BUDGET, TIE, Score, order  # noqa: F401 (TIE: re-exported)
from nmsim.map.connectivity import Connectivity, core_bytes
from nmsim.map.cost import Workload, predict, route_latency, tick_cycles
from nmsim.map.options import MapOptions, parse_cores, resolve_objective

#: Neuron caps whose fills count as conventional placements (:func:`is_conventional`): the caps an architect
#: tries by hand (issue 10's brute-force set); cap 8 is a candidate but not a reference.
CONVENTIONAL_CAPS = (16, 32, 64, 128, 256, 512)
#: Names of the conventional candidates (:func:`is_conventional`).
PLAIN = "network order, capacities only"
CAPPED, CAPPED_END = "network order, ", " neurons per core"
PARTITION = "partition strategy"
SNAKE = "snake strategy"
#: Geometric bisection steps on the work target (to 0.2 %).
BISECT_STEPS = 10
#: Core counts tried: all up to ALL_COUNTS_UP_TO, then x COUNT_STEP.
ALL_COUNTS_UP_TO = 16
COUNT_STEP = 1.15
#: Neuron caps tried as candidates (and the chip's own ``max_neurons``).
CAPS = (8, 16, 32, 64, 128, 256, 512)
METIS_SEED = 0
#: The ``partition`` strategy's placement is a candidate too, when ``map.*`` sets no limit and the network
#: has at most this many synapses (its local refinement takes about 1 s per million synapses per pass).
PARTITION_MAX_SYNAPSES = 4_000_000
#: Parts of the METIS partition that orders the neurons (the fill then sets the core boundaries).
METIS_MAX_PARTS = 128
#: Work is filled in integer units of 1/WORK_SCALE cycle (the kernel is integer-only).
WORK_SCALE = 1000
WORK_INF = 2**62


class Filler:
    """Constrained filling of cores in a neuron order (see the module docstring)."""

    def __init__(self, chip: ChipSpec, net: Network, conn: Connectivity, wl: Workload, opts: MapOptions,
                 snake: np.ndarray):
        self.chip, self.net, self.conn, self.wl, self.opts = chip, net, conn, wl, opts
        c, t = chip.core, chip.timing
        spr = c.synapses_per_read
        self.pops = list(net.populations)
        P = len(self.pops)
        self.seqs = []
        for name in self.pops:
            if name in opts.pop_cores:
                allowed = set(parse_cores(opts.pop_cores[name], chip.n_cores, f"map.{name}.cores"))
                self.seqs.append(np.asarray([k for k in snake if k in allowed], np.int64))
            else:
                self.seqs.append(np.asarray(snake, np.int64))
        self.pcap = np.asarray([opts.pop_max_neurons.get(n, c.max_neurons) for n in self.pops], np.int64)
        self.cap = min(c.max_neurons, opts.max_neurons_per_core or c.max_neurons)
        cnt = wl.counts
        self.indptr, self.indices = cnt.indptr.astype(np.int64), cnt.indices.astype(np.int64)
        rate = wl.rate
        # work of a neuron that does not depend on the others on its core; and of each new row
        per_syn = t.synapse_read_cycles / spr
        dst = np.repeat(np.arange(conn.n), np.diff(cnt.indptr))
        self.w_own = (np.bincount(dst, weights=rate[cnt.indices] * cnt.data * per_syn, minlength=conn.n)
                      + np.where(conn.is_host, 0, t.neuron_update_active_cycles))
        self.w_row = rate * (t.packet_receive_cycles + t.synapse_read_cycles * (1 - 1 / spr))
        self.P = P
        self.g_nnz = np.asarray(cnt.sum(axis=0)).ravel().astype(np.int64)
        self.seq_ptr = np.concatenate([[0], np.cumsum([q.size for q in self.seqs])]).astype(np.int64)
        self.seq_flat = np.concatenate(self.seqs).astype(np.int64) if self.seqs else np.zeros(0, np.int64)
        self.w_own_q = np.rint(self.w_own * WORK_SCALE).astype(np.int64)
        self.w_row_q = np.rint(self.w_row * WORK_SCALE).astype(np.int64)

    def fill(self, order: np.ndarray, target: float = np.inf, cap: int | None = None,
             kmax: int | None = None) -> np.ndarray | None:
        """``int64[N]`` core per neuron (at most ``kmax`` cores used), or ``None`` when it does not fit."""
        co, _ = self._fill(order, target, cap, kmax)
        return co if co is not None else None

    def fill_or_explain(self, order: np.ndarray) -> np.ndarray:
        co, g = self._fill(order, np.inf, None, None)
        if co is None:
            raise MappingError(self._explain(g[0], g[1]))
        return co

    def _fill(self, order, target, cap, kmax):
        c = self.chip.core
        cap = self.cap if cap is None else min(cap, self.cap)
        tq = WORK_INF if not np.isfinite(target) else int(min(round(target * WORK_SCALE), WORK_INF))
        core_of = np.full(self.conn.n, self.chip.n_cores, np.int64)
        bad = _fill_kernel(np.asarray(order, np.int64), self.conn.pop_of.astype(np.int64), self.indptr, self.indices,
                           self.g_nnz, self.seq_flat, self.seq_ptr, self.pcap, int(cap), int(c.max_fan_in_axons),
                           int(c.synapse_bits), int(c.row_pointer_bits), int(c.synapse_memory_bytes) * 8,
                           self.w_own_q, self.w_row_q, tq, int(self.chip.n_cores if kmax is None else kmax),
                           int(self.chip.n_cores), core_of)
        if bad >= 0:
            return None, (int(bad), core_of)
        return core_of, None

    def _explain(self, g: int, core_of: np.ndarray) -> str:
        """One line: the population that did not fit, the limits it was under and what it needs."""
        chip, conn, c = self.chip, self.conn, self.chip.core
        p = int(conn.pop_of[g])
        pop = self.pops[p]
        size = self.net.populations[pop].n
        off = conn.offset[pop]
        placed = int((core_of[off:off + size] < chip.n_cores).sum())
        seq = self.seqs[p]
        per_core = int(min(self.cap, self.pcap[p]))
        need_n = -(-size // per_core)
        cnt = self.wl.counts[:, off:off + size]
        srcs = np.unique(cnt.indices).size
        need_b = int(-(-int(core_bytes(chip, int(cnt.data.sum()), 0)) // c.synapse_memory_bytes))
        limits = self.opts.describe(pop) or f"chip {chip.name!r} capacities"
        what = (f"it needs at least {max(need_n, need_b)} cores ({need_n} at {per_core} neurons per core, "
                f"{need_b} for its {int(cnt.data.sum())} synapses at {c.synapse_memory_bytes} bytes per core; "
                f"{srcs} distinct sources against {c.max_fan_in_axons} fan-in axons per core)")
        return (f"population {pop!r} ({size} neurons) does not fit under {limits}: {what}; "
                f"{seq.size} cores allowed, {placed} of its neurons placed")


@numba.njit(**JIT)
def _fill_kernel(order, pop_of, indptr, indices, g_nnz, seq_flat, seq_ptr, pcap, cap, fan, sb, rpb, mem_bits,
                 w_own, w_row, target, kmax, n_cores, core_of):
    """Fill cores in ``order`` (see :class:`Filler`); writes ``core_of``; returns -1, or the neuron that
    did not fit.  Work in integer units of 1/:data:`WORK_SCALE` cycle."""
    N = core_of.shape[0]
    P = pcap.shape[0]
    has = np.zeros((min(kmax, n_cores), N), np.uint8)  # has[slot of core, source]: a row exists
    slot = np.full(n_cores, -1, np.int64)
    n = np.zeros(n_cores, np.int64)
    popn = np.zeros((n_cores, P), np.int64)
    nnz = np.zeros(n_cores, np.int64)
    rows = np.zeros(n_cores, np.int64)
    work = np.zeros(n_cores, np.int64)
    ptr = np.zeros(P, np.int64)
    used = 0
    for i in range(order.shape[0]):
        g = order[i]
        p = pop_of[g]
        while True:
            if seq_ptr[p] + ptr[p] >= seq_ptr[p + 1]:
                return g
            k = seq_flat[seq_ptr[p] + ptr[p]]
            n_new = 0
            w_new = 0
            for j in range(indptr[g], indptr[g + 1]):
                s = indices[j]
                if slot[k] < 0 or has[slot[k], s] == 0:
                    n_new += 1
                    w_new += w_row[s]
            r_k = rows[k] + n_new
            if (n[k] < cap and popn[k, p] < pcap[p] and r_k <= fan and (n[k] > 0 or used < kmax)
                    and (nnz[k] + g_nnz[g]) * sb + r_k * rpb <= mem_bits
                    and (n[k] == 0 or work[k] + w_own[g] + w_new <= target)):
                break
            ptr[p] += 1
        if n[k] == 0:
            slot[k] = used
            used += 1
        for j in range(indptr[g], indptr[g + 1]):
            has[slot[k], indices[j]] = 1
        core_of[g] = k
        n[k] += 1
        popn[k, p] += 1
        nnz[k] += g_nnz[g]
        rows[k] = r_k
        work[k] += w_own[g] + w_new
    return -1


def metis_order(chip: ChipSpec, conn: Connectivity, wl: Workload, filler: Filler, k: int) -> np.ndarray | None:
    """Non-host neurons ordered by a METIS k-way partition (parts in order of their first neuron)."""
    try:
        import pymetis
    except ImportError:  # pragma: no cover - pymetis is a dependency
        return None
    idx = np.flatnonzero(~conn.is_host)
    if k < 2 or idx.size <= k:
        return None
    loc = np.full(conn.n, -1, np.int64)
    loc[idx] = np.arange(idx.size)
    pat = wl.counts.tocsr()  # [src, dst]
    coo = pat.tocoo()
    keep = (loc[coo.row] >= 0) & (loc[coo.col] >= 0) & (coo.row != coo.col)
    a, b = loc[coo.row[keep]], loc[coo.col[keep]]
    w = wl.rate[coo.row[keep]]
    import scipy.sparse as sp

    m = sp.coo_matrix((np.concatenate([w, w]), (np.concatenate([a, b]), np.concatenate([b, a]))),
                      shape=(idx.size, idx.size)).tocsr()
    m.sum_duplicates()
    m.sort_indices()
    ew = np.maximum(np.rint(m.data * 100), 1).astype(np.int64)
    nb = wl.counts[:, idx]
    bytes_g = np.diff(nb.indptr) * chip.core.row_pointer_bits + np.asarray(nb.sum(axis=0)).ravel() * chip.core.synapse_bits
    work = filler.w_own[idx] + np.asarray((wl.counts[:, idx].T @ sp.csr_matrix(filler.w_row[:, None])).todense()).ravel()
    vw = np.stack([np.maximum(np.rint(work), 1), np.maximum(bytes_g, 1)], axis=1).astype(np.int64).ravel()
    opts = pymetis.Options(seed=METIS_SEED)
    try:
        _, part = pymetis.part_graph(int(k), adjacency=pymetis.CSRAdjacency(m.indptr, m.indices), vweights=vw,
                                     eweights=ew, options=opts)
    except Exception:  # METIS refuses some graphs (e.g. no edges)
        return None
    part = np.asarray(part, np.int64)
    first = np.full(int(k), idx.size, np.int64)
    np.minimum.at(first, part, np.arange(idx.size))
    rank = np.argsort(np.argsort(first, kind="stable"), kind="stable")
    return idx[np.lexsort((np.arange(idx.size), rank[part]))]


def _smallest_target(filler: Filler, order: np.ndarray, kmax: int, lo: float, hi: float):
    """The least work target (geometric bisection) under which ``order`` fits on ``kmax`` cores."""
    best = filler.fill(order, hi, kmax=kmax)
    if best is None:
        return None, None
    lo = min(lo, hi)
    for _ in range(BISECT_STEPS):
        if hi <= lo * 1.002:
            break
        mid = float(np.sqrt(lo * hi))
        co = filler.fill(order, mid, kmax=kmax)
        if co is None:
            lo = mid
        else:
            hi, best = mid, co
    return hi, best


def core_counts(k_min: int, k_max: int) -> list[int]:
    """Core counts tried: every count up to :data:`ALL_COUNTS_UP_TO`, then steps of :data:`COUNT_STEP`."""
    ks, k = [], max(1, k_min)
    while k <= k_max:
        ks.append(k)
        k = k + 1 if k < ALL_COUNTS_UP_TO else max(k + 1, int(round(k * COUNT_STEP)))
    if ks[-1] != k_max:
        ks.append(k_max)
    return ks


def place_balanced(chip: ChipSpec, net: Network, conn: Connectivity, wl: Workload, opts: MapOptions,
                   snake: np.ndarray) -> list[tuple]:
    """All candidates, ranked by :func:`rank` (best first)."""
    filler = Filler(chip, net, conn, wl, opts, snake)
    lat = route_latency(chip)
    base = np.flatnonzero(~conn.is_host)
    cands: list[tuple[str, np.ndarray]] = []
    plain = filler.fill_or_explain(base)  # raises the one-line error if nothing fits
    cands.append((PLAIN, plain))
    for cap in CAPS:
        if cap < filler.cap:
            co = filler.fill(base, cap=cap)
            if co is not None:
                cands.append((f"{CAPPED}{cap}{CAPPED_END}", co))
    if not opts.constrains:  # the snake strategy itself (its fill counts rows by structure, not activity)
        from nmsim.map.placement import snake_core_of

        cands.append((SNAKE, snake_core_of(chip, net, conn, snake)))
    if not opts.constrains and net.nnz <= PARTITION_MAX_SYNAPSES:
        from nmsim.map.placement import partition_core_of

        try:
            cands.append((PARTITION, partition_core_of(chip, net, conn, snake, 0)))
        except MappingError:
            pass
    total = float(filler.w_own.sum() + filler.w_row.sum()) + 1.0
    n_allowed = len(set(np.concatenate(filler.seqs).tolist()))
    k_min = int(np.unique(plain[base]).size)
    orders = [("network order", base)]
    if k_min < n_allowed:
        k_metis = min(n_allowed, METIS_MAX_PARTS)
        mo = metis_order(chip, conn, wl, filler, k_metis)
        if mo is not None:
            orders.append((f"METIS {k_metis}-way order", mo))
    top = float(filler.w_own.max(initial=0))
    for name, order in orders:
        for k in core_counts(k_min, n_allowed):
            target, co = _smallest_target(filler, order, k, max(total / k, top, 1.0), total)
            if co is not None:
                cands.append((f"{name}, {k} cores, work target {target:.0f} cycles", co))
    return rank(chip, conn, wl, cands, lat, resolve_objective(opts.objective, chip), opts.energy_budget)


def rank(chip: ChipSpec, conn: Connectivity, wl: Workload, cands: list, lat=None,
         objective: str = "latency", budget: float | None = DEFAULT_BUDGET) -> list[tuple]:
    """Distinct candidates ``(prediction, name, core_of)``, best first by :func:`nmsim.map.choose.order`
    on the predictions (step cycles, energy pJ per step; a candidate keeps the tick when its predicted
    step fits :func:`nmsim.map.cost.tick_cycles`).  Conventional candidates are those named by
    :func:`is_conventional`."""
    seen, scored = set(), []
    for name, co in cands:
        h = co.tobytes()
        if h in seen:
            continue
        seen.add(h)
        scored.append((predict(chip, conn, wl, co, lat), name, co))
    return reorder(chip, scored, objective, budget)


def reorder(chip: ChipSpec, scored: list[tuple], objective: str = "latency",
            budget: float | None = DEFAULT_BUDGET) -> list[tuple]:
    """``scored`` (``(prediction, name, core_of)``) in the order of :func:`nmsim.map.choose.order`."""
    tick = tick_cycles(chip)
    scores = [Score(p.step_cycles, p.energy_pj, is_conventional(name), tick == 0 or p.step_cycles <= tick, name)
              for p, name, _ in scored]
    return [scored[i] for i in order(scores, objective, budget)]


def is_conventional(name: str) -> bool:
    """Whether candidate ``name`` is a conventional placement: the ``snake`` strategy's, the capacity fill
    (``snake`` as the fill counts it: rows of the sources that the calibration saw), a fill with a neuron cap
    of :data:`CONVENTIONAL_CAPS` (``snake`` under ``map.max_neurons_per_core``) or the ``partition``
    strategy's."""
    return name in (PLAIN, SNAKE, PARTITION) or name in _CONVENTIONAL_CAPPED


_CONVENTIONAL_CAPPED = frozenset(f"{CAPPED}{cap}{CAPPED_END}" for cap in CONVENTIONAL_CAPS)
