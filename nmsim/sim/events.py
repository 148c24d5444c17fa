"""The event loop of one timestep: arbitration of links, buffers and synapse units (``docs/engine-model.md`` §2.3-2.4).

:func:`run_events` takes four groups of arrays, each a ``NamedTuple`` built in Python:

- :class:`Packets` -- the step's packets from :func:`nmsim.sim.timing.build_packets`;
- :class:`LinkTables` -- per-model constants (:func:`nmsim.sim.engine.link_tables`);
- :class:`EventWorkspace` -- scratch arrays, reset by every call (:func:`new_workspace`);
- :class:`EventTrace` -- per-packet trace outputs (:func:`no_trace` when off);

and returns an :class:`EventError` (``OK``, or which workspace array was too small: the caller
grows it with :func:`grow_workspace` and reruns the step's timing).  The layout of those arrays is in
:mod:`nmsim.sim.event_layout`, the pieces of a cycle this loop shares with the multicast one in
:mod:`nmsim.sim.event_parts`; their names are re-exported here.

Event loop: cycles advance one at a time over a timing wheel (ring of per-cycle event lists,
``W`` = a power of two above every latency and occupancy, :func:`wheel_size`), TRYs due next cycle
go to a bitmap, and the loop jumps to the next packet creation when nothing is pending.  Events
are ``REQ(packet, link)`` (a request visible from that cycle) and ``TRY(link)`` (look at a link
again: it became free, a slot of its buffer returned, or the head of a send queue is created).
Each cycle: (1) apply the cycle's events (requests join the link's waiting heap, keyed by
``seq``) and mark the links that could grant; (2) visit those links in ascending *topological
rank* and let each grant at most one packet, the waiting one with the smallest ``seq``.

Readings of the spec made here (all agree with the SimPy oracle on random cases):

- ``lat = 0``: the rank (injection < east by x ascending, west by x descending
  < north by y ascending, south by y descending < ejection) puts every link
  before every link a packet can take after it under XY routing, so a request
  made by a grant in cycle ``s`` with ``lat = 0`` competes on the next link in
  the same cycle ``s`` (the only consistent reading of §2.3; the fixed point is
  unique because XY routing has no cyclic channel dependencies).
- ``occ = 0``: the link may grant again from the next cycle (one grant per cycle).
- A buffer slot freed by a grant in cycle ``s`` is decremented at once, yet cannot
  be reused before ``s + 1``: the link that fills it ranks lower and has already
  decided cycle ``s``; it is tried again at ``s + 1`` if the buffer was full.
- Synapse units (§2.4): every ejection link has the same latency and grants at
  most once per cycle, so a core's arrivals come in strictly increasing ``a``
  and are served online, in ``(a, seq)`` order, without a queue.

Virtual channels (2-D boards, ``docs/systems.md``): each channel has its own waiting heap and
downstream buffer (``WL_BUF``); the physical link's busy time (``WL_NEXT``) is kept in its own row and
shared by its channels.  A physical link grants at most one packet per cycle: the smallest ``seq``
waiting on any of its channels whose buffer has a free slot.  A channel visited before its sibling
yields (and is tried again next cycle) if the sibling could grant an older packet; both channels'
buffers are still as at the start of the cycle then, since every channel that drains them ranks later.

Integer-only, no allocation inside (compiled without NRT), every tie broken by ``seq`` or rank.
"""

from __future__ import annotations

import numba
import numpy as np

from nmsim.jit import JIT
from nmsim.sim.event_layout import (  # noqa: F401 - the layout's public names, re-exported (__all__)
    _OK, LT_DEPTH, LT_DOWN, LT_LAT, LT_OCC, LT_PHYS, LT_RANK, LT_SIB, LT_STEP, NIL, PK_COST, PK_DST, PK_F, WL_BUF,
    EventError, EventTrace, EventWorkspace, LinkTables, Packets, grow_workspace, new_trace, new_workspace, no_trace,
    wheel_size)
from nmsim.sim.event_parts import (  # noqa: F401 - heap_push / heap_pop re-exported (__all__)
    _U0, apply_cycle, choose, follow_up, forward, heap_pop, heap_push, loop_start, next_cycle, occupy, pop_dirty,
    release_slot, serve)


@numba.njit(_nrt=False, **JIT)  # no allocation inside: without NRT, no per-use array refcounting (atomic ops)
def run_events(out_link_busy, out_syn_free, packets, links, ws, tr):
    """Arbitrate every link, buffer and synapse unit of one step (spec §2.3-2.4); returns an ``EventError`` (int).

    Outputs: ``out_link_busy int64[n_links]`` (sum of ``occ`` over grants), ``out_syn_free int64[C+1]``
    (synapse-unit end ``free_c``, 0 if idle; the host's entry is its last arrival), and ``tr`` if ``tr.on``.
    ``packets``: :class:`Packets`; ``links``: :class:`LinkTables`; ``ws``: :class:`EventWorkspace` (reset here).
    In flight, a packet is the key ``p << 32 | dst << 16 | (buf + 1)`` (``p`` = ``seq`` rank, ``buf`` = the
    buffer it sits in, -1 = none): waiting heaps order by ``seq`` and the loop never touches per-packet memory
    between injection and ejection (needs ``n_cores < 2**16``, ``n_links < 2**16 - 1``).
    All cycles are int64, relative to the start of the step.
    """
    pk, inj_ptr, inj_list = packets.pk, packets.inj_ptr, packets.inj_list
    link_tab, rank_link, next_link, core_router = links.link_tab, links.rank_link, links.next_link, links.core_router
    depth, host_extra = links.depth, links.host_extra
    wl, dbits = ws.link, ws.dbits
    trace = tr.on
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
    if trace:
        tr.hop[:packets.n] = 0
    has_next = False  # some bit of dnext is set
    t = np.int64(0)
    nwords = dbits.shape[0]
    while pending > 0 or far_n > 0 or has_next:
        t = next_cycle(ws, t, pending, far_n, has_next, mask, NL)
        # phase 1: this cycle's events (requests join waiting heaps; links that may grant are marked)
        free_head, pending, far_n = apply_cycle(ws, link_tab, t, free_head, pending, far_n, has_next, cap, mask,
                                                depth, ej0, NL)
        has_next = False
        # phase 2: each dirty link grants at most one packet, in topological rank order
        for w in range(nwords):
            while dbits[np.uint64(w)] != _U0 and ws.err[0] == _OK:
                L = pop_dirty(dbits, w, rank_link)
                p, d, b, free_head, far_n, pending, has_next = choose(
                    ws, link_tab, pk, inj_ptr, inj_list, t, L, free_head, far_n, pending, has_next, cap, W, mask, NL,
                    inj0, ej0, ej1)
                if p < 0:
                    continue
                if d < 0:  # from its send queue
                    d = pk[np.uint64(p), PK_DST]
                # grant packet p on link L at cycle t; a packet to the host has its own flits (spec §2.2)
                x = host_extra if d == C and not (inj0 <= L < ej0) else 0
                uP = occupy(ws, link_tab, out_link_busy, t, L, x)
                if b >= 0:  # leaves the buffer it sat in
                    has_next = release_slot(ws, link_tab, b, has_next)
                if trace:
                    i = tr.ptr[p] + tr.hop[p]
                    tr.grant[i] = t
                    tr.link[i] = uP
                    tr.hop[p] += 1
                uL = np.uint64(L)
                lat = link_tab[uL, LT_LAT] + x
                if ej0 <= L < ej1:  # ejection: arrival at the synapse unit, served online (see module doc)
                    start = serve(out_syn_free, d, t + lat, pk[np.uint64(p), PK_COST])
                    if trace:
                        tr.arrival[p] = t + lat
                        tr.syn_start[p] = start
                        tr.syn_end[p] = out_syn_free[np.uint64(d)]
                else:
                    wl[uL, WL_BUF] += 1
                    r, rd = link_tab[uL, LT_DOWN], core_router[np.uint64(d)]
                    L2 = next_link[np.uint64(r), np.uint64(rd)] if r != rd else ej0 + d
                    free_head, pending = forward(ws, link_tab, free_head, pending, t, lat, L2,
                                                 (p << 32) | (d << 16) | (L + 1), cap, mask, depth, ej0)
                # follow-up: when can L grant again?
                free_head, far_n, pending, has_next = follow_up(ws, link_tab, pk, inj_ptr, inj_list, t, L, free_head,
                                                                far_n, pending, has_next, W, mask, NL, inj0, ej0, ej1)
        if ws.err[0] != _OK:  # checked before phase 1 of the next cycle refills the free list
            return ws.err[0]
        t += 1
    return _OK


__all__ = ["PK_F", "PK_DST", "PK_COST", "LT_OCC", "LT_LAT", "LT_STEP", "LT_DOWN", "LT_RANK", "LT_PHYS", "LT_DEPTH",
           "LT_SIB", "NIL", "EventError",
           "Packets", "LinkTables", "EventWorkspace", "EventTrace", "wheel_size", "new_workspace", "grow_workspace",
           "no_trace", "new_trace", "heap_push", "heap_pop", "run_events"]
