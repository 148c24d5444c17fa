"""Paths of the SimPy oracle (:mod:`nmsim.oracle.simpy_chip`): which links a packet crosses, on one chip (XY) or on
a board of chips (router by router through the chips' ports, ``docs/systems.md``), the virtual channel of each
hop, and the topological rank each link arbitrates at.  Written from the spec alone, like the rest of the oracle:
nothing here is shared with :mod:`nmsim.sim.board_routes` or :func:`nmsim.sim.engine.link_tables`, which the tests
check against these walks (``tests/test_board_tables.py``, ``tests/test_oracle.py``).
"""

from __future__ import annotations

import numpy as np

from nmsim.compile.compiled import PORT_E, PORT_N, PORT_S, PORT_W, CompiledModel


def xy_path(model: CompiledModel, src_core: int, dst_core: int) -> tuple[int, ...]:
    """Link ids a packet from ``src_core`` (host = ``n_cores``) to ``dst_core`` crosses."""
    W, R, C = model.width, model.n_routers, model.n_cores
    x, y = int(model.core_router[src_core]) % W, int(model.core_router[src_core]) // W
    xd, yd = int(model.core_router[dst_core]) % W, int(model.core_router[dst_core]) // W
    links = [4 * R + src_core]  # injection
    while x != xd:
        port, step = (PORT_E, 1) if xd > x else (PORT_W, -1)
        links.append(4 * (y * W + x) + port)
        x += step
    while y != yd:
        port, step = (PORT_N, 1) if yd > y else (PORT_S, -1)
        links.append(4 * (y * W + x) + port)
        y += step
    links.append(4 * R + (C + 1) + dst_core)  # ejection
    return tuple(links)


def board_chip_step(g: dict, here: tuple[int, int], dest: tuple[int, int]) -> str:
    """Chip-level direction (``"E"``, ``"W"``, ``"N"``, ``"S"``) from chip ``here`` towards chip ``dest`` (``(cx, cy)``,
    different).  A full grid: XY over chips.  A grid whose positions ``g["empty"]`` (indices ``cy * chips_x + cx``)
    hold no chip: straight along the column when the columns match, else along the column to the trunk row (the
    lowest row with no empty position), then along it.  Raises ``ValueError`` when the next chip, or any chip left
    on that route, is an empty position."""
    CX, CY = g["chips_x"], g["chips_y"]
    holes = {(i % CX, i // CX) for i in g.get("empty", ())}
    (x, y), (xd, yd) = here, dest
    if not holes:
        if xd != x:
            return "E" if xd > x else "W"
        return "N" if yd > y else "S"
    trunks = [row for row in range(CY) if all((c, row) not in holes for c in range(CX))]
    if xd == x:
        legs = [(x, y, yd)]
    elif not trunks:
        raise ValueError(f"chip {here} to chip {dest}: no route (no full row of chips)")
    else:
        legs = [(x, y, trunks[0]), (xd, trunks[0], yd)]
    for col, y0, y1 in legs:
        for yy in range(min(y0, y1), max(y0, y1) + 1):
            if (col, yy) in holes:
                raise ValueError(f"chip {here} to chip {dest}: the route crosses the empty position {(col, yy)}")
    if xd == x:
        return "N" if yd > y else "S"
    if y != trunks[0]:
        return "N" if trunks[0] > y else "S"
    return "E" if xd > x else "W"


def board_path(model: CompiledModel, src_core: int, dst_core: int) -> tuple[int, ...]:
    """Link ids a packet crosses on a board (``model.meta["system"]``, ``docs/systems.md``), walked router by
    router: inside a chip XY to the destination (same chip) or to the port of the chip-level direction
    (:func:`board_chip_step`: east/west while the chip columns differ, then north/south, around empty grid
    positions), then across that port's link."""
    g = model.meta["system"]
    W, H, R, C = g["chip_width"], g["chip_height"], model.n_routers, model.n_cores
    Wt = model.width
    r, rd = int(model.core_router[src_core]), int(model.core_router[dst_core])
    links = [4 * R + src_core]
    while r != rd:
        x, y, xd, yd = r % Wt, r // Wt, rd % Wt, rd // Wt
        cx, cy, dcx, dcy = x // W, y // H, xd // W, yd // H
        if (cx, cy) == (dcx, dcy):
            tx, ty, out = xd, yd, None
        else:
            d = board_chip_step(g, (cx, cy), (dcx, dcy))
            if d in "EW":
                tx = cx * W + (W - 1 if d == "E" else 0)
                ty, out = cy * H + g["east_west_row"], (PORT_E if d == "E" else PORT_W)
            else:
                tx = cx * W + g["north_south_col"]
                ty, out = cy * H + (H - 1 if d == "N" else 0), (PORT_N if d == "N" else PORT_S)
        if x != tx:
            port = PORT_E if tx > x else PORT_W
        elif y != ty:
            port = PORT_N if ty > y else PORT_S
        else:
            port = out
        links.append(4 * r + port)
        x += {PORT_E: 1, PORT_W: -1}.get(port, 0)
        y += {PORT_N: 1, PORT_S: -1}.get(port, 0)
        r = y * Wt + x
    links.append(4 * R + (C + 1) + dst_core)
    return tuple(links)


def board_vcs(model: CompiledModel, links: tuple[int, ...]) -> tuple[int, ...]:
    """Virtual channel of each link of a board path (``docs/systems.md``): on a 2-D board (more than one chip
    in both directions) a mesh hop uses VC 1 once the packet's chip column is its destination's, else VC 0;
    on a row or a column of chips, and on injection and ejection links, VC 0."""
    g, Wt, R = model.meta["system"], model.width, model.n_routers
    if g["chips_x"] == 1 or g["chips_y"] == 1:
        return (0,) * len(links)
    last = links[-2] if len(links) > 2 else None
    if last is None:
        return (0,) * len(links)
    r_end, port = divmod(last, 4)  # the destination router is the far end of the last mesh link
    xe = r_end % Wt + {PORT_E: 1, PORT_W: -1}.get(port, 0)
    dest_col = xe // g["chip_width"]
    out = []
    for L in links:
        if L >= 4 * R:
            out.append(0)
        else:
            out.append(1 if ((L // 4) % Wt) // g["chip_width"] == dest_col else 0)
    return tuple(out)


def board_crossing(model: CompiledModel, link: int) -> bool:
    """Whether mesh link ``link`` joins two chips of the board."""
    g, Wt = model.meta["system"], model.width
    r, port = divmod(link, 4)
    x, y = r % Wt, r // Wt
    x2, y2 = x + {PORT_E: 1, PORT_W: -1}.get(port, 0), y + {PORT_N: 1, PORT_S: -1}.get(port, 0)
    return (x // g["chip_width"], y // g["chip_height"]) != (x2 // g["chip_width"], y2 // g["chip_height"])


def board_ranks(model: CompiledModel) -> dict[int, int]:
    """Mesh link -> its first channel's position in a topological order of the dependency graph over channels
    ``(virtual channel, link)`` of :func:`board_path` and :func:`board_vcs` over every pair of routers.
    Raises ``ValueError`` if that graph has a cycle (finite buffers could deadlock).  On a board every mesh
    link has latency >= 1 and freed slots return next cycle, so the mesh arbiters' order in a cycle does
    not change any grant."""
    cache = model.meta.get("_oracle_board_ranks")
    if cache is not None:
        return cache
    W, R, C = model.width, model.n_routers, model.n_cores
    succ: dict[tuple, set] = {}
    nodes = {(v, L) for v in (0, 1) for L in range(4 * R)}
    indeg = {n: 0 for n in nodes}
    g = model.meta["system"]
    holes = set(g.get("empty", ()))
    Wr = g["chip_width"]
    on = [((r // W) // g["chip_height"]) * g["chips_x"] + (r % W) // Wr not in holes for r in range(R)]
    for a in range(R):
        for b in range(R):
            if not (on[a] and on[b]):
                continue  # no router of an empty grid position sends or receives
            full = board_path(RouterPair(model, a, b), 0, 1)
            vcs = board_vcs(model, full)
            path = [(v, L) for v, L in zip(vcs, full)][1:-1]  # mesh channels from router a to router b
            for c1, c2 in zip(path, path[1:]):
                if c2 not in succ.setdefault(c1, set()):
                    succ[c1].add(c2)
                    indeg[c2] += 1
    ready = sorted(n for n, d in indeg.items() if d == 0)
    order = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for n2 in sorted(succ.get(n, ())):
            indeg[n2] -= 1
            if indeg[n2] == 0:
                ready.append(n2)
        ready.sort()
    if len(order) != len(nodes):
        raise ValueError("board routes have a cyclic channel dependency")
    ranks: dict[int, int] = {}
    for i, (v, L) in enumerate(order):
        ranks.setdefault(L, i)
    model.meta["_oracle_board_ranks"] = ranks
    return ranks


class RouterPair:
    """A stand-in model whose cores 0 and 1 sit on routers ``a`` and ``b`` (for walking router pairs)."""

    def __init__(self, model, a, b):
        self.meta, self.width, self.n_routers, self.n_cores = model.meta, model.width, model.n_routers, model.n_cores
        self.core_router = np.array([a, b], np.int64)


def link_rank(model: CompiledModel, link: int) -> int:
    """Position of ``link`` in a topological order of the routes' channel dependencies."""
    W, H, R, C = model.width, model.height, model.n_routers, model.n_cores
    if "system" in model.meta and 4 * R > link:
        return 1 + board_ranks(model)[link]
    if "system" in model.meta:
        return 0 if link < 4 * R + C + 1 else 1 + 8 * R
    if link >= 4 * R + C + 1:  # ejection
        return 1 + 2 * W + 2 * H
    if link >= 4 * R:  # injection
        return 0
    r, port = divmod(link, 4)
    x, y = r % W, r // W
    if port == PORT_E:
        return 1 + x
    if port == PORT_W:
        return 1 + W + (W - 1 - x)
    if port == PORT_N:
        return 1 + 2 * W + y
    return 1 + 2 * W + H + (H - 1 - y)  # PORT_S
