"""The event loop's layout: packet, link-table and link-state columns, its error codes, and the arrays it runs on
(``docs/engine-model.md`` §2.3-2.4; the loop itself is :func:`nmsim.sim.events.run_events`).

Four groups of arrays, each a ``NamedTuple`` built in Python: :class:`Packets` (one step's packets, from
:func:`nmsim.sim.timing.build_packets`), :class:`LinkTables` (per-model constants,
:func:`nmsim.sim.engine.link_tables`), :class:`EventWorkspace` (scratch, reset by every call,
:func:`new_workspace`) and :class:`EventTrace` (per-packet trace outputs, :func:`no_trace` when off).
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

import numpy as np

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
    #: flits a packet to the host has beyond a spike's (``readout_flits_per_packet - flits_per_packet``, >= 0):
    #: added to the occupancy and head latency of the mesh and ejection links it takes (spec §2.2-2.3)
    host_extra: int = 0


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


def wheel_size(link_lat: np.ndarray, link_step: np.ndarray, host_extra: int = 0) -> int:
    """Smallest power of two ``W > max(latency, max(occ, 1))`` over all links and packets (a packet to the host
    adds ``host_extra`` cycles to both): every wheel event lies within ``W`` cycles."""
    m = max(int(link_lat.max(initial=0)), int(link_step.max(initial=1)), 1) + max(int(host_extra), 0)
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
