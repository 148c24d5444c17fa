"""Greedy single-neuron moves of the ``partition`` strategy (and of ``balanced``'s partition candidate).

The objective is the partition cost of ``nmsim.map.placement``: the sum over (source neuron,
destination core) pairs of ``1 + XY hops``.  Each pass visits the movable neurons in an order drawn
from ``seed`` and moves a neuron to the candidate core that lowers the objective most, if any, within
the cores' neuron, fan-in and synapse-memory capacities.  Candidates are the cores holding the
neuron's sources and targets, at most :data:`MOVE_CANDIDATES` of them (those holding most; ties to the
lower core index).

The moves run in one integer Numba kernel (:func:`_refine_kernel`) on plain arrays; the visiting
orders are drawn beforehand in Python, so the result is a pure function of the inputs and the seed.
"""

from __future__ import annotations

import numba
import numpy as np

from nmsim.jit import JIT

#: The refinement keeps a dense int32[N, n_cores] count table; above this many entries it is
#: skipped (the ordering alone is used).
REFINE_MAX_ENTRIES = 50_000_000
#: Cores tried per refining move: those holding most of the neuron's sources and targets.
MOVE_CANDIDATES = 8


def refine(chip, conn, core_of: np.ndarray, seed: int, passes: int = 4) -> np.ndarray:
    """``core_of`` (``int64[N]``, host neurons at ``n_cores``) improved by greedy moves; a new array."""
    from nmsim.map.placement import hop_matrix

    C = chip.n_cores
    if conn.n * C > REFINE_MAX_ENTRIES or conn.pattern.nnz == 0:
        return core_of
    c = chip.core
    H = np.ascontiguousarray(hop_matrix(chip) + 1, dtype=np.int64)  # cost of one packet: 1 + hops
    core_of = np.ascontiguousarray(core_of, dtype=np.int64).copy()
    pat, pin = conn.pattern, conn.pattern_in
    cnt = np.zeros((conn.n, C), np.int32)  # distinct targets of each source on each core
    coo = pat.tocoo()
    np.add.at(cnt, (coo.row, core_of[coo.col]), 1)
    neurons = np.bincount(core_of[~conn.is_host], minlength=C + 1)[:C].astype(np.int64)
    in_nnz = np.asarray(conn.in_nnz, dtype=np.int64)
    nnz = np.bincount(core_of, weights=in_nnz, minlength=C + 1)[:C].astype(np.int64)
    rows = (cnt > 0).sum(axis=0).astype(np.int64)
    self_loop = np.asarray(pat.diagonal() != 0)
    movable = np.flatnonzero(~conn.is_host & ~self_loop & (np.diff(pin.indptr) + np.diff(pat.indptr) > 0))
    rng = np.random.default_rng(seed)
    orders = np.empty((passes, movable.size), np.int64)
    for p in range(passes):
        orders[p] = rng.permutation(movable)
    limits = np.array([c.max_neurons, c.max_fan_in_axons, c.synapse_bits, c.row_pointer_bits,
                       c.synapse_memory_bytes * 8, MOVE_CANDIDATES], np.int64)
    _refine_kernel(orders, core_of, cnt, neurons, nnz, rows, in_nnz, H,
                   pin.indptr.astype(np.int64), pin.indices.astype(np.int64),
                   pat.indptr.astype(np.int64), pat.indices.astype(np.int64), limits)
    return core_of


@numba.njit(**JIT)
def _refine_kernel(orders, core_of, cnt, neurons, nnz, rows, in_nnz, H, in_ptr, in_src, out_ptr, out_dst, limits):
    """The passes of greedy moves, in place on ``core_of``, ``cnt``, ``neurons``, ``nnz``, ``rows``.
    ``limits`` = (max neurons, max fan-in axons, synapse bits, row-pointer bits, memory bits, candidates)."""
    C = cnt.shape[1]
    max_neurons, max_rows, sb, rpb, mem_bits, n_cand = limits[0], limits[1], limits[2], limits[3], limits[4], limits[5]
    links = np.zeros(C + 1, np.int64)
    cand = np.empty(C, np.int64)
    top = np.empty(C, np.int64)
    delta = np.empty(C, np.int64)
    okv = np.empty(C, np.bool_)
    for p in range(orders.shape[0]):
        moved = 0
        for jj in range(orders.shape[1]):
            j = orders[p, jj]
            a = core_of[j]
            s0, s1 = in_ptr[j], in_ptr[j + 1]
            t0, t1 = out_ptr[j], out_ptr[j + 1]
            links[:] = 0
            for k in range(s0, s1):
                links[core_of[in_src[k]]] += 1
            for k in range(t0, t1):
                links[core_of[out_dst[k]]] += 1
            links[a] = 0
            m = 0
            for q in range(C):
                if links[q] != 0:
                    cand[m] = q
                    m += 1
            if m == 0:
                continue
            if m > n_cand:  # keep the n_cand cores with most links (ties: lower index), in index order
                for q in range(m):
                    top[q] = cand[q]
                for r in range(n_cand):  # selection: the r-th best stays at position r
                    best = r
                    for q in range(r + 1, m):
                        if links[top[q]] > links[top[best]] or (links[top[q]] == links[top[best]] and top[q] < top[best]):
                            best = q
                    tmp = top[r]
                    top[r] = top[best]
                    top[best] = tmp
                m = n_cand
                for q in range(m):
                    cand[q] = top[q]
                cand[:m].sort()
            lose = 0  # hop cost lost at a: sources whose only target on a is j
            for k in range(s0, s1):
                s = in_src[k]
                if cnt[s, a] == 1:
                    lose += H[core_of[s], a]
            any_ok = False
            for i in range(m):
                b = cand[i]
                new_rows = 0
                gain = 0
                for k in range(s0, s1):
                    s = in_src[k]
                    if cnt[s, b] == 0:
                        new_rows += 1
                        gain += H[core_of[s], b]
                r_b = rows[b] + new_rows
                ok = (neurons[b] + 1 <= max_neurons and r_b <= max_rows
                      and (nnz[b] + in_nnz[j]) * sb + r_b * rpb <= mem_bits)
                okv[i] = ok
                if ok:
                    any_ok = True
                    d = -lose + gain
                    for q in range(C):
                        if cnt[j, q] > 0:
                            d += H[b, q] - H[a, q]
                    delta[i] = d
                else:
                    delta[i] = 0
            if not any_ok:
                continue
            i = 0
            for q in range(1, m):
                if delta[q] < delta[i]:
                    i = q
            if delta[i] >= 0:
                continue
            b = cand[i]
            for k in range(s0, s1):
                s = in_src[k]
                if cnt[s, a] == 1:
                    rows[a] -= 1
                if cnt[s, b] == 0:
                    rows[b] += 1
                cnt[s, a] -= 1
                cnt[s, b] += 1
            neurons[a] -= 1
            neurons[b] += 1
            nnz[a] -= in_nnz[j]
            nnz[b] += in_nnz[j]
            core_of[j] = b
            moved += 1
        if moved == 0:
            break
