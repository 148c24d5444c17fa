"""Placement: which core holds each neuron, within neuron, synapse-memory and fan-in limits.

Input populations live on the host (core index ``n_cores``).  Every other
neuron goes to one core; a core's synapse memory holds the CSR rows of the
synapses *into* its neurons (see ``docs/mapping.md``):

    bytes(core) = ceil((nnz * (weight_bits + synapse_index_bits) + rows * row_pointer_bits) / 8)

where ``rows`` = the number of distinct source neurons with at least one
synapse into the core (its fan-in axons, limited by ``max_fan_in_axons``).

Strategies (chosen by name, :data:`STRATEGIES`):

``snake``
    neurons in network order fill cores to capacity along a boustrophedon over
    the mesh (row y=0 west->east, row y=1 east->west, ...), the cores of one
    router in index order.
``balanced``
    the shortest predicted step (the busiest core's neuron + synapse work + network time,
    ``nmsim.map.cost``) from the neurons' expected activity; see ``nmsim.map.balanced``.
``partition``
    reduces traffic (packets + hops, every neuron firing once): neurons are
    ordered by reverse Cuthill-McKee on the symmetrised connectivity (connected
    neurons end up adjacent), dealt out evenly along the snake, then improved by
    greedy single-neuron moves (visiting order drawn from ``seed``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np
from scipy.sparse.csgraph import reverse_cuthill_mckee

from nmsim.describe.chip import ChipSpec, load_chip
from nmsim.describe.network import Network
from nmsim.errors import MappingError
from nmsim.map.connectivity import Connectivity, connectivity, core_bytes
from nmsim.map.refine import refine as _refine

STRATEGIES = ("balanced", "snake", "partition")


@dataclass(frozen=True, eq=False)
class Placement:
    """Where every neuron lives and what each core then holds.

    ``core_of[pop]``: ``int32[n]`` core of each neuron (host = ``n_cores``).
    Per core (``[n_cores]``, host excluded): ``neurons``, ``synapses`` (nnz),
    ``rows`` (fan-in axons) and ``bytes`` (synapse memory).
    """

    chip_name: str
    network_name: str
    strategy: str
    seed: int
    n_cores: int
    core_of: Mapping[str, np.ndarray]
    neurons: np.ndarray
    synapses: np.ndarray
    rows: np.ndarray
    bytes: np.ndarray
    max_neurons: int
    synapse_memory_bytes: int
    max_fan_in_axons: int
    core_xy: np.ndarray = field(repr=False)  # int32[n_cores+1, 2] router coordinate, host last
    search: dict | None = None  #: how ``balanced`` chose (candidates, predicted step); None otherwise
    options: dict | None = None  #: the ``map.*`` settings applied (as given)

    def utilization(self) -> list[dict]:
        """One row per used core: counts and fractions of the core's capacity."""
        out = []
        for c in np.flatnonzero(self.neurons):
            out.append({"core": int(c), "x": int(self.core_xy[c, 0]), "y": int(self.core_xy[c, 1]),
                        "neurons": int(self.neurons[c]), "neuron_frac": self.neurons[c] / self.max_neurons,
                        "synapses": int(self.synapses[c]), "rows": int(self.rows[c]),
                        "row_frac": self.rows[c] / self.max_fan_in_axons,
                        "bytes": int(self.bytes[c]), "byte_frac": self.bytes[c] / self.synapse_memory_bytes})
        return out

    def utilization_table(self) -> str:
        """:meth:`utilization` as aligned text."""
        lines = [f"{'core':>5} {'(x,y)':>7} {'neurons':>13} {'fan-in rows':>16} {'synapses':>9} {'bytes':>17}"]
        for r in self.utilization():
            lines.append(f"{r['core']:>5} {'(%d,%d)' % (r['x'], r['y']):>7} "
                         f"{r['neurons']:>6} {100 * r['neuron_frac']:5.1f}% "
                         f"{r['rows']:>8} {100 * r['row_frac']:5.1f}% {r['synapses']:>9} "
                         f"{r['bytes']:>9} {100 * r['byte_frac']:5.1f}%")
        used = int((self.neurons > 0).sum())
        lines.append(f"{used} of {self.n_cores} cores used ({self.strategy}); "
                     f"{int(self.neurons.sum())} neurons, {int(self.bytes.sum())} bytes of synapse memory")
        return "\n".join(lines)


# --------------------------------------------------------------------------- geometry


def snake_order(chip: ChipSpec) -> np.ndarray:
    """Core indices along the boustrophedon: y=0 west->east, y=1 east->west, ...; cores of a router in order."""
    m = chip.mesh
    if chip.board is not None:  # a board: chip by chip (chips in boustrophedon order), the snake inside each
        return _board_snake(chip)
    order = []
    for y in range(m.height):
        xs = range(m.width) if y % 2 == 0 else range(m.width - 1, -1, -1)
        for x in xs:
            r = y * m.width + x
            order.extend(c for c in range(r * m.cores_per_router, (r + 1) * m.cores_per_router) if c < m.n_cores)
    return np.asarray(order, np.int64)


def _board_snake(chip: ChipSpec) -> np.ndarray:
    """Snake order of a board: chips in boustrophedon order (chip row 0 west->east, row 1 east->west, ...),
    each chip's cores in its own snake, so a population fills one chip before it spills onto the next."""
    from nmsim.describe.system import core_routers

    g, m = chip.board, chip.mesh
    W, H = g["chip_width"], g["chip_height"]
    cr = core_routers(chip)  # routers of empty grid positions and empty router slots hold no cores
    first = np.searchsorted(cr, np.arange(m.n_routers + 1))
    order = []
    for cy in range(g["chips_y"]):
        cxs = range(g["chips_x"]) if cy % 2 == 0 else range(g["chips_x"] - 1, -1, -1)
        for cx in cxs:
            for ly in range(H):
                lxs = range(W) if ly % 2 == 0 else range(W - 1, -1, -1)
                for lx in lxs:
                    r = (cy * H + ly) * m.width + cx * W + lx
                    order.extend(range(int(first[r]), int(first[r + 1])))
    return np.asarray(order, np.int64)


def core_xy(chip: ChipSpec) -> np.ndarray:
    """``int32[n_cores+1, 2]``: router (x, y) of every core, host (at the I/O router) last."""
    from nmsim.describe.system import core_routers

    m = chip.mesh
    r = core_routers(chip)
    xy = np.stack([r % m.width, r // m.width], axis=1)
    return np.vstack([xy, [[m.io_router_x, m.io_router_y]]]).astype(np.int32)


def hop_matrix(chip: ChipSpec) -> np.ndarray:
    """``int64[n_cores+1, n_cores]``: XY mesh hops from each core (host last) to each core."""
    xy = core_xy(chip).astype(np.int64)
    return np.abs(xy[:, None, :] - xy[None, :-1, :]).sum(axis=2)


# --------------------------------------------------------------------------- checks


def _fmt_total(chip: ChipSpec) -> str:
    c = chip.core
    return f"{chip.n_cores} cores × {c.max_neurons} neurons = {chip.n_cores * c.max_neurons} neurons"


def _precheck(chip: ChipSpec, net: Network, conn: Connectivity) -> None:
    c = chip.core
    for p in net.populations.values():
        if p.payload_bits > chip.noc.payload_bits:
            raise MappingError(f"population {p.name!r} sends {p.payload_bits}-bit payloads, wider than chip "
                               f"{chip.name!r} payload_bits = {chip.noc.payload_bits}"
                               + ("; its logits need that width: decode on the host (--decoder host)"
                                  if p.model == "readout" else ""))
    for q in net.projections:
        if q.accumulator >= c.n_accumulators:
            raise MappingError(f"projection {q.label} targets accumulator {q.accumulator}, but chip {chip.name!r} "
                               f"has {c.n_accumulators} accumulator(s) per neuron")
        if q.nnz:
            lo, hi = int(q.weights.data.min()), int(q.weights.data.max())
            if lo < c.weight_min or hi > c.weight_max:
                bad = lo if lo < c.weight_min else hi
                raise MappingError(f"projection {q.label} has weight {bad}, outside chip {chip.name!r} "
                                   f"weight_bits = {c.weight_bits} (signed range {c.weight_min}..{c.weight_max})")
    total = 0
    for p in net.populations.values():
        if p.is_host:
            continue
        total += p.n
        if total > chip.n_cores * c.max_neurons:
            raise MappingError(f"population {p.name!r} ({p.n} neurons) does not fit chip {chip.name!r}: "
                               f"{_fmt_total(chip)} ({total} neurons needed so far)")
    # a single neuron that no core can hold
    fan_in = np.diff(conn.pattern_in.indptr)
    need = core_bytes(chip, conn.in_nnz, fan_in)
    for arr, cap, what in ((fan_in, c.max_fan_in_axons, "fan-in axons (distinct sources)"),
                           (need, c.synapse_memory_bytes, "bytes of synapse memory")):
        bad = np.flatnonzero(arr > cap)
        if bad.size:
            g = int(bad[0])
            pop = list(net.populations)[conn.pop_of[g]]
            raise MappingError(f"population {pop!r} neuron {g - conn.offset[pop]} needs {int(arr[g])} {what}, "
                               f"but a core of chip {chip.name!r} has {cap}")


# --------------------------------------------------------------------------- filling


def _fill(chip: ChipSpec, net: Network, conn: Connectivity, order: np.ndarray, cores: np.ndarray,
          target: int | None = None) -> np.ndarray:
    """Assign neurons of ``order`` to ``cores`` in turn, moving on when the next neuron
    does not fit (or the core holds ``target`` neurons).  Returns ``int64[N]`` core per neuron."""
    c = chip.core
    limit = c.max_neurons if target is None else min(target, c.max_neurons)
    core_of = np.full(conn.n, chip.n_cores, np.int64)
    mark = np.full(conn.n, -1, np.int64)  # mark[s] == k: source s already has a row on the k-th filled core
    indptr, indices = conn.pattern_in.indptr, conn.pattern_in.indices
    k, n_here, nnz_here, rows_here = 0, 0, 0, 0
    sb, rpb, mem_bits = c.synapse_bits, c.row_pointer_bits, c.synapse_memory_bytes * 8
    for g in order:
        srcs = indices[indptr[g]:indptr[g + 1]]
        while True:
            new = srcs[mark[srcs] != k]
            fits = (n_here < limit and rows_here + new.size <= c.max_fan_in_axons
                    and (nnz_here + conn.in_nnz[g]) * sb + (rows_here + new.size) * rpb <= mem_bits)
            if fits:
                break
            k, n_here, nnz_here, rows_here = k + 1, 0, 0, 0
            if k >= cores.size:
                pop = list(net.populations)[conn.pop_of[g]]
                placed = int((core_of[conn.offset[pop]:conn.offset[pop] + net.populations[pop].n] < chip.n_cores).sum())
                raise MappingError(
                    f"population {pop!r} ({net.populations[pop].n} neurons) does not fit chip {chip.name!r}: "
                    f"{_fmt_total(chip)}, {c.synapse_memory_bytes} bytes of synapse memory and "
                    f"{c.max_fan_in_axons} fan-in axons per core; placed {placed} of its neurons")
        mark[new] = k
        core_of[g] = cores[k]
        n_here, nnz_here, rows_here = n_here + 1, nnz_here + conn.in_nnz[g], rows_here + new.size
    return core_of


def _rcm_order(conn: Connectivity) -> np.ndarray:
    sym = (conn.pattern + conn.pattern.T).tocsr()
    sym.data[:] = 1
    perm = reverse_cuthill_mckee(sym.astype(np.int32), symmetric_mode=True)[::-1]  # Cuthill-McKee order
    return perm[~conn.is_host[perm]].astype(np.int64)


def _cost(chip: ChipSpec, conn: Connectivity, core_of: np.ndarray) -> int:
    """Partition objective: sum over (source neuron, destination core) of (1 + XY hops)."""
    coo = conn.pattern.tocoo()
    pairs = np.unique(coo.row.astype(np.int64) * (chip.n_cores + 1) + core_of[coo.col])
    src, dcore = pairs // (chip.n_cores + 1), pairs % (chip.n_cores + 1)
    return int((hop_matrix(chip)[core_of[src], dcore] + 1).sum())


# --------------------------------------------------------------------------- entry point


def place(chip: ChipSpec | str, net: Network, strategy: str = "snake", seed: int = 0,
          workload=None, options=None, candidates: int = 1):
    """Place ``net`` on ``chip`` with a named strategy; raises :class:`MappingError` if it cannot fit.

    ``workload`` (:class:`nmsim.map.cost.Workload`): expected activity for ``balanced`` (default:
    every neuron sends every step); ``candidates > 1``: a list of the best ``balanced`` placements,
    best predicted first, followed (under an energy budget) by the best predictions with no budget and
    the conventional candidates not among them (``search["shortlist"]`` says why each is listed;
    ``nmsim.map.choose``).  ``options`` (:class:`nmsim.map.options.MapOptions` or a dict of
    ``map.*`` settings without the prefix): caps and core sets, honoured by ``snake`` and ``balanced``."""
    from nmsim.map.options import MapOptions, map_options

    chip = load_chip(chip)
    if strategy not in STRATEGIES:
        raise MappingError(f"placement strategy {strategy!r}; choices: {', '.join(STRATEGIES)}")
    opts = options if isinstance(options, MapOptions) else map_options(options)
    conn = connectivity(net)
    _precheck(chip, net, conn)
    opts.check(net, chip.n_cores)
    cores = snake_order(chip)
    search = None
    if strategy == "balanced" or (strategy == "snake" and opts.constrains):
        from nmsim.map.balanced import Filler, place_balanced
        from nmsim.map.cost import workload as make_workload

        wl = workload if workload is not None else make_workload(net, conn)
        if strategy == "snake":
            core_of = Filler(chip, net, conn, wl, opts, cores).fill_or_explain(np.flatnonzero(~conn.is_host))
        else:
            from nmsim.map.balanced import is_conventional, reorder
            from nmsim.map.options import resolve_objective

            ranked = place_balanced(chip, net, conn, wl, opts, cores)
            objective = resolve_objective(opts.objective, chip)
            budget = opts.energy_budget if objective == "latency" else None
            k = max(1, candidates)
            groups: dict = {i: ["objective"] for i in range(min(len(ranked), k))}
            if candidates > 1 and budget is not None:
                # the fastest predictions with no budget (the prediction's energy is a bound: the budget is
                # applied to the calibration replay's measurements) and the conventional candidates, which
                # set the budget's reference
                pos = {id(r): i for i, r in enumerate(ranked)}
                for r in reorder(chip, ranked, objective, None)[:k]:
                    groups.setdefault(pos[id(r)], []).append("latency")
                for i, (_, name, _) in enumerate(ranked):
                    if is_conventional(name):
                        groups.setdefault(i, []).append("conventional")
            picks = list(groups)
            out = []
            for i in picks:
                pred, name, co = ranked[i]
                search = {"chosen": name, "candidates": len(ranked),
                          "objective": objective + (" (auto)" if opts.objective == "auto" else ""),
                          "energy_budget": budget, "conventional": is_conventional(name),
                          "shortlist": groups[i],
                          "predicted_step_cycles": round(pred.step_cycles, 1),
                          "predicted_energy_pj_per_step": round(pred.energy_pj, 1), "activity": dict(wl.source)}
                pl = _summarise(chip, net, conn, co, strategy, seed)
                out.append(dataclasses.replace(pl, search=search, options=dict(opts.raw) or None))
            return out if candidates > 1 else out[0]
    elif strategy == "snake":
        core_of = snake_core_of(chip, net, conn, cores)
    else:
        if opts.constrains:
            raise MappingError("map.* limits apply to the snake and balanced placements, not to partition")
        core_of = partition_core_of(chip, net, conn, cores, seed)
    pl = _summarise(chip, net, conn, core_of, strategy, seed)
    return dataclasses.replace(pl, search=search, options=dict(opts.raw) or None)


def snake_core_of(chip: ChipSpec, net: Network, conn: Connectivity, cores: np.ndarray) -> np.ndarray:
    """The ``snake`` strategy's core per neuron: network order, packed, cores in ``cores`` (snake) order."""
    return _fill(chip, net, conn, np.flatnonzero(~conn.is_host), cores)


def partition_core_of(chip: ChipSpec, net: Network, conn: Connectivity, cores: np.ndarray, seed: int) -> np.ndarray:
    """The ``partition`` strategy's core per neuron: an RCM order filled packed and evenly, each
    refined by local moves, the one with fewer hop-weighted packets kept."""
    order = _rcm_order(conn)
    even = max(-(-order.size // max(chip.n_cores, 1)), 1)
    tries = [_refine(chip, conn, _fill(chip, net, conn, order, cores), seed)]  # packed
    try:  # spread evenly: more room for the refining moves, better load balance
        tries.append(_refine(chip, conn, _fill(chip, net, conn, order, cores, target=even), seed))
    except MappingError:
        pass
    return min(tries, key=lambda co: _cost(chip, conn, co))


def _summarise(chip, net, conn, core_of, strategy, seed) -> Placement:
    C = chip.n_cores
    neurons = np.bincount(core_of[~conn.is_host], minlength=C + 1)[:C].astype(np.int64)
    synapses = np.bincount(core_of, weights=conn.in_nnz, minlength=C + 1)[:C].astype(np.int64)
    coo = conn.pattern.tocoo()
    pairs = np.unique(coo.row.astype(np.int64) * (C + 1) + core_of[coo.col])
    rows = np.bincount(pairs % (C + 1), minlength=C + 1)[:C].astype(np.int64)
    per_pop = {}
    for name, off in conn.offset.items():
        arr = core_of[off:off + net.populations[name].n].astype(np.int32)
        arr.flags.writeable = False
        per_pop[name] = arr
    return Placement(chip.name, net.name, strategy, int(seed), C, MappingProxyType(per_pop), neurons, synapses, rows,
                     core_bytes(chip, synapses, rows), chip.core.max_neurons, chip.core.synapse_memory_bytes,
                     chip.core.max_fan_in_axons, core_xy(chip))


def traffic(chip: ChipSpec | str, net: Network, placement: Placement) -> dict:
    """Traffic if every neuron fired once: ``packets`` (one per (source, destination core))
    and ``hop_packets`` (sum of XY mesh hops over those packets)."""
    chip = load_chip(chip)
    conn = connectivity(net)
    core_of = np.concatenate([placement.core_of[p] for p in net.populations]).astype(np.int64)
    coo = conn.pattern.tocoo()
    pairs = np.unique(coo.row.astype(np.int64) * (chip.n_cores + 1) + core_of[coo.col])
    src, dcore = pairs // (chip.n_cores + 1), pairs % (chip.n_cores + 1)
    H = hop_matrix(chip)
    return {"packets": int(pairs.size), "hop_packets": int(H[core_of[src], dcore].sum())}


def place_manual(chip: ChipSpec | str, net: Network, core_of: Mapping[str, object]) -> Placement:
    """A placement given explicitly: ``core_of[pop]`` is a core index per neuron (or one
    index for the whole population).  Input populations stay on the host and may be
    omitted.  Capacities are checked as for the named strategies."""
    chip = load_chip(chip)
    conn = connectivity(net)
    _precheck(chip, net, conn)
    C = chip.n_cores
    full = np.full(conn.n, C, np.int64)
    for name in core_of:
        if name not in net.populations:
            raise MappingError(f"manual placement: unknown population {name!r}")
    for name, p in net.populations.items():
        off = conn.offset[name]
        if p.is_host:
            if name in core_of and np.any(np.asarray(core_of[name]) != C):
                raise MappingError(f"manual placement: input population {name!r} lives on the host (core {C})")
            continue
        if name not in core_of:
            raise MappingError(f"manual placement: no cores given for population {name!r}")
        arr = np.broadcast_to(np.asarray(core_of[name], dtype=np.int64), (p.n,))
        if ((arr < 0) | (arr >= C)).any():
            raise MappingError(f"manual placement: population {name!r} uses a core outside 0..{C - 1} of chip {chip.name!r}")
        full[off:off + p.n] = arr
    pl = _summarise(chip, net, conn, full, "manual", 0)
    c = chip.core
    for arr, cap, what in ((pl.neurons, c.max_neurons, "neurons"), (pl.rows, c.max_fan_in_axons, "fan-in axons"),
                           (pl.bytes, c.synapse_memory_bytes, "bytes of synapse memory")):
        bad = np.flatnonzero(arr > cap)
        if bad.size:
            k = int(bad[0])
            raise MappingError(f"manual placement: core {k} holds {int(arr[k])} {what}, chip {chip.name!r} allows {cap}")
    return pl
