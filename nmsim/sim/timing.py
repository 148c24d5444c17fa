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

The discrete-event arbitration of links, buffers and synapse units that follows
(``run_events``) is in :mod:`nmsim.sim.events`.
"""

from __future__ import annotations

import numba
import numpy as np

from nmsim.compile.compiled import T
from nmsim.describe.actions import A
from nmsim.jit import JIT
from nmsim.sim.event_layout import PK_COST, PK_DST, PK_F

_T_ACTIVE, _T_IDLE = T["neuron_update_active_cycles"], T["neuron_update_idle_cycles"]
_T_RECV, _T_READ = T["packet_receive_cycles"], T["synapse_read_cycles"]
_T_FLITS, _T_RFLITS = T["flits_per_packet"], T["readout_flits_per_packet"]
_A_ACTIVE, _A_IDLE, _A_SPIKE, _A_BARRIER = A["neuron_update_active"], A["neuron_update_idle"], A["spike"], A["barrier"]
_A_SEND, _A_IO, _A_EW, _A_NS = A["packet_send"], A["io_packet"], A["flit_hop_east_west"], A["flit_hop_north_south"]
_A_DELIV, _A_RECV, _A_READ, _A_SYNOP = A["local_delivery"], A["packet_receive"], A["synapse_read"], A["synaptic_op"]
_A_CHIP = A["flit_hop_chip"]


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
def _stable_order(f):
    """Indices that sort ``f int64[n] >= 0`` stably: a counting sort when the values span at most
    ``4 n + 2**16`` (the usual case: finish cycles of one step), else :func:`_stable_argsort_runs`."""
    n = f.shape[0]
    f_max = np.int64(0)
    for j in range(n):
        if f[j] > f_max:
            f_max = f[j]
    if f_max > 4 * n + 65536:
        return _stable_argsort_runs(f)
    pos = np.zeros(f_max + 2, dtype=np.int64)
    for j in range(n):
        pos[f[j] + 1] += 1
    for v in range(f_max + 1):
        pos[v + 1] += pos[v]
    order = np.empty(n, dtype=np.int64)
    for j in range(n):
        order[pos[f[j]]] = j
        pos[f[j]] += 1
    return order


@numba.njit(**JIT)
def route_tables(neuron_core, route_ptr, route_core, route_row, row_ptr, row_n_reads, core_router, hops_x, hops_y,
                 hops_c, timing):
    """Per-route and per-neuron constants of :func:`build_packets` (they depend only on the model), computed once.

    Returns ``(rt_cost, rt_reads, rt_nnz, rt_hops, g_src, host_k, last_host, c_host)``: per route ``k``
    (``int64[n_routes]``) the synapse-unit cycles ``packet_receive + row_n_reads * synapse_read`` of its packet,
    its ``row_n_reads`` and ``nnz(row)`` (all 0 for a route to the host, core ``C = len(core_router) - 1``) and
    its hops (on-chip and chip-to-chip); per neuron ``g`` (``int64[N, 4]``) what its firing adds to its core's
    counters through its routes to cores: packets, and east-west, north-south and chip-to-chip flit hops (spec
    §3); ``host_k int64[N]``: the route to the host of each neuron (-1: none); ``last_host int64[C+1]``: the
    last neuron of each core with a route to the host (-1: none); ``c_host int64[C+1, 3]``: the east-west,
    north-south and chip-to-chip flit hops of one packet to the host from each core (readout flits, §2.2)."""
    N = route_ptr.shape[0] - 1
    C = core_router.shape[0] - 1
    nr = route_ptr[N]
    flits, recv, read = timing[_T_FLITS], timing[_T_RECV], timing[_T_READ]
    rflits = timing[_T_RFLITS]
    rt_cost = np.zeros(nr, np.int64)
    rt_reads = np.zeros(nr, np.int64)
    rt_nnz = np.zeros(nr, np.int64)
    rt_hops = np.zeros(nr, np.int64)
    g_src = np.zeros((N, 4), np.int64)
    host_k = np.full(N, -1, np.int64)
    last_host = np.full(C + 1, -1, np.int64)
    c_host = np.zeros((C + 1, 3), np.int64)
    rh = core_router[C]
    for c in range(C + 1):
        rs = core_router[c]
        c_host[c, 0], c_host[c, 1], c_host[c, 2] = rflits * hops_x[rs, rh], rflits * hops_y[rs, rh], \
            rflits * hops_c[rs, rh]
    for g in range(N):
        rs = core_router[neuron_core[g]]
        for k in range(route_ptr[g], route_ptr[g + 1]):
            d, row = route_core[k], route_row[k]
            rd = core_router[d]
            rt_hops[k] = hops_x[rs, rd] + hops_y[rs, rd] + hops_c[rs, rd]
            if d == C:
                host_k[g] = k
                last_host[neuron_core[g]] = g
                continue
            rt_cost[k] = recv + row_n_reads[row] * read
            rt_reads[k] = row_n_reads[row]
            rt_nnz[k] = row_ptr[row + 1] - row_ptr[row]
            g_src[g, 0] += 1
            g_src[g, 1] += flits * hops_x[rs, rd]
            g_src[g, 2] += flits * hops_y[rs, rd]
            g_src[g, 3] += flits * hops_c[rs, rd]
    return rt_cost, rt_reads, rt_nnz, rt_hops, g_src, host_k, last_host, c_host


@numba.njit(**JIT)
def _emitters(fired_list, n_fired, neuron_core, host_k, last_host, kv, out_inj_ptr, route_ptr):
    """The neurons that create packets this step, ascending: the firing ones, and the last to-host neuron of
    each core whose firing to-host neurons leave a partly filled packet to the host when that neuron did not
    fire itself (it flushes the packet, spec §2.2).  Returns ``(emitters, is_flush_only)``; adds each source
    core's packet count to ``out_inj_ptr[c + 1]``."""
    C = last_host.shape[0] - 1
    n_h = np.zeros(C + 1, np.int64)  # firing to-host neurons per core
    last_fired = np.full(C + 1, -1, np.int64)
    for j in range(n_fired):
        g = fired_list[j]
        s = neuron_core[g]
        nr = route_ptr[g + 1] - route_ptr[g]
        if host_k[g] >= 0:
            n_h[s] += 1
            last_fired[s] = g
            nr -= 1
        out_inj_ptr[s + 1] += nr
    n_extra = 0
    for c in range(C + 1):
        out_inj_ptr[c + 1] += (n_h[c] + kv - 1) // kv
        if n_h[c] % kv != 0 and last_fired[c] != last_host[c]:
            n_extra += 1
    em = np.empty(n_fired + n_extra, np.int64)
    flush = np.zeros(n_fired + n_extra, np.uint8)
    if n_extra == 0:
        em[:] = fired_list[:n_fired]
        return em, flush
    i, j = 0, 0
    for c in range(C + 1):  # merge the flush-only neurons (one per core, ascending) into the firing ones
        if n_h[c] % kv == 0 or last_fired[c] == last_host[c]:
            continue
        x = last_host[c]
        while i < n_fired and fired_list[i] < x:
            em[j] = fired_list[i]
            i += 1
            j += 1
        em[j] = x
        flush[j] = 1
        j += 1
    while i < n_fired:
        em[j] = fired_list[i]
        i += 1
        j += 1
    return em, flush


@numba.njit(**JIT)
def build_packets(out_counters, out_pk, out_inj_ptr, out_inj_list, out_pk_src, out_pk_route, out_tr_ptr,
                  fired_list, n_fired, finish, neuron_core, route_ptr, route_core, rt_cost, rt_reads, rt_nnz, rt_hops,
                  g_src, host_k, last_host, c_host, kv, trace):
    """Packets of one step in ``seq`` order (spec §2.2; packet id = rank of ``(f_g, core, g, k)``) and their
    counters (§3); returns the number of packets ``n_pk``.

    Outputs (first ``n_pk`` entries): ``out_counters int64[C+1, N_ACTIONS]`` (added to: packet_send / io_packet,
    flit hops (on-chip east-west / north-south, chip-to-chip), local_delivery, packet_receive, synapse_read,
    synaptic_op); ``out_pk int64[n_pk, 3]``:
    ``PK_F`` (creation cycle ``f_g``), ``PK_DST`` (destination core), ``PK_COST`` (synapse-unit cycles
    ``packet_receive + row_n_reads * synapse_read``); ``out_inj_ptr int64[C+2]``, ``out_inj_list int64[n_pk]``:
    the packets of source core ``c`` (host = ``C``) in ``seq`` order are
    ``out_inj_list[out_inj_ptr[c]:out_inj_ptr[c+1]]``.  Only if ``trace``: ``out_pk_src, out_pk_route int64``
    (``g``, ``k``) and ``out_tr_ptr int64[n_pk+1]`` (offsets of each packet's links: injection, hops, ejection).
    Inputs: ``fired_list int64`` ascending (the stable sort keeps ``g`` order among equal ``f_g``, and neurons
    are grouped by core, host last, so ``g`` order is ``(core, g)`` order); ``finish int64[N]``;
    ``neuron_core int32[N]``; ``route_ptr``, ``route_core`` of ``CompiledModel``; the per-route and per-neuron
    constants of :func:`route_tables`; ``kv`` values per packet to the host: a core's firing to-host neurons,
    in index order, fill packets of ``kv`` values, each created by the neuron whose value completes it, the
    last partly filled one by the core's last to-host neuron (``last_host``), fired or not.
    """
    C = out_counters.shape[0] - 1
    out_inj_ptr[:] = 0
    em, flush = _emitters(fired_list, n_fired, neuron_core, host_k, last_host, kv, out_inj_ptr, route_ptr)
    n_em = em.shape[0]
    f = np.empty(n_em, dtype=np.int64)
    for j in range(n_em):
        f[j] = finish[em[j]]
    for c in range(C + 1):
        out_inj_ptr[c + 1] += out_inj_ptr[c]
    cursor = out_inj_ptr[:-1].copy()
    # per destination: packets, reads, synaptic ops (added to out_counters at the end; integer sums)
    d_pk = np.zeros(C + 1, np.int64)
    d_reads = np.zeros(C + 1, np.int64)
    d_nnz = np.zeros(C + 1, np.int64)
    n_h = np.zeros(C + 1, np.int64)  # values packed towards the host so far, per core
    order = _stable_order(f)
    p = 0
    if trace:
        out_tr_ptr[0] = 0
    for j in range(n_em):
        g = em[order[j]]
        fg = f[order[j]]
        only_flush = flush[order[j]] != 0
        s = neuron_core[g]
        if not only_flush:
            out_counters[s, _A_IO if s == C else _A_SEND] += g_src[g, 0]
            out_counters[s, _A_EW] += g_src[g, 1]
            out_counters[s, _A_NS] += g_src[g, 2]
            out_counters[s, _A_CHIP] += g_src[g, 3]
        cur = cursor[s]
        for k in range(route_ptr[g], route_ptr[g + 1]):
            d = route_core[k]
            if d == C:  # to the host: the packet leaves when it holds kv values, or at the core's last one
                if not only_flush:
                    n_h[s] += 1
                if not (n_h[s] % kv == 0 and not only_flush) and not (g == last_host[s] and n_h[s] % kv != 0):
                    continue
                out_counters[s, _A_IO if s == C else _A_SEND] += 1
                out_counters[s, _A_EW] += c_host[s, 0]
                out_counters[s, _A_NS] += c_host[s, 1]
                out_counters[s, _A_CHIP] += c_host[s, 2]
            elif only_flush:
                continue
            out_pk[p, PK_F] = fg
            out_pk[p, PK_DST] = d
            out_pk[p, PK_COST] = rt_cost[k]
            out_inj_list[cur] = p
            cur += 1
            d_pk[d] += 1
            d_reads[d] += rt_reads[k]
            d_nnz[d] += rt_nnz[k]
            if trace:
                out_pk_src[p] = g
                out_pk_route[p] = k
                out_tr_ptr[p + 1] = out_tr_ptr[p] + 2 + rt_hops[k]
            p += 1
        cursor[s] = cur
    for d in range(C):
        out_counters[d, _A_DELIV] += d_pk[d]
        out_counters[d, _A_RECV] += d_pk[d]
        out_counters[d, _A_READ] += d_reads[d]
        out_counters[d, _A_SYNOP] += d_nnz[d]
    out_counters[C, _A_IO] += d_pk[C]  # to the host (row -1): received by the host's I/O port, no synapse work
    return p


@numba.njit(**JIT)
def host_packet_hops(fired, to_host, to_host_core, host_hops, kv):
    """``int64[2]``: packets to the host and their router-to-router hops in one step (spec §2.2): each core
    sends ``ceil(its firing to-host neurons / kv)``.  ``to_host int64[n]`` the neurons with a route to the
    host (ascending), ``to_host_core int64[n]`` their cores, ``host_hops int64[C+1]`` each core's hops to the
    host's router."""
    C1 = host_hops.shape[0]
    n = np.zeros(C1, np.int64)
    for j in range(to_host.shape[0]):
        if fired[to_host[j]] != 0:
            n[to_host_core[j]] += 1
    out = np.zeros(2, np.int64)
    for c in range(C1):
        pk = (n[c] + kv - 1) // kv
        out[0] += pk
        out[1] += pk * host_hops[c]
    return out


__all__ = ["neuron_phase", "neuron_phase_enabled", "route_tables", "build_packets", "host_packet_hops"]
