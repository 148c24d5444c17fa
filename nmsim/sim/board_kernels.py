"""The Numba kernels behind the ``R x R`` tables of :mod:`nmsim.sim.board_routes` (``R`` routers on the
board, 2,688 on spinnaker2-48): the link out of each router towards each other one (:func:`route_ports`), and
the hop counts of every route (:func:`route_hops`: one walk per destination, each router's counts reused by
every route that passes it).  Both are ``O(R^2)``; the numpy forms they replaced took seconds per table."""

from __future__ import annotations

import numba
import numpy as np

from nmsim.jit import JIT
from nmsim.sim.board_routes import PORT_E as _E
from nmsim.sim.board_routes import PORT_N as _N
from nmsim.sim.board_routes import PORT_S as _S
from nmsim.sim.board_routes import PORT_W as _W

#: What :func:`route_hops` returns: every route is fine, or the first problem met on one.
HOPS_OK, HOPS_OFF_BOARD, HOPS_EMPTY, HOPS_LOOP = 0, 1, 2, 3


@numba.njit(**JIT)
def route_hops(nxt_t, down, cross, on, hops_t):
    """Fill ``hops_t int32[3, R, R]`` (zeroed by the caller; ``[k, d, r]``, by destination, so that a walk writes
    one row) with the on-chip east-west, on-chip north-south and chip-to-chip hops of the route from router
    ``r`` to router ``d`` (``nxt_t[d, r]``: the link out of ``r`` towards ``d``,
    ``down[L]``: the router it enters, ``cross[L]``: it joins two chips, ``on[r]``: the router is on a chip;
    routes start and end only at routers with ``on``).  Returns ``HOPS_OK``, or the first problem:
    ``HOPS_OFF_BOARD`` a link off the board's edge, ``HOPS_EMPTY`` a router on an empty position,
    ``HOPS_LOOP`` a route back to a router it left."""
    R = nxt_t.shape[0]
    state = np.zeros(R, np.int8)  # per destination: 0 not walked, 1 on the walk now, 2 counted
    path = np.zeros(R + 1, np.int64)
    for d in range(R):
        if not on[d]:
            continue
        state[:] = 0
        state[d] = 2
        for r0 in range(R):
            if not on[r0] or state[r0] == 2:
                continue
            n = 0
            r = r0
            while state[r] == 0:  # walk until a router whose counts are known
                state[r] = 1
                path[n] = r
                n += 1
                L = nxt_t[d, r]
                if L < 0 or down[L] < 0:
                    return HOPS_OFF_BOARD
                r = down[L]
                if not on[r]:
                    return HOPS_EMPTY
            if state[r] == 1:
                return HOPS_LOOP
            for i in range(n - 1, -1, -1):  # back along the walk: each router adds its own link's hop
                q = path[i]
                L = nxt_t[d, q]
                nx = down[L]
                hops_t[0, d, q] = hops_t[0, d, nx]
                hops_t[1, d, q] = hops_t[1, d, nx]
                hops_t[2, d, q] = hops_t[2, d, nx]
                if cross[L]:
                    hops_t[2, d, q] += 1
                elif L % 4 == _E or L % 4 == _W:
                    hops_t[0, d, q] += 1
                else:
                    hops_t[1, d, q] += 1
                state[q] = 2
    return HOPS_OK


@numba.njit(**JIT)
def route_ports(W, H, CX, chip_dir, ew_row, ns_col, out):
    """Fill ``out int64[R, R]`` with the link out of router ``r`` towards router ``rd`` (``-1`` if ``r == rd``) on a
    board of ``CX`` chips across, each ``W x H`` routers (router ``gy * W * CX + gx``): XY inside the chip to
    the destination (same chip) or to the port of ``chip_dir[chip, chip of rd]`` (``_E/_W/_N/_S``; -1 for an
    empty position: the entry is never used), on router row ``ew_row`` (east/west ports) or column ``ns_col``
    (north/south), then out of the port."""
    R = out.shape[0]
    Wt = W * CX
    for r in range(R):
        gx, gy = r % Wt, r // Wt
        lx, ly = gx % W, gy % H
        chip = (gy // H) * CX + gx // W
        for rd in range(R):
            if rd == r:
                out[r, rd] = -1
                continue
            dx, dy = rd % Wt, rd // Wt
            dchip = (dy // H) * CX + dx // W
            c = _S
            if dchip == chip:
                tx, ty = dx % W, dy % H
            else:
                c = chip_dir[chip, dchip]
                if c == _E:
                    tx, ty = W - 1, ew_row
                elif c == _W:
                    tx, ty = 0, ew_row
                elif c == _N:
                    tx, ty = ns_col, H - 1
                else:
                    tx, ty, c = ns_col, 0, _S
            if tx > lx:
                port = _E
            elif tx < lx:
                port = _W
            elif ty > ly:
                port = _N
            elif ty < ly:
                port = _S
            else:
                port = c
            out[r, rd] = 4 * r + port
