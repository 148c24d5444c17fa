"""Routing on a board of chips (``docs/systems.md``): the engine's tables for a model compiled for
:func:`nmsim.describe.system.board_chip` and marked by :func:`nmsim.describe.system.attach`.

The board is one mesh of ``chips_x x width`` by ``chips_y x height`` routers.  The mesh links that cross a
chip boundary are chip-to-chip links, but only those out of the *port routers* are used: the east/west
ports sit on router row ``east_west_row`` of each chip's east/west edge, the north/south ports on router
column ``north_south_col`` of its north/south edge.  A packet from chip ``s`` to chip ``d != s`` picks the
chip-level direction by XY over chips (east/west until the chip column matches, then north/south; on a board
with empty grid positions YXY through the trunk row, :func:`chip_dirs`), goes XY
inside the current chip to the port of that direction, crosses, and repeats; inside the destination chip
it goes XY to the destination router.  A chip-to-chip link is occupied ``link_occ`` cycles per packet
and delivers its head after ``link_lat`` cycles.

The routes are not XY on the whole board (a packet may go east, then west inside the next chip), so the
links' grant order within a cycle is a topological order of the routes' channel-dependency graph
(:func:`topo_rank`): every link ranks before every link a packet can take right after it, which is what
the event loop needs (``nmsim.sim.events``, module doc).  A cyclic graph is refused.

Virtual channels (2-D boards, ``docs/systems.md``).  On a board with ``chips_x > 1`` and ``chips_y > 1`` the
port routes have a cyclic dependency over physical links, so every mesh link carries two virtual channels
(VCs), each with its own input buffer at the downstream router: a hop out of router ``r`` towards ``rd``
uses VC 0 while the chip columns of ``r`` and ``rd`` differ (the chip-level X phase) and VC 1 once they
match (the Y phase and the last leg inside the destination chip) (:func:`vc_classes`).  A packet's class
never decreases along its route, and each class's dependency graph is acyclic, so the graph over
``(link, VC)`` channels is acyclic and finite buffers cannot deadlock (Dally and Seitz 1987).
:func:`check_deadlock_free` verifies both facts from the tables, for every route; :func:`topo_rank` orders
the channels.  Rows and columns of chips need one class and keep one VC.
"""

from __future__ import annotations

import heapq

import numpy as np

PORT_E, PORT_W, PORT_N, PORT_S = 0, 1, 2, 3


def chip_present(g: dict) -> np.ndarray:
    """``bool[chips_x * chips_y]``: which grid positions hold a chip (``g["empty"]``: chip indices
    ``cy * chips_x + cx`` of the positions without one; absent or empty on a full grid)."""
    ok = np.ones(g["chips_x"] * g["chips_y"], bool)
    ok[list(g.get("empty", ()))] = False
    return ok


def _col_clear(ok: np.ndarray, CX: int, x: int, y0: int, y1: int) -> bool:
    """Whether chips ``(x, y0..y1)`` (either order) are all present."""
    lo, hi = min(y0, y1), max(y0, y1)
    return bool(ok[np.arange(lo, hi + 1) * CX + x].all())


def trunk_row(g: dict) -> int:
    """The trunk row of a board with empty positions: its lowest row of chips with none empty (-1: none)."""
    CX, CY = g["chips_x"], g["chips_y"]
    ok = chip_present(g)
    return next((y for y in range(CY) if ok[y * CX:(y + 1) * CX].all()), -1)


def chip_dirs(g: dict) -> np.ndarray:
    """``int64[n_chips, n_chips]``: port (``PORT_E/W/N/S``) by which a packet at chip ``a`` heading for chip
    ``b`` leaves ``a`` (-1 when ``a == b`` or either position is empty).

    The chip-level rule (``docs/systems.md``): on a full grid, XY over chips (east/west until the chip
    columns match, then north/south).  On a grid with empty positions (``g["empty"]``), YXY through the trunk
    row ``T`` (:func:`trunk_row`): a chip in the destination's column goes straight north/south; any other
    goes north/south along its column to row ``T``, east/west along ``T`` to the destination's column, then
    north/south.  From one source every chip is then entered from one side, so multicast trees stay trees.
    Raises ``ValueError`` (one line) when a route would cross an empty position."""
    CX, CY = g["chips_x"], g["chips_y"]
    n = CX * CY
    ok = chip_present(g)
    holes = not ok.all()
    trunk = trunk_row(g) if holes else -1
    out = np.full((n, n), -1, np.int64)
    chips = np.flatnonzero(ok).tolist()
    for a in chips:
        ax, ay = a % CX, a // CX
        for b in chips:
            if a == b:
                continue
            bx, by = b % CX, b // CX
            if bx == ax:
                good = _col_clear(ok, CX, ax, ay, by)
                port = PORT_N if by > ay else PORT_S
            elif not holes or ay == trunk:
                good, port = True, (PORT_E if bx > ax else PORT_W)
            else:
                good = trunk >= 0 and _col_clear(ok, CX, ax, ay, trunk) and _col_clear(ok, CX, bx, trunk, by)
                port = PORT_N if trunk > ay else PORT_S
            if not good:
                why = ("no row of chips is full, so no trunk row joins the columns" if trunk < 0 else
                       f"it would cross an empty position; routes go along the column to the trunk row {trunk}, "
                       "along it, then along the destination's column")
                raise ValueError(f"chip ({ax}, {ay}) to chip ({bx}, {by}): no route ({why})")
            out[a, b] = port
    return out


def next_links(g: dict) -> np.ndarray:
    """``int64[R, R]``: link out of router ``r`` towards router ``rd`` (-1 if ``r == rd``); rows and columns
    of routers on empty chip positions are never used (their entries are arbitrary).  The rule is in the
    module doc; the loop over all pairs is :func:`nmsim.sim.board_kernels.route_ports`."""
    from nmsim.sim.board_kernels import route_ports

    W, H, CX, CY = g["chip_width"], g["chip_height"], g["chips_x"], g["chips_y"]
    R = W * CX * H * CY
    out = np.empty((R, R), np.int64)
    route_ports(W, H, CX, chip_dirs(g), g["east_west_row"], g["north_south_col"], out)
    return out


def link_down(g: dict) -> np.ndarray:
    """``int64[4R]``: router at the downstream end of each mesh link (-1: off the board's edge)."""
    Wt, Ht = g["chip_width"] * g["chips_x"], g["chip_height"] * g["chips_y"]
    R = Wt * Ht
    r = np.repeat(np.arange(R), 4)
    p = np.tile(np.arange(4), R)
    x = r % Wt + np.select([p == PORT_E, p == PORT_W], [1, -1], 0)
    y = r // Wt + np.select([p == PORT_N, p == PORT_S], [1, -1], 0)
    ok = (0 <= x) & (x < Wt) & (0 <= y) & (y < Ht)
    return np.where(ok, y * Wt + x, -1).astype(np.int64)


def chip_of_router(g: dict) -> np.ndarray:
    """``int64[R]``: chip index ``cy * chips_x + cx`` of each router."""
    W, H, CX = g["chip_width"], g["chip_height"], g["chips_x"]
    Wt, Ht = W * CX, H * g["chips_y"]
    r = np.arange(Wt * Ht)
    return ((r // Wt) // H) * CX + (r % Wt) // W


def router_present(g: dict) -> np.ndarray:
    """``bool[R]``: routers on a chip (not on an empty grid position, :func:`chip_present`)."""
    return chip_present(g)[chip_of_router(g)]


def crossing(g: dict) -> np.ndarray:
    """``bool[4R]``: mesh links whose two ends lie on different chips."""
    down = link_down(g)
    chip = chip_of_router(g)
    src = chip[np.repeat(np.arange(chip.size), 4)]
    return (down >= 0) & (chip[np.maximum(down, 0)] != src)


def hop_tables(g: dict, nxt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """On-chip east-west hops, on-chip north-south hops and chip-to-chip hops from ``rs`` to ``rd``
    along the routes of ``nxt`` (``int64[R, R]`` each; 0 where either router lies on an empty position).
    Every route between present routers is walked (each hop must stay on the board, out of empty positions,
    and reach its destination); ``AssertionError`` otherwise."""
    from nmsim.sim import board_kernels as bk

    R = nxt.shape[0]
    hops_t = np.zeros((3, R, R), np.int32)  # [k, destination, source]; a route has fewer than R hops
    err = bk.route_hops(np.ascontiguousarray(nxt.T, dtype=np.int64), link_down(g), crossing(g).astype(np.uint8),
                     router_present(g).astype(np.uint8), hops_t)
    if err != bk.HOPS_OK:
        raise AssertionError({bk.HOPS_OFF_BOARD: "board routing left the board",
                              bk.HOPS_EMPTY: "board routing entered an empty chip position",
                              bk.HOPS_LOOP: "board routing does not terminate"}[err])
    return tuple(np.array(h.T, dtype=np.int64, order="C") for h in hops_t)


def n_vcs(g: dict) -> int:
    """Virtual channels per mesh link: 2 on a 2-D board (``chips_x > 1`` and ``chips_y > 1``), else 1."""
    return 2 if g["chips_x"] > 1 and g["chips_y"] > 1 else 1


def vc_classes(g: dict) -> np.ndarray:
    """``int64[R, R]``: virtual channel (class) of the hop out of router ``r`` towards router ``rd``: 0 while
    their chip columns differ, 1 once they match; all 0 on a row or column of chips (:func:`n_vcs`)."""
    W, H, CX, CY = g["chip_width"], g["chip_height"], g["chips_x"], g["chips_y"]
    Wt = W * CX
    R = Wt * H * CY
    if n_vcs(g) == 1:
        return np.zeros((R, R), np.int64)
    col = (np.arange(R) % Wt) // W
    return (col[:, None] == col[None, :]).astype(np.int64)


def _dependencies(g: dict, nxt: np.ndarray, vc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges ``c1 -> c2`` of the channel-dependency graph (channel ``c = vc * 4R + link``): some route takes
    channel ``c2`` right after ``c1`` (``int64`` arrays, unique, sorted)."""
    R = nxt.shape[0]
    down = link_down(g)
    L1 = nxt.reshape(-1)
    v1 = vc.reshape(-1)
    dst = np.tile(np.arange(R), R)
    on = router_present(g)
    ok = (L1 >= 0) & np.repeat(on, R) & on[dst]  # routes between routers of present chips
    L1, v1, dst = L1[ok], v1[ok], dst[ok]
    r = down[L1]
    ok = r != dst
    L1, v1, r, dst = L1[ok], v1[ok], r[ok], dst[ok]
    # an edge leaves channel c1 for one of the <= 4 ports x 2 classes out of c1's downstream router: mark
    # c1 * 8 + class * 4 + port (a count over all routes, linear, instead of a sort of the R x R pairs)
    L2 = nxt[r, dst]
    c1 = v1 * (4 * R) + L1
    nv = int(vc.max(initial=0) + 1)
    hit = np.flatnonzero(np.bincount(c1 * 8 + vc[r, dst] * 4 + L2 % 4, minlength=4 * R * nv * 8))
    a = hit // 8
    b = ((hit % 8) // 4) * (4 * R) + 4 * down[a % (4 * R)] + hit % 4
    return a, b


def _acyclic(n: int, a: np.ndarray, b: np.ndarray) -> bool:
    """Whether the graph on nodes ``0..n-1`` with edges ``a -> b`` has no cycle (Kahn's algorithm)."""
    indeg = np.bincount(b, minlength=n)
    order = np.argsort(a, kind="stable")
    a, b = a[order], b[order]
    ptr = np.searchsorted(a, np.arange(n + 1))
    stack = [v for v in range(n) if indeg[v] == 0]
    seen = 0
    while stack:
        v = stack.pop()
        seen += 1
        for w in b[ptr[v]:ptr[v + 1]].tolist():
            indeg[w] -= 1
            if indeg[w] == 0:
                stack.append(w)
    return seen == n


def check_deadlock_free(g: dict, nxt: np.ndarray, vc: np.ndarray,
                        edges: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """Raise ``ValueError`` unless the routes ``nxt`` with virtual channels ``vc`` (``int64[R, R]`` each) are
    deadlock-free: along every route the class never decreases, and the dependency graph of each class
    (edges between two channels of that class) is acyclic.  Together these make the whole channel graph
    acyclic: a cycle cannot climb classes and come back.  ``edges``: :func:`_dependencies` of the same
    arguments, when the caller has them."""
    R = nxt.shape[0]
    a, b = _dependencies(g, nxt, vc) if edges is None else edges
    ca, cb = a // (4 * R), b // (4 * R)
    if (cb < ca).any():
        i = int(np.flatnonzero(cb < ca)[0])
        raise ValueError(f"board routes go down a virtual-channel class (link {int(a[i] % (4 * R))} VC {int(ca[i])} "
                         f"-> link {int(b[i] % (4 * R))} VC {int(cb[i])}); deadlock possible")
    for v in range(int(vc.max(initial=0)) + 1):
        inside = (ca == v) & (cb == v)
        if not _acyclic(4 * R, a[inside] % (4 * R), b[inside] % (4 * R)):
            raise ValueError(f"board routes have a cyclic channel dependency in virtual-channel class {v} "
                             "(deadlock possible); move the ports (systems: [ports])")


def topo_rank(g: dict, nxt: np.ndarray, key: np.ndarray, vc: np.ndarray | None = None) -> np.ndarray:
    """Channels (``c = vc * 4R + link``, ``0..n_vcs * 4R - 1``) in a topological order of the channel-dependency
    graph of ``nxt`` and ``vc`` (default: one class; edges ``c1 -> c2`` when some route takes ``c2`` right after
    ``c1``); ties go to the smaller ``(vc, key)`` (``key int64[4R, 3]``, the single-chip rank key).  Raises
    ``ValueError`` unless :func:`check_deadlock_free` holds."""
    R = nxt.shape[0]
    vc = np.zeros_like(nxt) if vc is None else vc
    a, b = _dependencies(g, nxt, vc)
    check_deadlock_free(g, nxt, vc, (a, b))
    nv = int(vc.max(initial=0)) + 1
    n = 4 * R * nv
    key = np.concatenate([np.column_stack([np.full(4 * R, v, np.int64), key]) for v in range(nv)])
    indeg = np.bincount(b, minlength=n)
    order = np.argsort(a, kind="stable")
    a, b = a[order], b[order]
    ptr = np.searchsorted(a, np.arange(n + 1))
    heap = [(tuple(key[v]), v) for v in range(n) if indeg[v] == 0]
    heapq.heapify(heap)
    out = []
    while heap:
        _, v = heapq.heappop(heap)
        out.append(v)
        for w in b[ptr[v]:ptr[v + 1]].tolist():
            indeg[w] -= 1
            if indeg[w] == 0:
                heapq.heappush(heap, (tuple(key[w]), w))
    if len(out) != n:
        raise ValueError("board routes have a cyclic channel dependency (deadlock possible); "
                         "move the ports (systems: [ports])")
    return np.array(out, np.int64)


__all__ = ["chip_present", "trunk_row", "chip_dirs", "next_links", "link_down", "chip_of_router", "router_present",
           "crossing", "hop_tables", "n_vcs", "vc_classes", "check_deadlock_free", "topo_rank"]
