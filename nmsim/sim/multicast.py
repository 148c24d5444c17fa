"""Multicast routing in the engine (``docs/engine-model.md`` §2.6): packets and the event loop of one step.

With ``CompiledModel.multicast`` a firing neuron ``g`` (with at least one route) sends one packet, numbered
in ``seq`` order ``(f_g, source core, g)``; the packet follows its XY tree (:mod:`nmsim.compile.multicast`)
and is replicated where the tree branches.  Arbitration is that of :mod:`nmsim.sim.events` (same links,
ranks, buffers, synapse units, tie-breaking by ``seq``), with three differences:

- a packet waiting in a router input buffer requests every child link of its tree node at once (each copy
  competes on its own link, independently of the others);
- the buffer slot is handed back when the *last* copy leaves (usable again from the next cycle);
- each ejection node is a delivery to its core, served by its synapse unit as a unicast packet is.

In flight a copy is the key ``p << 32 | local node << 16 | (buf + 1)``: waiting heaps still order by
``seq`` (two copies of one packet never wait on the same link); a tree holds each link at most once, so
its local node indices stay below ``n_links < 2**16`` (``nmsim.describe.limits.MAX_LINKS``).
The helpers (heaps, wheel, dirty bits)
are those of :mod:`nmsim.sim.events`; only the grant step differs, so this loop is a sibling of
:func:`nmsim.sim.events.run_events` rather than a branch inside it.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from nmsim.compile.compiled import T
from nmsim.describe.actions import A
from nmsim.jit import JIT
from nmsim.sim.events import (_CTZ, _DEBRUIJN, _OK, _U0, _U58, LT_DEPTH, LT_LAT, LT_OCC, LT_PHYS, LT_RANK, LT_SIB, LT_STEP, NIL,
                              PK_F, WL_BUF, WL_NEXT, WL_TRY, WL_WQN, _mark, _request, _try_at, _wheel_push, heap_pop,
                              heap_push)
from nmsim.sim.timing import _stable_argsort_runs

_T_RECV, _T_READ, _T_FLITS = T["packet_receive_cycles"], T["synapse_read_cycles"], T["flits_per_packet"]
_A_SEND, _A_IO, _A_EW, _A_NS = A["packet_send"], A["io_packet"], A["flit_hop_east_west"], A["flit_hop_north_south"]
_A_DELIV, _A_RECV, _A_READ, _A_SYNOP = A["local_delivery"], A["packet_receive"], A["synapse_read"], A["synaptic_op"]
_A_REPL, _A_LOOKUP, _A_CHIP = A["multicast_replication"], A["routing_table_lookup"], A["flit_hop_chip"]


class McTables(NamedTuple):
    """Per-model constants of multicast routing (:func:`mc_tables`); static node ``n`` as in ``Trees``."""

    tree_ptr: np.ndarray  #: int64[N+1]
    node_link: np.ndarray  #: int64[n_nodes]
    node_parent: np.ndarray  #: int64[n_nodes]: local index of the parent (-1: root)
    node_cost: np.ndarray  #: int64[n_nodes]: synapse-unit cycles of an ejection node (0 elsewhere / host)
    child_ptr: np.ndarray  #: int64[n_nodes+1]
    child: np.ndarray  #: int64[n_nodes]: local indices
    node_col: np.ndarray  #: int64[n_nodes]: counter (action) of a mesh node's flit hops; -1: injection/ejection


class McStep(NamedTuple):
    """Per-step multicast arrays (grown by the engine): packet -> neuron, node offsets, copies left."""

    pk_g: np.ndarray  #: int64[>= n]: source neuron of packet ``p``
    node_base: np.ndarray  #: int64[>= n+1]: step node ids of packet ``p`` are ``node_base[p] + local``
    rem: np.ndarray  #: int64[>= nodes]: copies of a node not yet granted on their child links
    grant: np.ndarray  #: int64[>= nodes if traced]: grant cycle of each step node (trace only)
    arrival: np.ndarray  #: int64[>= nodes if traced]: ejection nodes: arrival ``a``
    syn_start: np.ndarray  #: int64[>= nodes if traced]
    syn_end: np.ndarray  #: int64[>= nodes if traced]


def mc_tables(model, trees) -> McTables:
    """:class:`McTables` of ``model`` from its ``Trees`` (synapse cost per ejection node from the timing)."""
    tim = model.timing
    cost = np.zeros(trees.node_link.shape[0], np.int64)
    leaf = trees.node_route >= 0
    row = model.route_row[trees.node_route[leaf]]
    cost[leaf] = np.where(row >= 0, int(tim[_T_RECV]) + model.row_n_reads[np.maximum(row, 0)] * int(tim[_T_READ]), 0)
    R, NL = model.n_routers, model.n_links
    phys = np.where(trees.node_link >= NL, trees.node_link - NL, trees.node_link)  # VC 1 channel -> its link
    mesh = phys < 4 * R
    col = np.where(phys % 4 < 2, _A_EW, _A_NS)
    if "system" in model.meta:  # chip-to-chip hops are counted apart (nmsim.sim.board_routes)
        from nmsim.sim.board_routes import crossing

        col = np.where(crossing(model.meta["system"])[np.where(mesh, phys, 0)], _A_CHIP, col)
    node_col = np.where(mesh, col, -1).astype(np.int64)
    return McTables(trees.tree_ptr, trees.node_link, trees.node_parent, cost, trees.child_ptr, trees.child, node_col)


@numba.njit(**JIT)
def mc_build_packets(out_counters, out_pk, out_inj_ptr, out_inj_list, out_pk_g, out_node_base, fired_list,
                     n_fired, finish, neuron_core, route_ptr, route_core, route_row, row_ptr, row_n_reads,
                     tree_ptr, node_col, child_ptr, timing):
    """Multicast packets of one step in ``seq`` order and their counters (§2.6, §3); returns ``n_pk``.

    Inputs as :func:`nmsim.sim.timing.build_packets` (``fired_list`` ascending, stably sorted by ``f_g``:
    ``(f_g, core, g)`` order), plus the trees (:class:`McTables`).  Outputs as ``build_packets`` (``out_pk``
    only ``PK_F``), plus ``out_pk_g int64[n_pk]`` and
    ``out_node_base int64[n_pk+1]``.  Counters: one ``packet_send`` / ``io_packet`` per packet, flit hops per
    mesh link of the tree (its ``node_col``: east-west, north-south or chip-to-chip), ``routing_table_lookup`` per router the packet enters (source router included),
    ``multicast_replication`` per extra copy (children - 1 at each router), all at the sending core; per
    destination the counts of a unicast delivery."""
    C = out_counters.shape[0] - 1
    flits = timing[_T_FLITS]
    out_inj_ptr[:] = 0
    for j in range(n_fired):
        g = fired_list[j]
        if route_ptr[g + 1] > route_ptr[g]:
            out_inj_ptr[neuron_core[g] + 1] += 1
    for c in range(C + 1):
        out_inj_ptr[c + 1] += out_inj_ptr[c]
    cursor = out_inj_ptr[:-1].copy()
    f = np.empty(n_fired, dtype=np.int64)
    for j in range(n_fired):
        f[j] = finish[fired_list[j]]
    order = _stable_argsort_runs(f)
    p = 0
    out_node_base[0] = 0
    for j in range(n_fired):
        g = fired_list[order[j]]
        if route_ptr[g + 1] == route_ptr[g]:
            continue
        s = neuron_core[g]
        out_pk[p, PK_F] = finish[g]
        out_pk_g[p] = g
        out_inj_list[cursor[s]] = p
        cursor[s] += 1
        out_counters[s, _A_IO if s == C else _A_SEND] += 1
        for n in range(tree_ptr[g], tree_ptr[g + 1]):
            nch = child_ptr[n + 1] - child_ptr[n]
            if nch > 0:  # the packet is in a router (injection or mesh link): one look-up, nch - 1 copies
                out_counters[s, _A_LOOKUP] += 1
                out_counters[s, _A_REPL] += nch - 1
            if node_col[n] >= 0:  # a mesh hop: east-west, north-south or chip-to-chip
                out_counters[s, node_col[n]] += flits
        for k in range(route_ptr[g], route_ptr[g + 1]):
            d, row = route_core[k], route_row[k]
            if d == C:
                out_counters[C, _A_IO] += 1
            else:
                out_counters[d, _A_DELIV] += 1
                out_counters[d, _A_RECV] += 1
                out_counters[d, _A_READ] += row_n_reads[row]
                out_counters[d, _A_SYNOP] += row_ptr[row + 1] - row_ptr[row]
        out_node_base[p + 1] = out_node_base[p] + tree_ptr[g + 1] - tree_ptr[g]
        p += 1
    return p


@numba.njit(_nrt=False, **JIT)
def run_events_mc(out_link_busy, out_syn_free, packets, links, ws, mc, st, trace):
    """:func:`nmsim.sim.events.run_events` for multicast packets (module docstring); returns an ``EventError``.

    ``packets``/``links``/``ws`` as there (``packets.pk`` only ``PK_F``); ``mc``: :class:`McTables`;
    ``st``: :class:`McStep` of this step; ``trace``: fill ``st.grant/arrival/syn_start/syn_end``."""
    pk, inj_ptr, inj_list = packets.pk, packets.inj_ptr, packets.inj_list
    link_tab, rank_link, next_link = links.link_tab, links.rank_link, links.next_link
    depth = links.depth
    wl, dbits, dnext, bucket, far, inj_head = ws.link, ws.dbits, ws.dnext, ws.bucket, ws.far, ws.inj_head
    tree_ptr, node_link, node_parent, node_cost = mc.tree_ptr, mc.node_link, mc.node_parent, mc.node_cost
    child_ptr, child = mc.child_ptr, mc.child
    pk_g, node_base, rem = st.pk_g, st.node_base, st.rem
    NL = link_tab.shape[0]
    C = inj_ptr.shape[0] - 2
    inj0 = 4 * next_link.shape[0]
    ej0 = inj0 + C + 1
    ej1 = ej0 + C + 1  # channels from ej1 on: virtual channel 1 of the mesh links (2-D boards)
    cap = ws.wq.shape[0] // NL
    W = bucket.shape[0]
    mask = W - 1
    ws.err[0] = _OK
    for L in range(NL):
        wl[np.uint64(L), WL_NEXT] = 0
        wl[np.uint64(L), WL_TRY] = -1
        wl[np.uint64(L), WL_BUF] = 0
        wl[np.uint64(L), WL_WQN] = 0
    for L in range(out_link_busy.shape[0]):  # per physical link (channels may be more)
        out_link_busy[L] = 0
    dbits[:] = 0
    dnext[:] = 0
    has_next = False
    bucket[:] = NIL
    npool = ws.ev_next.shape[0]
    for e in range(npool):
        ws.ev_next[e] = e + 1
    ws.ev_next[npool - 1] = NIL
    free_head = 0
    far_n = 0
    t = np.int64(0)
    for c in range(C + 1):
        out_syn_free[c] = 0
        inj_head[c] = inj_ptr[c]
        if inj_ptr[c] < inj_ptr[c + 1]:
            x = pk[inj_list[inj_ptr[c]], PK_F]
            wl[inj0 + c, WL_TRY] = x
            if x < W:
                free_head = _wheel_push(ws, free_head, x & mask, inj0 + c, -1)
            else:
                far_n = heap_push(far, 0, far_n, x * NL + inj0 + c)
    if ws.err[0] != _OK:
        return ws.err[0]
    pending = 0
    for c in range(C + 1):
        if inj_ptr[c] < inj_ptr[c + 1] and pk[inj_list[inj_ptr[c]], PK_F] < W:
            pending += 1
    nwords = dbits.shape[0]

    while pending > 0 or far_n > 0 or has_next:
        if pending == 0 and not has_next:
            t = far[0] // NL
        elif not has_next:
            while bucket[np.uint64(t & mask)] < 0 and (far_n == 0 or far[0] >= (t + 1) * NL):
                t += 1
        if has_next:
            for w in range(nwords):
                dbits[np.uint64(w)] |= dnext[np.uint64(w)]
                dnext[np.uint64(w)] = _U0
            has_next = False
        slot = t & mask
        e = bucket[np.uint64(slot)]
        bucket[np.uint64(slot)] = NIL
        while e >= 0:
            nxt, L, q = ws.ev_next[np.uint64(e)], ws.ev_link[np.uint64(e)], ws.ev_pk[np.uint64(e)]
            ws.ev_next[np.uint64(e)] = free_head
            free_head = e
            pending -= 1
            e = nxt
            if q < 0:
                _mark(dbits, link_tab[np.uint64(L), LT_RANK])
                continue
            free_head, pushed = _request(ws, link_tab, free_head, t, L, q, cap, mask, depth, ej0)
            pending += pushed
            if ws.err[0] != _OK:
                break
        while far_n > 0 and far[0] < (t + 1) * NL:
            L = heap_pop(far, 0, far_n) % NL
            far_n -= 1
            _mark(dbits, link_tab[np.uint64(L), LT_RANK])
        c = 0
        for w in range(nwords):
            while dbits[np.uint64(w)] != _U0 and ws.err[0] == _OK:
                bits = dbits[np.uint64(w)]
                low = bits & (_U0 - bits)
                dbits[np.uint64(w)] = bits ^ low
                L = rank_link[np.uint64(w * 64 + _CTZ[(low * _DEBRUIJN) >> _U58])]
                uL = np.uint64(L)
                uP = np.uint64(link_tab[uL, LT_PHYS])  # its physical link (itself but for VC 1)
                inj = inj0 <= L < ej0
                if inj:
                    c = L - inj0
                    h = inj_head[np.uint64(c)]
                    if h >= inj_ptr[np.uint64(c + 1)]:
                        continue
                    p = inj_list[np.uint64(h)]
                    j = 0  # the root node
                    b = -1
                    if wl[uL, WL_BUF] >= link_tab[uL, LT_DEPTH]:
                        continue
                    x = max(wl[uL, WL_NEXT], pk[np.uint64(p), PK_F])
                    if x > t:
                        if wl[uL, WL_TRY] != x:
                            free_head, far_n, ne, nb = _try_at(ws, link_tab, free_head, far_n, t, L, x, W, mask, NL)
                            pending += ne
                            has_next = has_next or nb
                        continue
                    inj_head[np.uint64(c)] = h + 1
                else:
                    nw = wl[uL, WL_WQN]
                    if nw == 0:
                        continue
                    x = wl[uP, WL_NEXT]
                    if t < x:
                        if wl[uL, WL_TRY] != x:
                            free_head, far_n, ne, nb = _try_at(ws, link_tab, free_head, far_n, t, L, x, W, mask, NL)
                            pending += ne
                            has_next = has_next or nb
                        continue
                    if (L < inj0 or L >= ej1) and wl[uL, WL_BUF] >= link_tab[uL, LT_DEPTH]:
                        continue
                    sb = link_tab[uL, LT_SIB]
                    if sb >= 0 and link_tab[np.uint64(sb), LT_RANK] > link_tab[uL, LT_RANK]:
                        uS = np.uint64(sb)  # the sibling VC, visited later this cycle: does it hold an older copy?
                        if wl[uS, WL_WQN] > 0 and wl[uS, WL_BUF] < link_tab[uS, LT_DEPTH] and \
                                ws.wq[np.uint64(sb * cap)] < \
                                ws.wq[np.uint64(L * cap)]:
                            _mark(dbits, link_tab[uS, LT_RANK])
                            free_head, far_n, ne, nb = _try_at(ws, link_tab, free_head, far_n, t, L, t + 1, W, mask,
                                                               NL)
                            pending += ne
                            has_next = has_next or nb
                            continue
                    q = heap_pop(ws.wq, L * cap, nw)
                    wl[uL, WL_WQN] = nw - 1
                    p, j, b = q >> 32, (q >> 16) & 0xFFFF, (q & 0xFFFF) - 1
                # grant copy (p, node j) on link L at cycle t
                g0 = tree_ptr[np.uint64(pk_g[np.uint64(p)])]
                nb0 = node_base[np.uint64(p)]
                wl[uP, WL_NEXT] = t + link_tab[uL, LT_STEP]
                out_link_busy[uP] += link_tab[uL, LT_OCC]
                if b >= 0:  # one copy leaves the buffer; the slot goes back when the last one has left
                    par = nb0 + node_parent[np.uint64(g0 + j)]
                    rem[np.uint64(par)] -= 1
                    if rem[np.uint64(par)] == 0:
                        if wl[np.uint64(b), WL_BUF] == link_tab[np.uint64(b), LT_DEPTH]:
                            _mark(dnext, link_tab[np.uint64(b), LT_RANK])
                            has_next = True
                        wl[np.uint64(b), WL_BUF] -= 1
                if trace:
                    st.grant[np.uint64(nb0 + j)] = t
                lat = link_tab[uL, LT_LAT]
                if ej0 <= L < ej1:
                    d = L - ej0
                    a = t + lat
                    start = max(a, out_syn_free[np.uint64(d)])
                    out_syn_free[np.uint64(d)] = start + node_cost[np.uint64(g0 + j)]
                    if trace:
                        st.arrival[np.uint64(nb0 + j)] = a
                        st.syn_start[np.uint64(nb0 + j)] = start
                        st.syn_end[np.uint64(nb0 + j)] = out_syn_free[np.uint64(d)]
                else:
                    wl[uL, WL_BUF] += 1
                    n0, n1 = child_ptr[np.uint64(g0 + j)], child_ptr[np.uint64(g0 + j + 1)]
                    rem[np.uint64(nb0 + j)] = n1 - n0
                    for ci in range(n0, n1):
                        ch = child[np.uint64(ci)]
                        L2 = node_link[np.uint64(g0 + ch)]
                        q2 = (p << 32) | (ch << 16) | (L + 1)
                        if lat == 0:
                            free_head, pushed = _request(ws, link_tab, free_head, t, L2, q2, cap, mask, depth, ej0)
                            pending += pushed
                        else:
                            free_head = _wheel_push(ws, free_head, (t + lat) & mask, L2, q2)
                            pending += 1
                if not (ej0 <= L < ej1) and wl[uL, WL_BUF] >= link_tab[uL, LT_DEPTH]:
                    pass
                elif inj:
                    h = inj_head[np.uint64(c)]
                    if h < inj_ptr[np.uint64(c + 1)]:
                        x = max(wl[uL, WL_NEXT], pk[np.uint64(inj_list[np.uint64(h)]), PK_F])
                        free_head, far_n, ne, nb = _try_at(ws, link_tab, free_head, far_n, t, L, x, W, mask, NL)
                        pending += ne
                        has_next = has_next or nb
                elif wl[uL, WL_WQN] > 0:
                    free_head, far_n, ne, nb = _try_at(ws, link_tab, free_head, far_n, t, L, wl[uP, WL_NEXT], W,
                                                       mask, NL)
                    pending += ne
                    has_next = has_next or nb
        if ws.err[0] != _OK:
            return ws.err[0]
        t += 1
    return _OK


def delivery_trace(model, mc: McTables, st: McStep, n_pk: int, neuron_core: np.ndarray, step: int):
    """A :class:`~nmsim.sim.result.PacketTrace` of one multicast step, one row per delivery (packet ``seq``,
    route ``k``) with the links and grant cycles of its root-to-leaf path in the tree."""
    from nmsim.sim.result import PacketTrace

    ej0 = 4 * model.n_routers + model.n_cores + 1
    NL = model.n_links  # channels NL + L: virtual channel 1 of mesh link L (traces list physical links)
    rows = []
    for p in range(n_pk):
        g = int(st.pk_g[p])
        g0, nb = int(mc.tree_ptr[g]), int(st.node_base[p])
        k = int(model.route_ptr[g]) - 1  # leaves come in route order (nmsim.compile.multicast)
        for j in range(int(mc.tree_ptr[g + 1]) - g0):
            if not ej0 <= mc.node_link[g0 + j] < NL:
                continue
            k += 1
            path, i = [], j
            while i >= 0:
                path.append(i)
                i = int(mc.node_parent[g0 + i])
            path.reverse()
            rows.append((p, g, k, [int(mc.node_link[g0 + i]) % NL for i in path], [int(st.grant[nb + i]) for i in path],
                         int(st.arrival[nb + j]), int(st.syn_start[nb + j]), int(st.syn_end[nb + j])))
    ptr = np.zeros(len(rows) + 1, np.int64)
    ptr[1:] = np.cumsum([len(r[3]) for r in rows])
    col = (lambda i: np.array([r[i] for r in rows], np.int64))  # noqa: E731
    flat = (lambda i, dt: np.array([v for r in rows for v in r[i]], dt))  # noqa: E731
    src, route = col(1), col(2)
    return PacketTrace(step=np.full(len(rows), step, np.int64), seq=col(0), src_neuron=src, route=route,
                       src_core=neuron_core[src], dst_core=model.route_core[route].astype(np.int32), link_ptr=ptr,
                       link=flat(3, np.int32), grant=flat(4, np.int64), arrival=col(5), syn_start=col(6),
                       syn_end=col(7))


def new_step_arrays(n_pk: int, n_nodes: int, trace: bool) -> McStep:
    """:class:`McStep` for up to ``n_pk`` packets and ``n_nodes`` step nodes."""
    nt = max(n_nodes, 1) if trace else 1
    z = lambda n: np.zeros(max(n, 1), np.int64)  # noqa: E731
    return McStep(z(n_pk), z(n_pk + 1), z(n_nodes), z(nt), z(nt), z(nt), z(nt))


__all__ = ["McTables", "McStep", "mc_tables", "mc_build_packets", "run_events_mc", "new_step_arrays",
           "delivery_trace"]
