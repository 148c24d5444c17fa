"""The event loop of one timestep: arbitration of links, buffers and synapse units (``docs/engine-model.md`` §2.3-2.4).

:func:`run_events` takes four groups of arrays, each a ``NamedTuple`` built in Python:

- :class:`Packets` -- the step's packets from :func:`nmsim.sim.timing.build_packets`;
- :class:`LinkTables` -- per-model constants (:func:`nmsim.sim.engine.link_tables`);
- :class:`EventWorkspace` -- scratch arrays, reset by every call (:func:`new_workspace`);
- :class:`EventTrace` -- per-packet trace outputs (:func:`no_trace` when off);

and returns an :class:`EventError` (``OK``, or which workspace array was too small: the caller
grows it with :func:`grow_workspace` and reruns the step's timing).

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

from enum import IntEnum
from typing import NamedTuple

import numba
import numpy as np

from nmsim.jit import JIT

#: Columns of the per-packet record ``Packets.pk int64[cap, 3]`` (written by ``build_packets``).
PK_F, PK_DST, PK_COST = 0, 1, 2
#: Columns of ``LinkTables.link_tab int64[n_channels, 8]``: occupancy, head latency, ``max(occ, 1)``,
#: downstream router (-1: none), topological rank, physical link, the other virtual channel of that
#: link (-1: none).  Channels ``0..n_links-1`` are the links; on a 2-D board channel ``n_links + L`` is
#: virtual channel 1 of mesh link ``L`` (``nmsim.sim.engine.link_tables``).
LT_OCC, LT_LAT, LT_STEP, LT_DOWN, LT_RANK, LT_PHYS, LT_SIB = 0, 1, 2, 3, 4, 5, 6
#: ``link_tab`` column: depth of the channel's input buffer at its downstream router, packets (chip-to-chip
#: links may differ from the router buffers, ``docs/systems.md``)
LT_DEPTH = 7
#: Columns of the per-step link state ``EventWorkspace.link int64[n_channels, 8]`` (one 64-byte row per
#: channel): next cycle the link may grant (read and written in the physical link's row), cycle of its
#: pending TRY (-1: none), packets in its downstream buffer, size of its waiting heap.
WL_NEXT, WL_TRY, WL_BUF, WL_WQN = 0, 1, 2, 3
#: End of the event free list (``ev_next``).
NIL = -1


class EventError(IntEnum):
    """What :func:`run_events` returns; anything but ``OK`` means its results are void and the step is rerun."""

    OK = 0
    EVENT_POOL = 1  #: the event pool (``ev_next/ev_link/ev_pk``) ran out
    WAIT_HEAP = 2  #: a link's waiting heap (``wq``, ``cap`` entries per link) was full

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {EventError.OK: "no error", EventError.EVENT_POOL: "event pool exhausted",
             EventError.WAIT_HEAP: "a link's waiting heap is full"}
_OK, _EVENT_POOL, _WAIT_HEAP = int(EventError.OK), int(EventError.EVENT_POOL), int(EventError.WAIT_HEAP)


class Packets(NamedTuple):
    """One step's packets in ``seq`` order (``packet id == seq rank``), from ``build_packets``."""

    pk: np.ndarray  #: int64[>= n, 3]: ``PK_F`` creation cycle, ``PK_DST`` destination core, ``PK_COST`` synapse cycles
    n: int  #: number of packets
    inj_ptr: np.ndarray  #: int64[C+2]: packets of source core ``c`` (host = ``C``) are ...
    inj_list: np.ndarray  #: int64[>= n]: ... ``inj_list[inj_ptr[c]:inj_ptr[c+1]]``, in ``seq`` order


class LinkTables(NamedTuple):
    """Per-model constants of the event loop (:func:`nmsim.sim.engine.link_tables`)."""

    link_tab: np.ndarray  #: int64[n_channels, 8], columns ``LT_*``
    rank_link: np.ndarray  #: int64[n_channels]: channel of each topological rank
    next_link: np.ndarray  #: int64[R, R]: channel out of router ``r`` towards ``rd`` (XY on one chip)
    core_router: np.ndarray  #: int32[C+1]: router of each core, host last
    depth: int  #: the deepest input buffer, packets (>= 1); each channel's own is ``link_tab[:, LT_DEPTH]``


class EventWorkspace(NamedTuple):
    """Scratch arrays of :func:`run_events`, reset by every call; built by :func:`new_workspace`."""

    link: np.ndarray  #: int64[n_links, 8]: per-link state, columns ``WL_*``
    dbits: np.ndarray  #: uint64[ceil(n_links/64)]: links dirty at this cycle, by rank
    dnext: np.ndarray  #: uint64[ceil(n_links/64)]: links dirty at the next cycle, by rank
    wq: np.ndarray  #: int64[n_links * cap]: one waiting min-heap of packet keys per link
    bucket: np.ndarray  #: int64[W]: first event of each wheel slot (``NIL``: none)
    ev_next: np.ndarray  #: int64[pool]: next event in the slot, or in the free list
    ev_link: np.ndarray  #: int64[pool]: link of the event
    ev_pk: np.ndarray  #: int64[pool]: packet key of a REQ, -1 for a TRY
    far: np.ndarray  #: int64[>= C+1]: min-heap of ``cycle * n_links + link`` beyond the wheel
    inj_head: np.ndarray  #: int64[C+1]: next packet of each send queue (index into ``inj_list``)
    err: np.ndarray  #: int64[1]: the call's ``EventError``


class EventTrace(NamedTuple):
    """Per-packet trace outputs of :func:`run_events` (written only if ``on``)."""

    on: bool
    grant: np.ndarray  #: int64[tr_ptr[n]]: grant cycle of each link of each packet, in path order
    link: np.ndarray  #: int32[tr_ptr[n]]: the link
    ptr: np.ndarray  #: int64[n+1]: packet ``p``'s links are at ``ptr[p]..ptr[p+1]-1``
    arrival: np.ndarray  #: int64[n]: cycle the packet reaches its destination core
    syn_start: np.ndarray  #: int64[n]: synapse-unit service start
    syn_end: np.ndarray  #: int64[n]: synapse-unit service end
    hop: np.ndarray  #: int64[>= n]: scratch, links granted so far per packet


def wheel_size(link_lat: np.ndarray, link_step: np.ndarray) -> int:
    """Smallest power of two ``W > max(latency, max(occ, 1))`` over all links: every wheel event lies within ``W`` cycles."""
    m = max(int(link_lat.max(initial=0)), int(link_step.max(initial=1)), 1)
    W = 2
    while W <= m:
        W *= 2
    return W


def new_workspace(n_links: int, n_cores: int, depth: int, cores_per_router: int, wheel: int) -> EventWorkspace:
    """Workspace for a chip of ``n_links`` links and ``n_cores`` cores (host excluded).

    Waiting heaps hold ``depth x (4 + cores_per_router + 1)`` keys per link (the packets a router's input
    buffers can hold); the event pool ``(depth + 4) x n_links + 64`` events; ``wheel`` slots
    (:func:`wheel_size`).  Both bounds suffice in practice; :func:`grow_workspace` doubles one if not."""
    nw = (n_links + 63) // 64
    pool = (depth + 4) * n_links + 64
    return EventWorkspace(link=np.zeros((n_links, 8), np.int64), dbits=np.zeros(nw, np.uint64),
                          dnext=np.zeros(nw, np.uint64),
                          wq=np.zeros(n_links * depth * (4 + cores_per_router + 1), np.int64),
                          bucket=np.full(wheel, NIL, np.int64), ev_next=np.zeros(pool, np.int64),
                          ev_link=np.zeros(pool, np.int64), ev_pk=np.zeros(pool, np.int64),
                          far=np.zeros(n_cores + 1, np.int64), inj_head=np.zeros(n_cores + 1, np.int64),
                          err=np.zeros(1, np.int64))


#: Largest event pool or waiting-heap array :func:`grow_workspace` makes (entries).
MAX_GROWN = 1 << 28


def grow_workspace(ws: EventWorkspace, err: EventError) -> EventWorkspace:
    """``ws`` with the array that ``err`` names doubled (its contents are scratch)."""
    if max(ws.ev_next.shape[0], ws.wq.shape[0]) > MAX_GROWN:
        raise RuntimeError(f"run_events: {err.message} and the workspace keeps growing (a bug)")
    if err == EventError.EVENT_POOL:
        n = 2 * ws.ev_next.shape[0]
        return ws._replace(ev_next=np.zeros(n, np.int64), ev_link=np.zeros(n, np.int64), ev_pk=np.zeros(n, np.int64))
    if err == EventError.WAIT_HEAP:
        return ws._replace(wq=np.zeros(2 * ws.wq.shape[0], np.int64))
    raise ValueError(f"grow_workspace: {err!r} names no workspace array")


def no_trace(ptr: np.ndarray) -> EventTrace:
    """An :class:`EventTrace` that records nothing."""
    z = np.zeros(0, np.int64)
    return EventTrace(False, z, np.zeros(0, np.int32), ptr, z, z, z, np.zeros(1, np.int64))


def new_trace(ptr: np.ndarray, n_pk: int, hop: np.ndarray) -> EventTrace:
    """An :class:`EventTrace` for ``n_pk`` packets whose links are laid out by ``ptr`` (from ``build_packets``)."""
    n_links = int(ptr[n_pk])
    return EventTrace(True, np.zeros(n_links, np.int64), np.zeros(n_links, np.int32), ptr, np.zeros(n_pk, np.int64),
                      np.zeros(n_pk, np.int64), np.zeros(n_pk, np.int64), hop)


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
    depth = links.depth
    wl, dbits, dnext, bucket, far, inj_head = ws.link, ws.dbits, ws.dnext, ws.bucket, ws.far, ws.inj_head
    trace = tr.on
    NL = link_tab.shape[0]
    C = inj_ptr.shape[0] - 2
    inj0 = 4 * next_link.shape[0]
    ej0 = inj0 + C + 1
    ej1 = ej0 + C + 1  # channels from ej1 on: virtual channel 1 of the mesh links (2-D boards)
    cap = ws.wq.shape[0] // NL
    W = bucket.shape[0]
    mask = W - 1
    ws.err[0] = _OK
    for L in range(NL):
        wl[np.uint64(L), WL_NEXT] = 0
        wl[np.uint64(L), WL_TRY] = -1
        wl[np.uint64(L), WL_BUF] = 0
        wl[np.uint64(L), WL_WQN] = 0
    for L in range(out_link_busy.shape[0]):  # per physical link (channels may be more)
        out_link_busy[L] = 0
    dbits[:] = 0
    dnext[:] = 0
    has_next = False  # some bit of dnext is set
    bucket[:] = NIL
    npool = ws.ev_next.shape[0]
    for e in range(npool):
        ws.ev_next[e] = e + 1
    ws.ev_next[npool - 1] = NIL
    free_head = 0
    if trace:
        tr.hop[:packets.n] = 0
    far_n = 0
    t = np.int64(0)
    for c in range(C + 1):
        out_syn_free[c] = 0
        inj_head[c] = inj_ptr[c]
        if inj_ptr[c] < inj_ptr[c + 1]:
            x = pk[inj_list[inj_ptr[c]], PK_F]
            wl[inj0 + c, WL_TRY] = x
            if x < W:
                free_head = _wheel_push(ws, free_head, x & mask, inj0 + c, -1)
            else:
                far_n = heap_push(far, 0, far_n, x * NL + inj0 + c)
    if ws.err[0] != _OK:
        return ws.err[0]
    pending = 0  # events in the wheel
    for c in range(C + 1):
        if inj_ptr[c] < inj_ptr[c + 1] and pk[inj_list[inj_ptr[c]], PK_F] < W:
            pending += 1
    nwords = dbits.shape[0]

    while pending > 0 or far_n > 0 or has_next:
        if pending == 0 and not has_next:
            t = far[0] // NL  # idle wheel: jump to the next packet creation
        elif not has_next:
            # nothing due before the next non-empty wheel slot or far entry: skip the empty cycles (no dirty
            # link can appear in them; every event lies within W cycles, so the scan ends)
            while bucket[np.uint64(t & mask)] < 0 and (far_n == 0 or far[0] >= (t + 1) * NL):
                t += 1
        # phase 1: apply this cycle's events (requests join waiting heaps; links that may grant are marked)
        if has_next:  # TRYs for t made at t - 1 (most of them: slot returns, links with occ <= 1)
            for w in range(nwords):
                dbits[np.uint64(w)] |= dnext[np.uint64(w)]
                dnext[np.uint64(w)] = _U0
            has_next = False
        slot = t & mask
        e = bucket[np.uint64(slot)]
        bucket[np.uint64(slot)] = NIL
        while e >= 0:
            nxt, L, p = ws.ev_next[np.uint64(e)], ws.ev_link[np.uint64(e)], ws.ev_pk[np.uint64(e)]
            ws.ev_next[np.uint64(e)] = free_head
            free_head = e
            pending -= 1
            e = nxt
            if p < 0:
                _mark(dbits, link_tab[np.uint64(L), LT_RANK])
                continue
            free_head, pushed = _request(ws, link_tab, free_head, t, L, p, cap, mask, depth, ej0)
            pending += pushed
            if ws.err[0] != _OK:
                break
        while far_n > 0 and far[0] < (t + 1) * NL:  # far keys are time * NL + link, time >= t
            L = heap_pop(far, 0, far_n) % NL
            far_n -= 1
            _mark(dbits, link_tab[np.uint64(L), LT_RANK])
        # phase 2: each dirty link grants at most one packet, in topological rank order
        c = 0
        for w in range(nwords):
            while dbits[np.uint64(w)] != _U0 and ws.err[0] == _OK:
                bits = dbits[np.uint64(w)]
                low = bits & (_U0 - bits)
                dbits[np.uint64(w)] = bits ^ low
                L = rank_link[np.uint64(w * 64 + _CTZ[(low * _DEBRUIJN) >> _U58])]
                uL = np.uint64(L)
                uP = np.uint64(link_tab[uL, LT_PHYS])  # its physical link (itself but for VC 1)
                inj = inj0 <= L < ej0
                if inj:
                    c = L - inj0
                    h = inj_head[np.uint64(c)]
                    if h >= inj_ptr[np.uint64(c + 1)]:
                        continue
                    p = inj_list[np.uint64(h)]
                    d = pk[np.uint64(p), PK_DST]
                    b = -1
                    if wl[uL, WL_BUF] >= link_tab[uL, LT_DEPTH]:
                        continue  # the slot's return re-dirties L
                    x = max(wl[uL, WL_NEXT], pk[np.uint64(p), PK_F])
                    if x > t:  # busy or not yet created: make sure L is tried again at x
                        if wl[uL, WL_TRY] != x:
                            free_head, far_n, ne, nb = _try_at(ws, link_tab, free_head, far_n, t, L, x, W, mask, NL)
                            pending += ne
                            has_next = has_next or nb
                        continue
                    inj_head[np.uint64(c)] = h + 1
                else:
                    nw = wl[uL, WL_WQN]
                    if nw == 0:
                        continue
                    x = wl[uP, WL_NEXT]
                    if t < x:
                        if wl[uL, WL_TRY] != x:
                            free_head, far_n, ne, nb = _try_at(ws, link_tab, free_head, far_n, t, L, x, W, mask, NL)
                            pending += ne
                            has_next = has_next or nb
                        continue
                    if (L < inj0 or L >= ej1) and wl[uL, WL_BUF] >= link_tab[uL, LT_DEPTH]:
                        continue
                    sb = link_tab[uL, LT_SIB]
                    if sb >= 0 and link_tab[np.uint64(sb), LT_RANK] > link_tab[uL, LT_RANK]:
                        uS = np.uint64(sb)  # the sibling VC, visited later this cycle: does it hold an older packet?
                        if wl[uS, WL_WQN] > 0 and wl[uS, WL_BUF] < link_tab[uS, LT_DEPTH] and ws.wq[np.uint64(sb * cap)] < \
                                ws.wq[np.uint64(L * cap)]:
                            _mark(dbits, link_tab[uS, LT_RANK])
                            free_head, far_n, ne, nb = _try_at(ws, link_tab, free_head, far_n, t, L, t + 1, W, mask,
                                                               NL)
                            pending += ne
                            has_next = has_next or nb
                            continue
                    q = heap_pop(ws.wq, L * cap, nw)
                    wl[uL, WL_WQN] = nw - 1
                    p, d, b = q >> 32, (q >> 16) & 0xFFFF, (q & 0xFFFF) - 1
                # grant packet p on link L at cycle t
                wl[uP, WL_NEXT] = t + link_tab[uL, LT_STEP]
                out_link_busy[uP] += link_tab[uL, LT_OCC]
                if b >= 0:  # leaves the buffer it sat in; the slot is usable again from t + 1
                    if wl[np.uint64(b), WL_BUF] == link_tab[np.uint64(b), LT_DEPTH]:
                        _mark(dnext, link_tab[np.uint64(b), LT_RANK])
                        has_next = True
                    wl[np.uint64(b), WL_BUF] -= 1
                if trace:
                    i = tr.ptr[p] + tr.hop[p]
                    tr.grant[i] = t
                    tr.link[i] = uP
                    tr.hop[p] += 1
                lat = link_tab[uL, LT_LAT]
                if ej0 <= L < ej1:  # ejection: arrival at the synapse unit, served online (see module doc)
                    a = t + lat
                    start = max(a, out_syn_free[np.uint64(d)])
                    out_syn_free[np.uint64(d)] = start + pk[np.uint64(p), PK_COST]
                    if trace:
                        tr.arrival[p] = a
                        tr.syn_start[p] = start
                        tr.syn_end[p] = out_syn_free[np.uint64(d)]
                else:
                    wl[uL, WL_BUF] += 1
                    r, rd = link_tab[uL, LT_DOWN], core_router[np.uint64(d)]
                    L2 = next_link[np.uint64(r), np.uint64(rd)] if r != rd else ej0 + d
                    q = (p << 32) | (d << 16) | (L + 1)
                    if lat == 0:  # request visible in this same cycle; L2 ranks after L
                        free_head, pushed = _request(ws, link_tab, free_head, t, L2, q, cap, mask, depth, ej0)
                        pending += pushed
                    else:
                        free_head = _wheel_push(ws, free_head, (t + lat) & mask, L2, q)
                        pending += 1
                # follow-up: when can L grant again?  (a full buffer needs nothing: its slot's return re-dirties L)
                if not (ej0 <= L < ej1) and wl[uL, WL_BUF] >= link_tab[uL, LT_DEPTH]:
                    pass
                elif inj:
                    h = inj_head[np.uint64(c)]
                    if h < inj_ptr[np.uint64(c + 1)]:
                        x = max(wl[uL, WL_NEXT], pk[np.uint64(inj_list[np.uint64(h)]), PK_F])
                        free_head, far_n, ne, nb = _try_at(ws, link_tab, free_head, far_n, t, L, x, W, mask, NL)
                        pending += ne
                        has_next = has_next or nb
                elif wl[uL, WL_WQN] > 0:
                    free_head, far_n, ne, nb = _try_at(ws, link_tab, free_head, far_n, t, L, wl[uP, WL_NEXT], W,
                                                       mask, NL)
                    pending += ne
                    has_next = has_next or nb
        if ws.err[0] != _OK:  # checked before phase 1 of the next cycle refills the free list
            return ws.err[0]
        t += 1
    return _OK


__all__ = ["PK_F", "PK_DST", "PK_COST", "LT_OCC", "LT_LAT", "LT_STEP", "LT_DOWN", "LT_RANK", "LT_PHYS", "LT_DEPTH",
           "LT_SIB", "NIL", "EventError",
           "Packets", "LinkTables", "EventWorkspace", "EventTrace", "wheel_size", "new_workspace", "grow_workspace",
           "no_trace", "new_trace", "heap_push", "heap_pop", "run_events"]
