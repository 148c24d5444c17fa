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
Every step of a cycle but the grant itself (start, next cycle, phase 1, the choice of what a dirty link
grants, slot returns, forwarding, synapse service, the follow-up TRY) is a piece of
:mod:`nmsim.sim.event_parts` shared with :func:`nmsim.sim.events.run_events`; only the grant step
differs, so this loop is a sibling of that one rather than a branch inside it.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from nmsim.compile.compiled import T
from nmsim.describe.actions import A
from nmsim.jit import JIT
from nmsim.sim.event_layout import _OK, LT_LAT, PK_F, WL_BUF
from nmsim.sim.event_parts import (_U0, apply_cycle, choose, follow_up, forward, loop_start, next_cycle, occupy,
                                   pop_dirty, release_slot, serve)
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
    wl, dbits = ws.link, ws.dbits
    tree_ptr, node_link, node_parent, node_cost = mc.tree_ptr, mc.node_link, mc.node_parent, mc.node_cost
    child_ptr, child = mc.child_ptr, mc.child
    pk_g, node_base, rem = st.pk_g, st.node_base, st.rem
    NL = link_tab.shape[0]
    C = inj_ptr.shape[0] - 2
    inj0 = 4 * next_link.shape[0]
    ej0 = inj0 + C + 1
    ej1 = ej0 + C + 1  # channels from ej1 on: virtual channel 1 of the mesh links (2-D boards)
    cap = ws.wq.shape[0] // NL
    W = ws.bucket.shape[0]
    mask = W - 1
    free_head, far_n, pending = loop_start(out_link_busy, out_syn_free, pk, inj_ptr, inj_list, ws, NL, inj0, W, mask)
    if ws.err[0] != _OK:
        return ws.err[0]
    has_next = False
    t = np.int64(0)
    nwords = dbits.shape[0]
    while pending > 0 or far_n > 0 or has_next:
        t = next_cycle(ws, t, pending, far_n, has_next, mask, NL)
        free_head, pending, far_n = apply_cycle(ws, link_tab, t, free_head, pending, far_n, has_next, cap, mask,
                                                depth, ej0, NL)
        has_next = False
        for w in range(nwords):
            while dbits[np.uint64(w)] != _U0 and ws.err[0] == _OK:
                L = pop_dirty(dbits, w, rank_link)
                p, j, b, free_head, far_n, pending, has_next = choose(
                    ws, link_tab, pk, inj_ptr, inj_list, t, L, free_head, far_n, pending, has_next, cap, W, mask, NL,
                    inj0, ej0, ej1)
                if p < 0:
                    continue
                if j < 0:  # from its send queue: the tree's root node
                    j = 0
                # grant copy (p, node j) on link L at cycle t
                g0 = tree_ptr[np.uint64(pk_g[np.uint64(p)])]
                nb0 = node_base[np.uint64(p)]
                occupy(ws, link_tab, out_link_busy, t, L, 0)  # one value per packet: no readout flits
                if b >= 0:  # one copy leaves the buffer; the slot goes back when the last one has left
                    par = nb0 + node_parent[np.uint64(g0 + j)]
                    rem[np.uint64(par)] -= 1
                    if rem[np.uint64(par)] == 0:
                        has_next = release_slot(ws, link_tab, b, has_next)
                if trace:
                    st.grant[np.uint64(nb0 + j)] = t
                uL = np.uint64(L)
                lat = link_tab[uL, LT_LAT]
                if ej0 <= L < ej1:
                    start = serve(out_syn_free, L - ej0, t + lat, node_cost[np.uint64(g0 + j)])
                    if trace:
                        st.arrival[np.uint64(nb0 + j)] = t + lat
                        st.syn_start[np.uint64(nb0 + j)] = start
                        st.syn_end[np.uint64(nb0 + j)] = out_syn_free[np.uint64(L - ej0)]
                else:
                    wl[uL, WL_BUF] += 1
                    n0, n1 = child_ptr[np.uint64(g0 + j)], child_ptr[np.uint64(g0 + j + 1)]
                    rem[np.uint64(nb0 + j)] = n1 - n0
                    for ci in range(n0, n1):
                        ch = child[np.uint64(ci)]
                        free_head, pending = forward(ws, link_tab, free_head, pending, t, lat,
                                                     node_link[np.uint64(g0 + ch)], (p << 32) | (ch << 16) | (L + 1),
                                                     cap, mask, depth, ej0)
                free_head, far_n, pending, has_next = follow_up(ws, link_tab, pk, inj_ptr, inj_list, t, L, free_head,
                                                                far_n, pending, has_next, W, mask, NL, inj0, ej0, ej1)
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
