"""The pieces of the event loop, shared by the unicast loop (:func:`nmsim.sim.events.run_events`) and the
multicast one (:func:`nmsim.sim.multicast.run_events_mc`): heaps, the timing wheel, dirty-link bits, and the
steps of a cycle that do not depend on how a grant moves a packet on (start of a step, choice of the next
cycle, phase 1, the choice of the packet a dirty link grants, slot returns, forwarding, the follow-up TRY).

Every function is inlined in Numba IR (``inline="always"``): no call, no per-call array refcounting, and the
loops that use them compile without NRT.  They take the loop's state (``free_head``, ``far_n``, ``pending``,
``has_next``) and return its new values; rules and readings are in :mod:`nmsim.sim.events`.
"""

from __future__ import annotations

import numba
import numpy as np

from nmsim.jit import JIT
from nmsim.sim.event_layout import (_EVENT_POOL, _OK, _WAIT_HEAP, LT_DEPTH, LT_DOWN, LT_OCC, LT_PHYS, LT_RANK,
                                    LT_SIB, LT_STEP, NIL, PK_F, WL_BUF, WL_NEXT, WL_TRY, WL_WQN)


# --------------------------------------------------------- small array heaps
@numba.njit(inline="always", **JIT)  # inlined in Numba IR: no per-call array refcounting
def heap_push(h, base, n, v):
    """Push ``v`` on the min-heap ``h[base:base+n]`` (int64); returns the new size ``n+1``.

    Indices are cast to unsigned (all are >= 0): no negative-index wraparound code in the hot loop."""
    i = n
    while i > 0:
        parent = (i - 1) >> 1
        hp = h[np.uint64(base + parent)]
        if hp <= v:
            break
        h[np.uint64(base + i)] = hp
        i = parent
    h[np.uint64(base + i)] = v
    return n + 1


@numba.njit(inline="always", **JIT)  # inlined in Numba IR: no per-call array refcounting
def heap_pop(h, base, n):
    """Remove and return the minimum of the min-heap ``h[base:base+n]`` (``n >= 1``); the caller decrements ``n``."""
    top = h[np.uint64(base)]
    n -= 1
    v = h[np.uint64(base + n)]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        hc = h[np.uint64(base + c)]
        if c + 1 < n:
            hc1 = h[np.uint64(base + c + 1)]
            if hc1 < hc:
                c += 1
                hc = hc1
        if v <= hc:
            break
        h[np.uint64(base + i)] = hc
        i = c
    h[np.uint64(base + i)] = v
    return top


# ------------------------------------------------------------- event loop
@numba.njit(inline="always", **JIT)  # inlined in Numba IR: no per-call array refcounting
def _wheel_push(ws, free_head, slot, link, pk):
    """Put event ``(link, pk)`` (``pk = -1``: TRY) in wheel slot ``slot``; returns the new free-list head.

    If the pool is exhausted the event is dropped and ``ws.err`` set to ``EVENT_POOL`` (the step is rerun)."""
    e = free_head
    if e == NIL:
        ws.err[0] = _EVENT_POOL
        return NIL
    ue, us = np.uint64(e), np.uint64(slot)  # indices >= 0: unsigned, no wraparound code
    nxt = ws.ev_next[ue]
    ws.ev_link[ue] = link
    ws.ev_pk[ue] = pk
    ws.ev_next[ue] = ws.bucket[us]
    ws.bucket[us] = e
    return nxt


_DEBRUIJN = np.uint64(0x03F79D71B4CB0A89)
_U0, _U1, _U58 = np.uint64(0), np.uint64(1), np.uint64(58)
#: Count of trailing zeros of a power of two ``b``: ``_CTZ[(b * _DEBRUIJN) >> 58]``.
_CTZ = np.zeros(64, np.int64)
for _i in range(64):
    _CTZ[(((1 << _i) * 0x03F79D71B4CB0A89) & (2**64 - 1)) >> 58] = _i


@numba.njit(inline="always", **JIT)  # inlined in Numba IR: no per-call array refcounting
def _mark(bits, rank):
    """Set bit ``rank`` of the dirty-link bitmap ``bits uint64[ceil(n_links/64)]``."""
    bits[np.uint64(rank >> 6)] |= _U1 << np.uint64(rank & 63)


@numba.njit(inline="always", **JIT)  # inlined in Numba IR: no per-call array refcounting
def _request(ws, link_tab, free_head, t, L, q, cap, mask, depth, ej0):
    """Packet key ``q`` requests link ``L`` (mesh or ejection) at cycle ``t``: it joins ``L``'s waiting heap, and
    ``L`` is marked dirty only if it could grant at ``t``; if busy, a TRY at its free cycle is ensured (a full
    buffer needs nothing: the slot's return re-dirties ``L``).  Returns the free-list head and the number of
    events put in the wheel (0 or 1).  A full heap drops the request and sets ``ws.err`` to ``WAIT_HEAP``."""
    wl = ws.link
    uL = np.uint64(L)
    n = wl[uL, WL_WQN]
    if n >= cap:
        ws.err[0] = _WAIT_HEAP
        return free_head, 0
    wl[uL, WL_WQN] = heap_push(ws.wq, L * cap, n, q)
    nx = wl[np.uint64(link_tab[uL, LT_PHYS]), WL_NEXT]  # the physical link's busy time
    if t < nx:
        if wl[uL, WL_TRY] != nx:
            wl[uL, WL_TRY] = nx
            return _wheel_push(ws, free_head, nx & mask, L, -1), 1
    elif (L >= ej0 and link_tab[uL, LT_DOWN] < 0) or wl[uL, WL_BUF] < link_tab[uL, LT_DEPTH]:  # ejection: no buffer
        _mark(ws.dbits, link_tab[uL, LT_RANK])
    return free_head, 0


@numba.njit(inline="always", **JIT)  # inlined in Numba IR: no per-call array refcounting
def _try_at(ws, link_tab, free_head, far_n, t, L, x, W, mask, NL):
    """Make link ``L`` be tried again at cycle ``x > t``: a dirty bit for the next cycle, a TRY event in the
    wheel, or (``x - t >= W``) an entry in the far heap.  Returns ``(free_head, far_n, wheel events added (0/1),
    next-cycle bit set)``."""
    ws.link[np.uint64(L), WL_TRY] = x
    if x == t + 1:
        _mark(ws.dnext, link_tab[np.uint64(L), LT_RANK])
        return free_head, far_n, 0, True
    if x - t < W:
        return _wheel_push(ws, free_head, x & mask, L, -1), far_n, 1, False
    return free_head, heap_push(ws.far, 0, far_n, x * NL + L), 0, False


# ------------------------------------------------------------- the steps of a cycle
@numba.njit(inline="always", **JIT)
def loop_start(out_link_busy, out_syn_free, pk, inj_ptr, inj_list, ws, NL, inj0, W, mask):
    """Start of a step: reset the link state, the wheel, the dirty bits, the event free list and the outputs
    (``out_link_busy`` per physical link, ``out_syn_free`` per core), and ask for a TRY of every send queue at
    its first packet's creation (wheel, or far heap beyond ``W`` cycles).  Returns ``(free_head, far_n,
    pending)``; ``ws.err`` is ``EVENT_POOL`` if the pool ran out (the caller returns it)."""
    wl = ws.link
    ws.err[0] = _OK
    for L in range(NL):
        wl[np.uint64(L), WL_NEXT] = 0
        wl[np.uint64(L), WL_TRY] = -1
        wl[np.uint64(L), WL_BUF] = 0
        wl[np.uint64(L), WL_WQN] = 0
    for L in range(out_link_busy.shape[0]):  # per physical link (channels may be more)
        out_link_busy[L] = 0
    ws.dbits[:] = 0
    ws.dnext[:] = 0
    ws.bucket[:] = NIL
    npool = ws.ev_next.shape[0]
    for e in range(npool):
        ws.ev_next[e] = e + 1
    ws.ev_next[npool - 1] = NIL
    free_head = 0
    far_n = 0
    pending = 0  # events in the wheel
    for c in range(inj_ptr.shape[0] - 1):  # the cores, host last
        out_syn_free[c] = 0
        ws.inj_head[c] = inj_ptr[c]
        if inj_ptr[c] < inj_ptr[c + 1]:
            x = pk[inj_list[inj_ptr[c]], PK_F]
            wl[inj0 + c, WL_TRY] = x
            if x < W:
                free_head = _wheel_push(ws, free_head, x & mask, inj0 + c, -1)
                pending += 1
            else:
                far_n = heap_push(ws.far, 0, far_n, x * NL + inj0 + c)
    return free_head, far_n, pending


@numba.njit(inline="always", **JIT)
def next_cycle(ws, t, pending, far_n, has_next, mask, NL):
    """The next cycle with work from ``t`` on: with an empty wheel and no TRY for ``t``, the next far entry (a
    send queue's next creation); else the first cycle from ``t`` whose wheel slot or far entry is due (no dirty
    link can appear in the cycles skipped; every wheel event lies within ``W`` cycles, so the scan ends)."""
    if pending == 0 and not has_next:
        return ws.far[0] // NL
    if not has_next:
        while ws.bucket[np.uint64(t & mask)] < 0 and (far_n == 0 or ws.far[0] >= (t + 1) * NL):
            t += 1
    return t


@numba.njit(inline="always", **JIT)
def apply_cycle(ws, link_tab, t, free_head, pending, far_n, has_next, cap, mask, depth, ej0, NL):
    """Phase 1 of cycle ``t``: the links to try at ``t`` marked at ``t - 1`` (``dnext``, if ``has_next``), then
    the cycle's wheel events (a TRY marks its link dirty; a request joins its link's waiting heap,
    :func:`_request`), then the far entries due.  Returns ``(free_head, pending, far_n)``; ``dnext`` is empty
    after it (``has_next`` becomes false)."""
    dbits = ws.dbits
    if has_next:
        for w in range(dbits.shape[0]):
            dbits[np.uint64(w)] |= ws.dnext[np.uint64(w)]
            ws.dnext[np.uint64(w)] = _U0
    slot = t & mask
    e = ws.bucket[np.uint64(slot)]
    ws.bucket[np.uint64(slot)] = NIL
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
    while far_n > 0 and ws.far[0] < (t + 1) * NL:  # far keys are time * NL + link, time >= t
        L = heap_pop(ws.far, 0, far_n) % NL
        far_n -= 1
        _mark(dbits, link_tab[np.uint64(L), LT_RANK])
    return free_head, pending, far_n


@numba.njit(inline="always", **JIT)
def pop_dirty(dbits, w, rank_link):
    """Clear the lowest set bit of word ``w`` of the dirty-link bitmap; returns that rank's link."""
    bits = dbits[np.uint64(w)]
    low = bits & (_U0 - bits)
    dbits[np.uint64(w)] = bits ^ low
    return rank_link[np.uint64(w * 64 + _CTZ[(low * _DEBRUIJN) >> _U58])]


@numba.njit(inline="always", **JIT)
def _retry(ws, link_tab, free_head, far_n, pending, has_next, t, L, x, W, mask, NL):
    """:func:`_try_at` with the loop's counters: returns ``(free_head, far_n, pending, has_next)``."""
    free_head, far_n, ne, nb = _try_at(ws, link_tab, free_head, far_n, t, L, x, W, mask, NL)
    return free_head, far_n, pending + ne, has_next or nb


@numba.njit(inline="always", **JIT)
def choose(ws, link_tab, pk, inj_ptr, inj_list, t, L, free_head, far_n, pending, has_next, cap, W, mask, NL, inj0,
           ej0, ej1):
    """Phase 2 for the dirty link ``L`` at cycle ``t``: may it grant now, and what?

    Returns ``(p, mid, b, free_head, far_n, pending, has_next)``.  ``p = -1``: nothing now (idle, busy --
    a TRY at its free cycle is ensured --, buffer full -- its slot's return re-dirties ``L`` --, or the
    sibling virtual channel holds an older packet -- both are tried again).  Else ``L`` grants ``p`` (``seq``
    rank): a send queue's head (dequeued; ``mid = b = -1``) or the smallest waiting key (popped; ``mid`` its
    middle 16 bits, destination core or tree node, ``b`` the buffer it sits in)."""
    wl = ws.link
    uL = np.uint64(L)
    if inj0 <= L < ej0:  # a send queue: packets in seq order, each from its creation cycle on
        c = np.uint64(L - inj0)
        h = ws.inj_head[c]
        if h >= inj_ptr[c + np.uint64(1)]:
            return -1, -1, -1, free_head, far_n, pending, has_next
        if wl[uL, WL_BUF] >= link_tab[uL, LT_DEPTH]:
            return -1, -1, -1, free_head, far_n, pending, has_next
        p = inj_list[np.uint64(h)]
        x = max(wl[uL, WL_NEXT], pk[np.uint64(p), PK_F])
        if x > t:  # busy or not yet created: make sure L is tried again at x
            if wl[uL, WL_TRY] != x:
                free_head, far_n, pending, has_next = _retry(ws, link_tab, free_head, far_n, pending, has_next, t, L,
                                                             x, W, mask, NL)
            return -1, -1, -1, free_head, far_n, pending, has_next
        ws.inj_head[c] = h + 1
        return p, -1, -1, free_head, far_n, pending, has_next
    nw = wl[uL, WL_WQN]
    if nw == 0:
        return -1, -1, -1, free_head, far_n, pending, has_next
    x = wl[np.uint64(link_tab[uL, LT_PHYS]), WL_NEXT]  # the physical link's busy time
    if t < x:
        if wl[uL, WL_TRY] != x:
            free_head, far_n, pending, has_next = _retry(ws, link_tab, free_head, far_n, pending, has_next, t, L, x,
                                                         W, mask, NL)
        return -1, -1, -1, free_head, far_n, pending, has_next
    if (L < inj0 or L >= ej1) and wl[uL, WL_BUF] >= link_tab[uL, LT_DEPTH]:  # ejection links have no buffer
        return -1, -1, -1, free_head, far_n, pending, has_next
    sb = link_tab[uL, LT_SIB]
    if sb >= 0 and link_tab[np.uint64(sb), LT_RANK] > link_tab[uL, LT_RANK]:
        uS = np.uint64(sb)  # the sibling VC, visited later this cycle: does it hold an older packet?
        if wl[uS, WL_WQN] > 0 and wl[uS, WL_BUF] < link_tab[uS, LT_DEPTH] and \
                ws.wq[np.uint64(sb * cap)] < ws.wq[np.uint64(L * cap)]:
            _mark(ws.dbits, link_tab[uS, LT_RANK])
            free_head, far_n, pending, has_next = _retry(ws, link_tab, free_head, far_n, pending, has_next, t, L,
                                                         t + 1, W, mask, NL)
            return -1, -1, -1, free_head, far_n, pending, has_next
    q = heap_pop(ws.wq, L * cap, nw)
    wl[uL, WL_WQN] = nw - 1
    return q >> 32, (q >> 16) & 0xFFFF, (q & 0xFFFF) - 1, free_head, far_n, pending, has_next


@numba.njit(inline="always", **JIT)
def occupy(ws, link_tab, out_link_busy, t, L, x):
    """The grant of cycle ``t`` on channel ``L`` holds its physical link for ``max(occ, 1) + x`` cycles and adds
    ``occ + x`` busy cycles to it (``x``: the packet's flits beyond a spike's on a link it crosses flit by flit,
    else 0); returns the physical link."""
    uL = np.uint64(L)
    uP = np.uint64(link_tab[uL, LT_PHYS])
    ws.link[uP, WL_NEXT] = t + link_tab[uL, LT_STEP] + x
    out_link_busy[uP] += link_tab[uL, LT_OCC] + x
    return uP


@numba.njit(inline="always", **JIT)
def release_slot(ws, link_tab, b, has_next):
    """A packet leaves the input buffer of channel ``b``: the slot is usable again from the next cycle (``b``
    is tried then if its buffer was full).  Returns ``has_next``."""
    ub = np.uint64(b)
    if ws.link[ub, WL_BUF] == link_tab[ub, LT_DEPTH]:
        _mark(ws.dnext, link_tab[ub, LT_RANK])
        has_next = True
    ws.link[ub, WL_BUF] -= 1
    return has_next


@numba.njit(inline="always", **JIT)
def forward(ws, link_tab, free_head, pending, t, lat, L2, q, cap, mask, depth, ej0):
    """Key ``q`` (granted at ``t`` on a link of head latency ``lat``) requests ``L2``: in this same cycle when
    ``lat = 0`` (``L2`` ranks later), else through the wheel at ``t + lat``.  Returns ``(free_head, pending)``."""
    if lat == 0:
        free_head, pushed = _request(ws, link_tab, free_head, t, L2, q, cap, mask, depth, ej0)
        return free_head, pending + pushed
    return _wheel_push(ws, free_head, (t + lat) & mask, L2, q), pending + 1


@numba.njit(inline="always", **JIT)
def serve(out_syn_free, d, a, cost):
    """A packet arrives at core ``d``'s synapse unit at ``a`` and keeps it ``cost`` cycles, after the packets
    before it (arrivals come in increasing ``a``, so no queue is needed); returns the service start."""
    start = max(a, out_syn_free[np.uint64(d)])
    out_syn_free[np.uint64(d)] = start + cost
    return start


@numba.njit(inline="always", **JIT)
def follow_up(ws, link_tab, pk, inj_ptr, inj_list, t, L, free_head, far_n, pending, has_next, W, mask, NL, inj0,
              ej0, ej1):
    """After a grant on ``L`` at ``t``: ensure a TRY of ``L`` when it can grant again (its send queue's next
    packet, or its next waiting key once the link is free); nothing if its buffer is full (the slot's return
    re-dirties it).  Returns ``(free_head, far_n, pending, has_next)``."""
    wl = ws.link
    uL = np.uint64(L)
    if not (ej0 <= L < ej1) and wl[uL, WL_BUF] >= link_tab[uL, LT_DEPTH]:
        return free_head, far_n, pending, has_next
    if inj0 <= L < ej0:
        c = np.uint64(L - inj0)
        h = ws.inj_head[c]
        if h < inj_ptr[c + np.uint64(1)]:
            x = max(wl[uL, WL_NEXT], pk[np.uint64(inj_list[np.uint64(h)]), PK_F])
            return _retry(ws, link_tab, free_head, far_n, pending, has_next, t, L, x, W, mask, NL)
    elif wl[uL, WL_WQN] > 0:
        x = wl[np.uint64(link_tab[uL, LT_PHYS]), WL_NEXT]
        return _retry(ws, link_tab, free_head, far_n, pending, has_next, t, L, x, W, mask, NL)
    return free_head, far_n, pending, has_next

