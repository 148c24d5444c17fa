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
