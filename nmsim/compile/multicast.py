"""Multicast XY trees and routing-table entries (``docs/engine-model.md`` §2.6).

With ``noc.routing = "multicast"`` a firing neuron sends *one* packet, which follows the union of the XY
(dimension-order: X first, then Y; on a board of chips the board routes, ``docs/systems.md``) paths from its
core to every destination core of its routes and is
replicated at each router where that tree branches.  The tree of every source neuron is fixed by the
placement, so it is built here once, as flat arrays over *tree nodes*: one node per link of the tree
(injection link first, then mesh links, then one ejection link per destination), numbered per neuron in
the order the XY paths of its routes (destination cores ascending) first reach them.

:func:`build_trees` makes the arrays (:class:`Trees`); :func:`table_entries` counts routing-table entries
per router and :func:`check_table_capacity` raises a one-line :class:`~nmsim.errors.MappingError` when a
router needs more than the chip's ``noc.routing_table_entries``.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from nmsim.errors import MappingError
from nmsim.jit import JIT

#: Port ids (as :mod:`nmsim.compile.compiled`; repeated here as plain ints for the kernel).
_E, _W, _N, _S = 0, 1, 2, 3


class Trees(NamedTuple):
    """Multicast trees of every neuron; node ``j`` of neuron ``g`` is static node ``tree_ptr[g] + j``."""

    tree_ptr: np.ndarray  #: int64[N+1]
    node_link: np.ndarray  #: int64[n_nodes]: link id of the node (injection, mesh or ejection)
    node_parent: np.ndarray  #: int64[n_nodes]: parent's local index (-1: the root, the injection link)
    node_route: np.ndarray  #: int64[n_nodes]: route index ``k`` of an ejection node, else -1
    child_ptr: np.ndarray  #: int64[n_nodes+1]: children of static node ``n`` are ...
    child: np.ndarray  #: int64[n_nodes]: ... ``child[child_ptr[n]:child_ptr[n+1]]`` (local indices, ascending)


@numba.njit(**JIT)
def _xy_hop(x, y, xd, yd, width):
    """One XY (east-west first) hop from router ``(x, y)`` toward ``(xd, yd)``: ``(link, x', y')``,
    link = ``4 * router + port``."""
    r = y * width + x
    if x != xd:
        port = _E if xd > x else _W
        x += 1 if xd > x else -1
    else:
        port = _N if yd > y else _S
        y += 1 if yd > y else -1
    return 4 * r + port, x, y


@numba.njit(**JIT)
def _hop(x, y, xd, yd, width, nxt, down):
    """One hop from router ``(x, y)`` toward ``(xd, yd)``: ``(link, x', y')``; XY when ``nxt`` is empty, else along
    the routing table ``nxt [R, R]`` (a board's routes, :mod:`nmsim.sim.board_routes`) with ``down [4R]``."""
    if nxt.shape[0] == 0:
        return _xy_hop(x, y, xd, yd, width)
    r = y * width + x
    L = nxt[r, yd * width + xd]
    r2 = down[L]
    return L, r2 % width, r2 // width


@numba.njit(**JIT)
def _walk(count_only, out_link, out_parent, out_route, seen, tree_ptr, route_ptr, route_core, neuron_core,
          core_router, width, n_routers, n_cores, nxt, down, vc, out_vc):
    """One pass over every neuron's routes; returns the number of nodes (``count_only``) or fills the arrays;
    -1 - g if neuron ``g``'s paths do not form a tree (two paths reach one link from different links).

    ``seen int64[n_links]`` (all -1 on entry and exit): local node index + 0 of each link already in the
    current neuron's tree.  ``nxt``/``down``: a board's routing table and link ends (empty: XY on one chip);
    ``vc [R, R]`` (empty: none): the virtual channel of each hop; ``out_vc`` gets each node's smallest."""
    N = route_ptr.shape[0] - 1
    total = 0
    for g in range(N):
        if route_ptr[g + 1] == route_ptr[g]:
            if not count_only:
                tree_ptr[g + 1] = total
            continue
        s = neuron_core[g]
        base = total
        n = 0
        root = 4 * n_routers + s
        if not count_only:
            out_link[base], out_parent[base], out_route[base] = root, -1, -1
        n = 1
        rs = core_router[s]
        for k in range(route_ptr[g], route_ptr[g + 1]):
            d = route_core[k]
            rd = core_router[d]
            x, y, xd, yd = rs % width, rs // width, rd % width, rd // width
            cur = 0  # local index of the node the walk is at
            while x != xd or y != yd:
                r0 = y * width + x
                L, x, y = _hop(x, y, xd, yd, width, nxt, down)
                if seen[L] < 0:
                    seen[L] = n
                    if not count_only:
                        out_link[base + n], out_parent[base + n], out_route[base + n] = L, cur, -1
                        if vc.shape[0] > 0:
                            out_vc[base + n] = 1
                    n += 1
                elif not count_only and out_parent[base + seen[L]] != cur:
                    return -1 - g
                if not count_only and vc.shape[0] > 0:
                    out_vc[base + seen[L]] = min(out_vc[base + seen[L]], vc[r0, rd])
                cur = seen[L]
            if not count_only:
                out_link[base + n] = 4 * n_routers + n_cores + 1 + d
                out_parent[base + n], out_route[base + n] = cur, k
            n += 1
        # reset the scratch marks of this tree
        for k in range(route_ptr[g], route_ptr[g + 1]):
            d = route_core[k]
            rd = core_router[d]
            x, y, xd, yd = rs % width, rs // width, rd % width, rd // width
            while x != xd or y != yd:
                L, x, y = _hop(x, y, xd, yd, width, nxt, down)
                seen[L] = -1
        total = base + n
        if not count_only:
            tree_ptr[g + 1] = total
    return total


def build_trees(model) -> Trees:
    """The multicast tree of every neuron of a :class:`~nmsim.compile.compiled.CompiledModel`: the union of the
    XY paths of its routes, or on a board (``model.meta["system"]``) of its board routes
    (:mod:`nmsim.sim.board_routes`).  On a 2-D board a tree node's link is a *channel*: virtual channel 1
    (``n_links + L``) when every route below the node takes VC 1 there, else VC 0 (``L``): the smallest class
    of the routes that share it, so a tree's classes never go down from root to leaf and its dependencies are
    those of the unicast routes (``docs/systems.md``)."""
    C, R = model.n_cores, model.n_routers
    neuron_core = np.repeat(np.arange(C + 1), np.diff(model.core_neuron_ptr)).astype(np.int64)
    core_router = model.core_router.astype(np.int64)
    route_core = model.route_core.astype(np.int64)
    seen = np.full(model.n_links, -1, np.int64)
    tree_ptr = np.zeros(model.n_neurons + 1, np.int64)
    z = np.zeros(1, np.int64)
    z2 = np.zeros((0, 0), np.int64)
    nxt, down, vc = z2, z, z2
    g = model.meta.get("system")
    if g is not None:
        from nmsim.sim import board_routes as br

        nxt, down = br.next_links(g), br.link_down(g)
        vc = br.vc_classes(g) if br.n_vcs(g) > 1 else z2
    n = _walk(True, z, z, z, seen, tree_ptr, model.route_ptr, route_core, neuron_core, core_router,
              model.width, R, C, nxt, down, vc, z)
    link, parent, route = (np.zeros(n, np.int64) for _ in range(3))
    node_vc = np.zeros(n, np.int64)
    bad = _walk(False, link, parent, route, seen, tree_ptr, model.route_ptr, route_core, neuron_core, core_router,
                model.width, R, C, nxt, down, vc, node_vc)
    if bad < 0:
        raise MappingError(f"neuron {-1 - bad}: its multicast routes on the board join again after they split, so "
                           "they form no tree (not modelled)")
    link = np.where(node_vc == 1, model.n_links + link, link)  # VC 1 of mesh link L is channel n_links + L
    # children CSR over static nodes: parent's static id = tree_ptr[g] + parent local
    owner = np.repeat(np.arange(model.n_neurons), np.diff(tree_ptr))
    has_p = parent >= 0
    pstatic = tree_ptr[owner[has_p]] + parent[has_p]
    child_ptr = np.zeros(n + 1, np.int64)
    child_ptr[1:] = np.cumsum(np.bincount(pstatic, minlength=n))
    local = np.arange(n, dtype=np.int64) - tree_ptr[owner]
    order = np.lexsort((local[has_p], pstatic))  # by parent, then child local index
    child = np.ascontiguousarray(local[has_p][order])
    return Trees(tree_ptr, link, parent, route, child_ptr, child)


def table_entries(model, trees: Trees | None = None) -> np.ndarray:
    """``int64[n_routers]``: routing-table entries each router needs under multicast routing.

    One entry per (source core, destination-core set) whose tree enters the router (its source router and
    the router at the far end of each of its mesh links): the neurons of a core that send to the same
    cores share one key/mask entry, as SpiNNaker's population routing keys do."""
    trees = build_trees(model) if trees is None else trees
    C, R = model.n_cores, model.n_routers
    neuron_core = np.repeat(np.arange(C + 1), np.diff(model.core_neuron_ptr))
    seen: set = set()
    need = np.zeros(R, np.int64)
    for g in np.flatnonzero(np.diff(model.route_ptr)):
        key = (int(neuron_core[g]), model.route_core[model.route_ptr[g]:model.route_ptr[g + 1]].tobytes())
        if key in seen:
            continue
        seen.add(key)
        links = trees.node_link[trees.tree_ptr[g]:trees.tree_ptr[g + 1]]
        links = np.where(links >= model.n_links, links - model.n_links, links)  # VC 1 channels -> their links
        mesh = links[links < 4 * R]
        routers = np.unique(np.append(mesh // 4 + _offset(mesh % 4, model.width), model.core_router[neuron_core[g]]))
        need[routers] += 1
    return need


def _offset(port: np.ndarray, width: int) -> np.ndarray:
    """Router-index step of each mesh port (east +1, west -1, north +width, south -width)."""
    return np.choose(port, [1, -1, width, -width])


def check_table_capacity(model, limit: int, trees: Trees | None = None) -> np.ndarray:
    """:func:`table_entries`, raising :class:`MappingError` (one line) if a router needs more than ``limit``
    (``limit == 0``: no limit)."""
    need = table_entries(model, trees)
    if limit > 0 and (need > limit).any():
        r = int(np.argmax(need))
        raise MappingError(f"router ({r % model.width}, {r // model.width}): multicast routing needs {int(need[r])} "
                           f"routing-table entries, the chip has {limit} per router (noc.routing_table_entries)")
    return need


__all__ = ["Trees", "build_trees", "table_entries", "check_table_capacity"]
