"""Routing on a board of chips (``docs/systems.md``): the engine's tables for a model compiled for
:func:`nmsim.describe.system.board_chip` and marked by :func:`nmsim.describe.system.attach`.

The board is one mesh of ``chips_x x width`` by ``chips_y x height`` routers.  The mesh links that cross a
chip boundary are chip-to-chip links, but only those out of the *port routers* are used: the east/west
ports sit on router row ``east_west_row`` of each chip's east/west edge, the north/south ports on router
column ``north_south_col`` of its north/south edge.  A packet from chip ``s`` to chip ``d != s`` picks the
chip-level direction by XY over chips (east/west until the chip column matches, then north/south), goes XY
inside the current chip to the port of that direction, crosses, and repeats; inside the destination chip
it goes XY to the destination router.  A chip-to-chip link is occupied ``link_occ`` cycles per packet
and delivers its head after ``link_lat`` cycles.

The routes are not XY on the whole board (a packet may go east, then west inside the next chip), so the
links' grant order within a cycle is a topological order of the routes' channel-dependency graph
(:func:`topo_rank`): every link ranks before every link a packet can take right after it, which is what
the event loop needs (``nmsim.sim.events``, module doc).  A cyclic graph is refused.
"""

from __future__ import annotations

import heapq

import numpy as np

PORT_E, PORT_W, PORT_N, PORT_S = 0, 1, 2, 3


def next_links(g: dict) -> np.ndarray:
    """``int64[R, R]``: link out of router ``r`` towards router ``rd`` (-1 if ``r == rd``)."""
    W, H, CX, CY = g["chip_width"], g["chip_height"], g["chips_x"], g["chips_y"]
    Wt, Ht = W * CX, H * CY
    R = Wt * Ht
    r = np.arange(R)
    gx, gy = (r % Wt)[:, None], (r // Wt)[:, None]
    dx, dy = (r % Wt)[None, :], (r // Wt)[None, :]
    cx, cy, lx, ly = gx // W, gy // H, gx % W, gy % H
    dcx, dcy = dx // W, dy // H
    same = (cx == dcx) & (cy == dcy)
    # target inside the current chip: the destination (same chip) or the port of the chip-level direction
    go_e, go_w = dcx > cx, dcx < cx
    go_n = ~go_e & ~go_w & (dcy > cy)
    pr, pc = g["east_west_row"], g["north_south_col"]
    tx = np.where(same, dx % W, np.where(go_e, W - 1, np.where(go_w, 0, pc)))
    ty = np.where(same, dy % H, np.where(go_e | go_w, pr, np.where(go_n, H - 1, 0)))
    cross = np.where(go_e, PORT_E, np.where(go_w, PORT_W, np.where(go_n, PORT_N, PORT_S)))
    port = np.where(tx > lx, PORT_E, np.where(tx < lx, PORT_W, np.where(ty > ly, PORT_N,
                    np.where(ty < ly, PORT_S, cross))))
    out = 4 * r[:, None] + port
    out[r, r] = -1
    return np.ascontiguousarray(out, dtype=np.int64)


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


def crossing(g: dict) -> np.ndarray:
    """``bool[4R]``: mesh links whose two ends lie on different chips."""
    down = link_down(g)
    chip = chip_of_router(g)
    src = chip[np.repeat(np.arange(chip.size), 4)]
    return (down >= 0) & (chip[np.maximum(down, 0)] != src)


def hop_tables(g: dict, nxt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """On-chip east-west hops, on-chip north-south hops and chip-to-chip hops from ``rs`` to ``rd``
    along the routes of ``nxt`` (``int64[R, R]`` each)."""
    R = nxt.shape[0]
    down, cross = link_down(g), crossing(g)
    hx = np.zeros((R, R), np.int64)
    hy = np.zeros((R, R), np.int64)
    hc = np.zeros((R, R), np.int64)
    cur = np.repeat(np.arange(R)[:, None], R, axis=1)
    dst = np.repeat(np.arange(R)[None, :], R, axis=0)
    live = cur != dst
    for _ in range(4 * R + 4):
        if not live.any():
            break
        L = nxt[cur[live], dst[live]]
        if (L < 0).any() or (down[L] < 0).any():
            raise AssertionError("board routing left the board")
        c, p = cross[L], L % 4
        hc[live] += c
        hx[live] += ~c & (p <= PORT_W)
        hy[live] += ~c & (p >= PORT_N)
        cur[live] = down[L]
        live = cur != dst
    else:
        raise AssertionError("board routing does not terminate")
    return hx, hy, hc


def topo_rank(g: dict, nxt: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Mesh links (``0..4R-1``) in a topological order of the channel-dependency graph of ``nxt``
    (edges ``L1 -> L2`` when some route takes ``L2`` right after ``L1``); ties go to the smaller
    ``key`` row (``int64[4R, 3]``, the single-chip rank key).  Raises ``ValueError`` on a cycle."""
    R = nxt.shape[0]
    down = link_down(g)
    L1 = nxt.reshape(-1)
    dst = np.tile(np.arange(R), R)
    ok = L1 >= 0
    L1, dst = L1[ok], dst[ok]
    r = down[L1]
    ok = r != dst
    L1, L2 = L1[ok], nxt[r[ok], dst[ok]]
    edges = np.unique(L1 * (4 * R) + L2)
    a, b = edges // (4 * R), edges % (4 * R)
    n = 4 * R
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


__all__ = ["next_links", "link_down", "chip_of_router", "crossing", "hop_tables", "topo_rank"]
