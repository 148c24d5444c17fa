"""Timing step kernels: what one timestep costs (``docs/engine-model.md`` §2-3).

Model-agnostic: from the functional side these kernels need only, per step,
the per-neuron ``fired`` and ``active`` flags (``uint8[N]``) and the list of
firing neurons in ascending global index (:func:`nmsim.sim.functional.list_fired`).
A new neuron model changes none of this file.

Kernels, in call order per step:

- :func:`neuron_phase`: neuron-unit finish cycles ``f_i``, core ends ``E_c``,
  update/spike/barrier counters.
- :func:`build_packets`: one packet per (firing neuron, route), numbered in
  ``seq`` order ``(f_g, source core, g, k)`` (``packet id == seq rank``), per
  source core the injection queue in ``seq`` order, and the packet counters
  (which do not depend on arbitration).
- :func:`run_events`: the discrete-event arbitration of links, buffers and
  synapse units; fills ``link_busy`` and each core's synapse-unit end ``free_c``.

Event loop (details and complexity: "Implementation notes" of
``docs/engine-model.md``): cycles advance one at a time over a timing wheel
(ring of per-cycle event lists, ``W`` = a power of two above every latency and
occupancy), TRYs due next cycle go to a bitmap, and the loop jumps to the next
packet creation when nothing is pending.  Events are ``REQ(packet, link)`` (a
request visible from that cycle) and ``TRY(link)`` (look at a link again: it
became free, a slot of its buffer returned, or the head of a send queue is
created).  Each cycle: (1) apply the cycle's events (requests join the link's
waiting heap, keyed by ``seq``) and mark the links that could grant; (2) visit
those links in ascending *topological rank* and let each grant at most one
packet, the waiting one with the smallest ``seq``.

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
"""

from __future__ import annotations

import numba
import numpy as np

from nmsim.compile.compiled import T
from nmsim.describe.actions import A
from nmsim.jit import JIT

_T_ACTIVE, _T_IDLE = T["neuron_update_active_cycles"], T["neuron_update_idle_cycles"]
_T_RECV, _T_READ = T["packet_receive_cycles"], T["synapse_read_cycles"]
_T_FLITS, _T_DEPTH = T["flits_per_packet"], T["router_buffer_packets"]
_A_ACTIVE, _A_IDLE, _A_SPIKE, _A_BARRIER = A["neuron_update_active"], A["neuron_update_idle"], A["spike"], A["barrier"]
_A_SEND, _A_IO, _A_EW, _A_NS = A["packet_send"], A["io_packet"], A["flit_hop_east_west"], A["flit_hop_north_south"]
_A_DELIV, _A_RECV, _A_READ, _A_SYNOP = A["local_delivery"], A["packet_receive"], A["synapse_read"], A["synaptic_op"]

#: Columns of the per-packet record ``pk int64[n_pk, 4]`` (see :func:`build_packets`).
PK_F, PK_DST, PK_COST = 0, 1, 2

#: Columns of ``link_tab int64[n_links, 8]`` (constants, :func:`nmsim.sim.engine.link_tables`) and of the
#: per-step link state ``ws_link int64[n_links, 8]`` (one 64-byte row per link).
LT_OCC, LT_LAT, LT_STEP, LT_DOWN, LT_RANK = 0, 1, 2, 3, 4
WL_NEXT, WL_TRY, WL_BUF, WL_WQN = 0, 1, 2, 3

#: ``out_err[0]`` codes of :func:`run_events` (the caller grows the workspace and reruns).
ERR_EVENT_POOL, ERR_WAIT_HEAP = 1, 2


# ----------------------------------------------------------------- neuron unit
@numba.njit(**JIT)
def neuron_phase_enabled(out_finish, out_core_end, out_counters, fired, active, enable, core_neuron_ptr, timing):
    """Neuron unit (spec §2.1) and its counters (§3).

    ``out_finish int64[N]`` (cycle ``f_i``; 0 for host neurons); ``out_core_end int64[C+1]``
    (``E_c``; 0 for the host); ``out_counters int64[C+1, N_ACTIONS]`` (added to: updates,
    spikes, one barrier in the host column).  ``fired, active, enable uint8[N]`` (a disabled core
    neuron costs nothing and counts nothing: its ``f_i`` is the previous neuron's);
    ``core_neuron_ptr int64[C+2]``; ``timing int64[n_timing]``.
    """
    C = core_neuron_ptr.shape[0] - 2
    ta, ti = timing[_T_ACTIVE], timing[_T_IDLE]
    for c in range(C):
        t = np.int64(0)
        for i in range(core_neuron_ptr[c], core_neuron_ptr[c + 1]):
            if enable[i] == 0:
                out_finish[i] = t
                continue
            if active[i]:
                t += ta
                out_counters[c, _A_ACTIVE] += 1
            else:
                t += ti
                out_counters[c, _A_IDLE] += 1
            out_finish[i] = t
            out_counters[c, _A_SPIKE] += fired[i]
        out_core_end[c] = t
    for i in range(core_neuron_ptr[C], core_neuron_ptr[C + 1]):
        out_finish[i] = 0
        out_counters[C, _A_SPIKE] += fired[i]
    out_core_end[C] = 0
    out_counters[C, _A_BARRIER] += 1


@numba.njit(**JIT)
def neuron_phase(out_finish, out_core_end, out_counters, fired, active, core_neuron_ptr, timing):
    """:func:`neuron_phase_enabled` with every neuron enabled."""
    neuron_phase_enabled(out_finish, out_core_end, out_counters, fired, active, np.ones(fired.shape[0], np.uint8),
                         core_neuron_ptr, timing)


# ------------------------------------------------------------------- packets
@numba.njit(**JIT)
def _stable_argsort_runs(f):
    """``np.argsort(f, kind="mergesort")`` (stable) by a k-way merge of the maximal non-decreasing runs of ``f``.

    ``f`` is a few sorted runs (each core's finish cycles rise with the neuron index), so this is
    ``O(n log runs)`` instead of a full merge sort.  Ties between runs go to the earlier run, and within a
    run positions keep their order: exactly the stable order."""
    n = f.shape[0]
    order = np.empty(n, dtype=np.int64)
    if n == 0:
        return order
    n_runs = 1
    for j in range(1, n):
        if f[j] < f[j - 1]:
            n_runs += 1
    if n_runs == 1:
        for j in range(n):
            order[j] = j
        return order
    head = np.empty(n_runs, dtype=np.int64)  # next position of each run
    end = np.empty(n_runs, dtype=np.int64)
    r = 0
    head[0] = 0
    for j in range(1, n):
        if f[j] < f[j - 1]:
            end[r] = j
            r += 1
            head[r] = j
    end[r] = n
    # min-heap of runs keyed by (f at the run's head, run id): ``hr`` run ids, ``hk`` their cached keys
    hr = np.empty(n_runs, dtype=np.int64)
    hk = np.empty(n_runs, dtype=np.int64)
    m = 0
    for v in range(n_runs):  # sift-up insertion (n_runs is small)
        fv = f[head[v]]
        i = m
        while i > 0:
            par = (i - 1) >> 1
            if hk[par] < fv or (hk[par] == fv and hr[par] < v):
                break
            hr[i] = hr[par]
            hk[i] = hk[par]
            i = par
        hr[i] = v
        hk[i] = fv
        m += 1
    for j in range(n):
        v = hr[0]
        order[j] = head[v]
        head[v] += 1
        if head[v] == end[v]:  # run exhausted: sift the last heap entry down from the root
            m -= 1
            if m == 0:
                break
            v = hr[m]
            fv = hk[m]
        else:
            fv = f[head[v]]
        i = 0
        while True:
            c = 2 * i + 1
            if c >= m:
                break
            if c + 1 < m and (hk[c + 1] < hk[c] or (hk[c + 1] == hk[c] and hr[c + 1] < hr[c])):
                c += 1
            if fv < hk[c] or (fv == hk[c] and v < hr[c]):
                break
            hr[i] = hr[c]
            hk[i] = hk[c]
            i = c
        hr[i] = v
        hk[i] = fv
    return order


@numba.njit(**JIT)
def build_packets(out_counters, out_pk, out_inj_ptr, out_inj_list, out_pk_src, out_pk_route, out_tr_ptr,
                  fired_list, n_fired, finish, neuron_core, route_ptr, route_core, route_row, row_ptr, row_n_reads,
                  core_router, hops_x, hops_y, timing, trace):
    """Packets of one step in ``seq`` order (spec §2.2; packet id = rank of ``(f_g, core, g, k)``) and their counters (§3).

    Outputs (first ``n_pk`` entries): ``out_counters int64[C+1, N_ACTIONS]`` (added to: packet_send / io_packet,
    flit hops, local_delivery, packet_receive, synapse_read, synaptic_op); ``out_pk int64[n_pk, 3]``:
    ``PK_F`` (creation cycle ``f_g``), ``PK_DST`` (destination core), ``PK_COST`` (synapse-unit cycles
    ``packet_receive + row_n_reads * synapse_read``); ``out_inj_ptr int64[C+2]``, ``out_inj_list int64[n_pk]``:
    the packets of source core ``c`` (host = ``C``) in ``seq`` order are
    ``out_inj_list[out_inj_ptr[c]:out_inj_ptr[c+1]]``.  Only if ``trace``: ``out_pk_src, out_pk_route int64``
    (``g``, ``k``) and ``out_tr_ptr int64[n_pk+1]`` (offsets of each packet's links: injection, hops, ejection).
    Inputs: ``fired_list int64`` ascending (the stable sort keeps ``g`` order among equal ``f_g``, and neurons
    are grouped by core, host last, so ``g`` order is ``(core, g)`` order); ``finish int64[N]``;
    ``neuron_core int32[N]``; routing/CSR arrays of ``CompiledModel``.
    """
    C = out_counters.shape[0] - 1
    flits, recv, read = timing[_T_FLITS], timing[_T_RECV], timing[_T_READ]
    f = np.empty(n_fired, dtype=np.int64)
    out_inj_ptr[:] = 0
    for j in range(n_fired):
        g = fired_list[j]
        f[j] = finish[g]
        out_inj_ptr[neuron_core[g] + 1] += route_ptr[g + 1] - route_ptr[g]
    for c in range(C + 1):
        out_inj_ptr[c + 1] += out_inj_ptr[c]
    cursor = out_inj_ptr[:-1].copy()
    order = _stable_argsort_runs(f)
    p = 0
    if trace:
        out_tr_ptr[0] = 0
    for j in range(n_fired):
        g = fired_list[order[j]]
        s = neuron_core[g]
        rs = core_router[s]
        for k in range(route_ptr[g], route_ptr[g + 1]):
            d, row = route_core[k], route_row[k]
            rd = core_router[d]
            out_pk[p, PK_F] = f[order[j]]
            out_pk[p, PK_DST] = d
            out_inj_list[cursor[s]] = p
            cursor[s] += 1
            out_counters[s, _A_IO if s == C else _A_SEND] += 1
            out_counters[s, _A_EW] += flits * hops_x[rs, rd]
            out_counters[s, _A_NS] += flits * hops_y[rs, rd]
            if d == C:  # to the host (row -1): received by the host's I/O port, no synapse work
                out_pk[p, PK_COST] = 0
                out_counters[C, _A_IO] += 1
            else:
                out_pk[p, PK_COST] = recv + row_n_reads[row] * read
                out_counters[d, _A_DELIV] += 1
                out_counters[d, _A_RECV] += 1
                out_counters[d, _A_READ] += row_n_reads[row]
                out_counters[d, _A_SYNOP] += row_ptr[row + 1] - row_ptr[row]
            if trace:
                out_pk_src[p] = g
                out_pk_route[p] = k
                out_tr_ptr[p + 1] = out_tr_ptr[p] + 2 + hops_x[rs, rd] + hops_y[rs, rd]
            p += 1


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
def _wheel_push(bucket, ev_next, ev_link, ev_pk, free_head, slot, link, pk):
    """Put event ``(link, pk)`` (``pk = -1``: TRY) in wheel slot ``slot``.

    Returns the new free-list head (-1: now empty; -2: pool exhausted; an earlier -2/-3 is kept)."""
    e = free_head
    if e < 0:  # keep an earlier error code (-2 pool exhausted, -3 waiting heap full)
        return -2 if e == -1 else e
    ue, us = np.uint64(e), np.uint64(slot)  # indices >= 0: unsigned, no wraparound code
    nxt = ev_next[ue]
    ev_link[ue] = link
    ev_pk[ue] = pk
    ev_next[ue] = bucket[us]
    bucket[us] = e
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
def _request(ws_wq, ws_link, ws_dbits, ws_bucket, ws_ev_next, ws_ev_link, ws_ev_pk,
             free_head, t, L, q, cap, mask, depth, ej0, link_tab):
    """Packet key ``q`` requests link ``L`` (mesh or ejection) at cycle ``t``: it joins ``L``'s waiting heap, and
    ``L`` is marked dirty only if it could grant at ``t``; if busy, a TRY at its free cycle is ensured (a full
    buffer needs nothing: the slot's return re-dirties ``L``).  Returns the free-list head (-2: pool
    exhausted, -3: waiting heap full) and the number of events put in the wheel (0 or 1)."""
    n = ws_link[np.uint64(L), WL_WQN]
    if n >= cap:
        return (free_head if free_head < -1 else -3), 0
    ws_link[np.uint64(L), WL_WQN] = heap_push(ws_wq, L * cap, n, q)
    if t < ws_link[np.uint64(L), WL_NEXT]:
        if ws_link[np.uint64(L), WL_TRY] != ws_link[np.uint64(L), WL_NEXT]:
            ws_link[np.uint64(L), WL_TRY] = ws_link[np.uint64(L), WL_NEXT]
            return _wheel_push(ws_bucket, ws_ev_next, ws_ev_link, ws_ev_pk, free_head, ws_link[np.uint64(L), WL_NEXT] & mask, L, -1), 1
    elif L >= ej0 or ws_link[np.uint64(L), WL_BUF] < depth:
        _mark(ws_dbits, link_tab[np.uint64(L), LT_RANK])
    return free_head, 0


@numba.njit(inline="always", **JIT)  # inlined in Numba IR: no per-call array refcounting
def _try_at(ws_link, ws_dnext, ws_bucket, ws_ev_next, ws_ev_link, ws_ev_pk, ws_far, link_tab,
            free_head, far_n, t, L, x, W, mask, NL):
    """Make link ``L`` be tried again at cycle ``x > t``: a dirty bit for the next cycle, a TRY event in the
    wheel, or (``x - t >= W``) an entry in the far heap.  Returns ``(free_head, far_n, wheel events added (0/1),
    next-cycle bit set)``."""
    ws_link[np.uint64(L), WL_TRY] = x
    if x == t + 1:
        _mark(ws_dnext, link_tab[np.uint64(L), LT_RANK])
        return free_head, far_n, 0, True
    if x - t < W:
        return _wheel_push(ws_bucket, ws_ev_next, ws_ev_link, ws_ev_pk, free_head, x & mask, L, -1), far_n, 1, False
    return free_head, heap_push(ws_far, 0, far_n, x * NL + L), 0, False


@numba.njit(_nrt=False, **JIT)  # no allocation inside: without NRT, no per-use array refcounting (atomic ops)
def run_events(out_link_busy, out_syn_free, out_err,
               tr_grant, tr_link, tr_ptr, tr_arrival, tr_syn_start, tr_syn_end, trace,
               pk, n_pk, inj_ptr, inj_list, core_router, timing,
               link_tab, rank_link, next_link, n_routers,
               ws_link, ws_dbits, ws_dnext, ws_wq,
               ws_bucket, ws_ev_next, ws_ev_link, ws_ev_pk, ws_far, ws_inj_head, ws_hop):
    """Arbitrate every link, buffer and synapse unit of one step (spec §2.3-2.4).

    Outputs: ``out_link_busy int64[n_links]`` (sum of ``occ`` over grants), ``out_syn_free int64[C+1]``
    (synapse-unit end ``free_c``, 0 if idle), ``out_err int64[1]`` (0, or ``ERR_*``: workspace too small).
    Trace (only if ``trace``): ``tr_grant int64``/``tr_link int32`` at ``tr_ptr[p]..tr_ptr[p+1]-1`` (grant cycle
    and link of each link of packet ``p`` in path order), ``tr_arrival/tr_syn_start/tr_syn_end int64[n_pk]``.
    Packets from :func:`build_packets`.  In flight, a packet is the key ``p << 32 | dst << 16 | (buf + 1)``
    (``p`` = ``seq`` rank, ``buf`` = the buffer it sits in, -1 = none): waiting heaps order by ``seq`` and the
    loop never touches per-packet memory between injection and ejection (needs ``n_cores < 2**16``,
    ``n_links < 2**16 - 1``).
    Link tables from :func:`nmsim.sim.engine.link_tables`.  ``ws_*``: workspace, reset here
    (``ws_dbits, ws_dnext uint64[ceil(n_links/64)]``: links dirty at this / the next cycle, by rank;
    ``ws_link int64[n_links, 8]`` per-link state ``WL_*``; ``ws_wq`` flat ``int64[n_links * cap]``
    waiting heaps keyed by ``seq``; ``ws_bucket int64[W]``, ``W`` a power of two ``> max(lat, max(occ, 1))``;
    event pool ``ws_ev_*``; ``ws_far int64[>= C+1]``).  All cycles are int64, relative to the start of the step.
    """
    NL = link_tab.shape[0]
    C = inj_ptr.shape[0] - 2
    inj0, ej0 = 4 * n_routers, 4 * n_routers + C + 1
    depth = timing[_T_DEPTH]
    cap = ws_wq.shape[0] // NL
    W = ws_bucket.shape[0]
    mask = W - 1
    out_err[0] = 0
    for L in range(NL):
        ws_link[np.uint64(L), WL_NEXT] = 0
        ws_link[np.uint64(L), WL_TRY] = -1
        ws_link[np.uint64(L), WL_BUF] = 0
        ws_link[np.uint64(L), WL_WQN] = 0
        out_link_busy[L] = 0
    ws_dbits[:] = 0
    ws_dnext[:] = 0
    has_next = False  # some bit of ws_dnext is set
    ws_bucket[:] = -1
    npool = ws_ev_next.shape[0]
    for e in range(npool):
        ws_ev_next[e] = e + 1
    ws_ev_next[npool - 1] = -1
    free_head = 0
    if trace:
        ws_hop[:n_pk] = 0
    far_n = 0
    t = np.int64(0)
    for c in range(C + 1):
        out_syn_free[c] = 0
        ws_inj_head[c] = inj_ptr[c]
        if inj_ptr[c] < inj_ptr[c + 1]:
            x = pk[inj_list[inj_ptr[c]], PK_F]
            ws_link[inj0 + c, WL_TRY] = x
            if x < W:
                free_head = _wheel_push(ws_bucket, ws_ev_next, ws_ev_link, ws_ev_pk, free_head, x & mask, inj0 + c, -1)
            else:
                far_n = heap_push(ws_far, 0, far_n, x * NL + inj0 + c)
    if free_head == -2:
        out_err[0] = ERR_EVENT_POOL
        return
    pending = 0  # events in the wheel
    for c in range(C + 1):
        if inj_ptr[c] < inj_ptr[c + 1] and pk[inj_list[inj_ptr[c]], PK_F] < W:
            pending += 1
    nwords = ws_dbits.shape[0]

    while pending > 0 or far_n > 0 or has_next:
        if pending == 0 and not has_next:
            t = ws_far[0] // NL  # idle wheel: jump to the next packet creation
        elif not has_next:
            # nothing due before the next non-empty wheel slot or far entry: skip the empty cycles (no dirty
            # link can appear in them; every event lies within W cycles, so the scan ends)
            while ws_bucket[np.uint64(t & mask)] < 0 and (far_n == 0 or ws_far[0] >= (t + 1) * NL):
                t += 1
        # phase 1: apply this cycle's events (requests join waiting heaps; links that may grant are marked)
        if has_next:  # TRYs for t made at t - 1 (most of them: slot returns, links with occ <= 1)
            for w in range(nwords):
                ws_dbits[np.uint64(w)] |= ws_dnext[np.uint64(w)]
                ws_dnext[np.uint64(w)] = _U0
            has_next = False
        slot = t & mask
        e = ws_bucket[np.uint64(slot)]
        ws_bucket[np.uint64(slot)] = -1
        while e >= 0:
            nxt, L, p = ws_ev_next[np.uint64(e)], ws_ev_link[np.uint64(e)], ws_ev_pk[np.uint64(e)]
            ws_ev_next[np.uint64(e)] = free_head
            free_head = e
            pending -= 1
            e = nxt
            if p < 0:
                _mark(ws_dbits, link_tab[np.uint64(L), LT_RANK])
                continue
            free_head, pushed = _request(ws_wq, ws_link, ws_dbits, ws_bucket,
                                         ws_ev_next, ws_ev_link, ws_ev_pk, free_head, t, L, p, cap, mask, depth, ej0,
                                         link_tab)
            pending += pushed
            if free_head < -1:
                break
        while far_n > 0 and ws_far[0] < (t + 1) * NL:  # far keys are time * NL + link, time >= t
            L = heap_pop(ws_far, 0, far_n) % NL
            far_n -= 1
            _mark(ws_dbits, link_tab[np.uint64(L), LT_RANK])
        # phase 2: each dirty link grants at most one packet, in topological rank order
        c = 0
        for w in range(nwords):
            while ws_dbits[np.uint64(w)] != _U0 and free_head >= -1:
                bits = ws_dbits[np.uint64(w)]
                low = bits & (_U0 - bits)
                ws_dbits[np.uint64(w)] = bits ^ low
                L = rank_link[np.uint64(w * 64 + _CTZ[(low * _DEBRUIJN) >> _U58])]
                inj = inj0 <= L < ej0
                if inj:
                    c = L - inj0
                    h = ws_inj_head[np.uint64(c)]
                    if h >= inj_ptr[np.uint64(c + 1)]:
                        continue
                    p = inj_list[np.uint64(h)]
                    d = pk[np.uint64(p), PK_DST]
                    b = -1
                    if ws_link[np.uint64(L), WL_BUF] >= depth:
                        continue  # the slot's return re-dirties L
                    x = max(ws_link[np.uint64(L), WL_NEXT], pk[np.uint64(p), PK_F])
                    if x > t:  # busy or not yet created: make sure L is tried again at x
                        if ws_link[np.uint64(L), WL_TRY] != x:
                            free_head, far_n, ne, nb = _try_at(ws_link, ws_dnext, ws_bucket, ws_ev_next, ws_ev_link, ws_ev_pk, ws_far, link_tab, free_head, far_n, t, L, x, W, mask, NL)
                            pending += ne
                            has_next = has_next or nb
                        continue
                    ws_inj_head[np.uint64(c)] = h + 1
                else:
                    nw = ws_link[np.uint64(L), WL_WQN]
                    if nw == 0:
                        continue
                    x = ws_link[np.uint64(L), WL_NEXT]
                    if t < x:
                        if ws_link[np.uint64(L), WL_TRY] != x:
                            free_head, far_n, ne, nb = _try_at(ws_link, ws_dnext, ws_bucket, ws_ev_next, ws_ev_link, ws_ev_pk, ws_far, link_tab, free_head, far_n, t, L, x, W, mask, NL)
                            pending += ne
                            has_next = has_next or nb
                        continue
                    if L < inj0 and ws_link[np.uint64(L), WL_BUF] >= depth:
                        continue
                    q = heap_pop(ws_wq, L * cap, nw)
                    ws_link[np.uint64(L), WL_WQN] = nw - 1
                    p, d, b = q >> 32, (q >> 16) & 0xFFFF, (q & 0xFFFF) - 1
                # grant packet p on link L at cycle t
                ws_link[np.uint64(L), WL_NEXT] = t + link_tab[np.uint64(L), LT_STEP]
                out_link_busy[np.uint64(L)] += link_tab[np.uint64(L), LT_OCC]
                if b >= 0:  # leaves the buffer it sat in; the slot is usable again from t + 1
                    if ws_link[np.uint64(b), WL_BUF] == depth:
                        _mark(ws_dnext, link_tab[np.uint64(b), LT_RANK])
                        has_next = True
                    ws_link[np.uint64(b), WL_BUF] -= 1
                if trace:
                    i = tr_ptr[p] + ws_hop[p]
                    tr_grant[i] = t
                    tr_link[i] = L
                    ws_hop[p] += 1
                lat = link_tab[np.uint64(L), LT_LAT]
                if L >= ej0:  # ejection: arrival at the synapse unit, served online (see module doc)
                    a = t + lat
                    start = max(a, out_syn_free[np.uint64(d)])
                    out_syn_free[np.uint64(d)] = start + pk[np.uint64(p), PK_COST]
                    if trace:
                        tr_arrival[p] = a
                        tr_syn_start[p] = start
                        tr_syn_end[p] = out_syn_free[np.uint64(d)]
                else:
                    ws_link[np.uint64(L), WL_BUF] += 1
                    r, rd = link_tab[np.uint64(L), LT_DOWN], core_router[np.uint64(d)]
                    L2 = next_link[np.uint64(r), np.uint64(rd)] if r != rd else ej0 + d
                    q = (p << 32) | (d << 16) | (L + 1)
                    if lat == 0:  # request visible in this same cycle; L2 ranks after L
                        free_head, pushed = _request(ws_wq, ws_link, ws_dbits, ws_bucket, ws_ev_next, ws_ev_link,
                                                     ws_ev_pk, free_head, t, L2, q,
                                                     cap, mask, depth, ej0, link_tab)
                        pending += pushed
                    else:
                        free_head = _wheel_push(ws_bucket, ws_ev_next, ws_ev_link, ws_ev_pk, free_head, (t + lat) & mask, L2, q)
                        pending += 1
                # follow-up: when can L grant again?  (a full buffer needs nothing: its slot's return re-dirties L)
                if L < ej0 and ws_link[np.uint64(L), WL_BUF] >= depth:
                    pass
                elif inj:
                    h = ws_inj_head[np.uint64(c)]
                    if h < inj_ptr[np.uint64(c + 1)]:
                        x = max(ws_link[np.uint64(L), WL_NEXT], pk[np.uint64(inj_list[np.uint64(h)]), PK_F])
                        free_head, far_n, ne, nb = _try_at(ws_link, ws_dnext, ws_bucket, ws_ev_next, ws_ev_link, ws_ev_pk, ws_far, link_tab, free_head, far_n, t, L, x, W, mask, NL)
                        pending += ne
                        has_next = has_next or nb
                elif ws_link[np.uint64(L), WL_WQN] > 0:
                    free_head, far_n, ne, nb = _try_at(ws_link, ws_dnext, ws_bucket, ws_ev_next, ws_ev_link, ws_ev_pk, ws_far, link_tab, free_head, far_n, t, L, ws_link[np.uint64(L), WL_NEXT], W, mask, NL)
                    pending += ne
                    has_next = has_next or nb
        if free_head < -1:  # -1 is an empty free list, not an error; checked before phase 1 of the next cycle refills the free list
            out_err[0] = ERR_EVENT_POOL if free_head == -2 else ERR_WAIT_HEAP
            return
        t += 1


def wheel_size(link_lat: np.ndarray, link_step: np.ndarray) -> int:
    """Smallest power of two ``W > max(latency, max(occ, 1))`` over all links: every wheel event lies within ``W`` cycles."""
    m = max(int(link_lat.max(initial=0)), int(link_step.max(initial=1)), 1)
    W = 2
    while W <= m:
        W *= 2
    return W


__all__ = ["PK_F", "PK_DST", "PK_COST", "LT_OCC", "LT_LAT", "LT_STEP", "LT_DOWN", "LT_RANK", "neuron_phase",
           "neuron_phase_enabled", "build_packets", "run_events", "heap_push", "heap_pop", "wheel_size", "ERR_EVENT_POOL", "ERR_WAIT_HEAP"]
