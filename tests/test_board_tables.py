"""The engine's ``R x R`` board tables (``nmsim.sim.board_routes``: ``next_links``, ``hop_tables``, the channel
dependencies) against the SimPy oracle's own router-by-router walk (``nmsim.oracle.oracle_paths.board_path``,
``board_crossing``), for every pair of routers of random boards (rows, 2-D grids, grids with holes)."""

from __future__ import annotations

import numpy as np
import pytest

from nmsim.oracle import random_case
from nmsim.oracle.oracle_paths import RouterPair, board_crossing, board_path, board_vcs
from nmsim.sim import board_routes as br

KINDS = {"row": {}, "2-D": {"two_d": True}, "holes": {"holes": True}}


def _boards():
    out = []
    for kind, kw in KINDS.items():
        for seed in range(4):
            out.append((f"{kind}-{seed}", random_case(70_000 + seed, board=True, **kw).model))
    return out


def _walks(model):
    """Per router pair ``(a, b)`` of present routers: the oracle's mesh links from ``a`` to ``b``."""
    R, on = model.n_routers, br.router_present(model.meta["system"])
    for a in range(R):
        for b in range(R):
            if on[a] and on[b] and a != b:
                yield a, b, board_path(RouterPair(model, a, b), 0, 1)


@pytest.mark.parametrize("name,model", _boards(), ids=lambda x: x if isinstance(x, str) else "")
def test_tables_follow_the_oracles_walk(name, model):
    """``next_links`` walked from ``a`` reaches ``b`` over the oracle's links; ``hop_tables`` counts that walk's
    east-west, north-south and chip-to-chip hops; the dependency edges are the pairs of consecutive
    ``(VC, link)`` channels of those walks."""
    g = model.meta["system"]
    R = model.n_routers
    nxt = br.next_links(g)
    hx, hy, hc = br.hop_tables(g, nxt)
    down = br.link_down(g)
    want_edges = set()
    vc_of = br.vc_classes(g)
    n_pairs = 0
    for a, b, full in _walks(model):
        mesh = list(full[1:-1])
        got, r = [], a
        while r != b:
            got.append(int(nxt[r, b]))
            r = int(down[got[-1]])
        assert got == mesh, (name, a, b)
        cross = [board_crossing(model, L) for L in mesh]
        ew = sum(1 for L, c in zip(mesh, cross) if not c and L % 4 <= br.PORT_W)
        ns = sum(1 for L, c in zip(mesh, cross) if not c and L % 4 >= br.PORT_N)
        assert (hx[a, b], hy[a, b], hc[a, b]) == (ew, ns, sum(cross)), (name, a, b)
        vcs = board_vcs(model, full)[1:-1]
        ch = [v * 4 * R + L for v, L in zip(vcs, mesh)]
        want_edges.update(zip(ch, ch[1:]))
        n_pairs += 1
    assert n_pairs > 0
    ea, eb = br._dependencies(g, nxt, vc_of)
    assert set(zip(ea.tolist(), eb.tolist())) == want_edges
    assert np.all(np.diff(ea * (8 * R) + eb) > 0)  # unique and sorted


def test_a_route_that_leaves_the_board_or_loops_is_refused():
    """``hop_tables`` walks every route: a table entry pointing off the board's edge, or two routers sending
    each other's packets back, is an ``AssertionError`` naming it."""
    model = random_case(70_001, board=True).model
    g = model.meta["system"]
    nxt = br.next_links(g)
    R = nxt.shape[0]
    off = nxt.copy()
    edge = next(L for L in range(4 * R) if br.link_down(g)[L] < 0)
    off[edge // 4, (edge // 4 + 1) % R] = edge
    with pytest.raises(AssertionError, match="left the board"):
        br.hop_tables(g, off)
    loop = nxt.copy()
    a = 0
    b = next(r for r in range(1, R) if br.link_down(g)[nxt[a, r]] != r)  # a route of at least two hops
    r1 = int(br.link_down(g)[nxt[a, b]])
    back = next(L for L in range(4 * r1, 4 * r1 + 4) if br.link_down(g)[L] == a)
    loop[r1, b] = back
    with pytest.raises(AssertionError, match="does not terminate"):
        br.hop_tables(g, loop)


@pytest.mark.parametrize("seed", range(8))
def test_link_costs_equal_the_oracles_links(seed):
    """``engine.link_costs`` (what ``links.csv`` and the trace read) against the SimPy oracle's own links
    (``_Chip._make_link``: occupancy and head latency, a board's chip-to-chip links the system's), and each mesh
    link's downstream router against the neighbour computed here; on one chip, a row of chips, a 2-D board and a
    board with holes.  Mesh ports off the board's edge carry nothing; the oracle prices them as chip-to-chip
    links, the engine as on-chip ones, so they are left out of the cost comparison."""
    from nmsim.oracle import simpy_chip as sc
    from nmsim.sim.engine import link_costs

    kw = ({}, {"board": True}, {"board": True, "two_d": True}, {"board": True, "holes": True})[seed % 4]
    m = random_case(71_000 + seed, **kw).model
    N, R, Wd, Ht = m.n_neurons, m.n_routers, m.width, m.height
    chip = sc._Chip(m, np.zeros(N, np.uint8), np.zeros(N, np.uint8), np.ones(N, bool))
    occ, lat, down, _ = link_costs(m)
    used = [L for L in range(m.n_links) if L >= 4 * R or down[L] >= 0]
    assert [(chip.links[L].occ, chip.links[L].lat) for L in used] == [(occ[L], lat[L]) for L in used]
    for L in range(4 * R):
        x, y = (L // 4) % Wd, (L // 4) // Wd
        dx, dy = {br.PORT_E: (1, 0), br.PORT_W: (-1, 0), br.PORT_N: (0, 1), br.PORT_S: (0, -1)}[L % 4]
        want = (y + dy) * Wd + x + dx if 0 <= x + dx < Wd and 0 <= y + dy < Ht else -1
        assert down[L] == want, L
    assert down[4 * R:4 * R + m.n_cores + 1].tolist() == m.core_router.tolist()
    assert (down[4 * R + m.n_cores + 1:] == -1).all()
    if "system" in m.meta:
        cross = [L for L in range(4 * R) if down[L] >= 0 and board_crossing(m, L)]
        assert cross and {(int(occ[L]), int(lat[L])) for L in cross} == \
            {(int(m.meta["system"]["link_occ"]), int(m.meta["system"]["link_lat"]))}


def test_engines_on_one_chip_share_one_build_and_an_edit_builds_anew():
    """Two engines of one board model share the tables (one build); after the model's timing or its board is
    edited in place, the next engine's tables are built anew and equal a fresh ``link_tables``."""
    from nmsim.compile.compiled import T
    from nmsim.sim import engine as en

    m = random_case(71_001, board=True).model
    a, b = en.Engine(m), en.Engine(m)
    assert a.lt is b.lt
    m.timing[T["hop_east_west_cycles"]] += 7
    c = en.Engine(m)
    assert c.lt is not a.lt
    fresh = en.link_tables(m)
    assert fresh.keys() == c.lt.keys() and all(np.array_equal(fresh[k], c.lt[k]) for k in fresh)
    assert not np.array_equal(a.lt["link_tab"], c.lt["link_tab"])
    m.meta["system"] = {**m.meta["system"], "link_lat": int(m.meta["system"]["link_lat"]) + 3}
    d = en.Engine(m)
    assert d.lt is not c.lt and np.array_equal(d.lt["link_tab"], en.link_tables(m)["link_tab"])
