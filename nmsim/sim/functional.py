"""Functional step kernels: what is computed (``docs/engine-model.md`` §1).

Three kernels per timestep, all on plain arrays, outputs first, returning nothing:

1. :func:`update_neurons` updates every neuron from the accumulator buffer
   filled during the previous step, clears that buffer, and writes per-neuron
   ``fired`` / ``payload`` / ``active`` flags.  The neuron-model dispatch lives
   here and only here: a new model (e.g. EGRU with 4 accumulators and a graded
   payload) adds one ``elif`` branch and one ``_<model>_one`` function.
2. :func:`list_fired` lists the firing neurons in global index (= core, then
   update) order and counts their packets; this list is all the timing kernel
   needs from the functional side.
3. :func:`accumulate` adds ``weight * payload`` of every event into the other
   accumulator buffer (read at step ``t+1``).

Accumulators are ``int64[2, N, n_accumulators]``; step ``t`` reads buffer
``t % 2`` and accumulates into ``(t + 1) % 2``.
"""

from __future__ import annotations

import numba
import numpy as np

from nmsim.compile.compiled import MODEL_EGRU, MODEL_GRU, MODEL_INPUT, MODEL_LIF, MODEL_LSTM, MODEL_READOUT
from nmsim.describe.neuron_models import LOIHI_UV_LIMIT, MODEL_LOIHI_LIF
from nmsim.jit import JIT


@numba.njit(**JIT)
def _lif_one(state, acc_in, param, i, received):
    """Integer LIF update of neuron ``i`` (spec §1); returns ``(fired, payload, active)``.

    ``state int64[N, 4]`` (col 0 ``v``) is updated in place; ``acc_in int64[N, n_acc]``
    is read (accumulator 0 only); ``param int64[N, 8]``: threshold, decay (/4096),
    bias, reset_mode, v_min, v_max, update_on_event; ``received``: the neuron got >= 1 synaptic
    event in the previous step (zero weights included).
    """
    v = state[i, 0]
    u = acc_in[i, 0]
    threshold, decay, bias = param[i, 0], param[i, 1], param[i, 2]
    v1 = v - ((v * decay) >> 12) + bias + u
    v1 = min(max(v1, param[i, 4]), param[i, 5])
    fired = v1 > threshold
    if fired:
        state[i, 0] = v1 - threshold if param[i, 3] == 0 else 0
    else:
        state[i, 0] = v1
    active = (u != 0) or (v != 0) or (bias != 0) or (received != 0 and param[i, 6] != 0)
    return fired, np.int64(1) if fired else np.int64(0), active


@numba.njit(**JIT)
def _loihi_lif_one(state, acc_in, param, i):
    """Loihi LIF update of neuron ``i`` (``nmsim.describe.neuron_models.loihi_lif_update``, as Lava's
    bit-accurate ``PyLifModelBitAcc``); ``param``: threshold, du, dv, bias, input_shift; ``state``: u, v."""
    u, v, a = state[i, 0], state[i, 1], acc_in[i, 0]
    threshold, bias = param[i, 0], param[i, 3]
    pu = u * (4096 - param[i, 1])
    d = (pu >> 12 if pu >= 0 else -((-pu) >> 12)) + a * (np.int64(1) << param[i, 4])
    lim = np.int64(LOIHI_UV_LIMIT)
    w = d - 2 * lim if d > lim else d
    u1 = d + 2 * lim if w <= -lim else w
    pv = v * (4096 - param[i, 2])
    v1 = (pv >> 12 if pv >= 0 else -((-pv) >> 12)) + u1 + bias
    v1 = min(max(v1, -lim + 1), lim - 1)
    fired = v1 > threshold
    state[i, 0] = u1
    state[i, 1] = 0 if fired else v1
    active = (a != 0) or (u != 0) or (v != 0) or (bias != 0)
    return fired, np.int64(1) if fired else np.int64(0), active


@numba.njit(inline="always", **JIT)
def _rsr(x, s):
    """``rshift_round``: ``(x + 2**(s-1)) >> s`` for ``s > 0``, identity for ``s <= 0`` (as the golden)."""
    if s > 0:
        return (x + (np.int64(1) << (s - 1))) >> s
    return x


@numba.njit(inline="always", **JIT)
def _lut(lut, lut_size, tid, x, frac, fp):
    """LUT lookup: index ``clip(rshift_round(x, fp - frac) + size/2, 0, size-1)``."""
    n = lut_size[tid]
    idx = _rsr(x, fp - frac) + (n >> 1)
    if idx < 0:
        idx = 0
    elif idx > n - 1:
        idx = n - 1
    return lut[tid, idx]


@numba.njit(inline="always", **JIT)
def _pre(acc_in, param, i, k):
    """Bias add + requantization of accumulator ``k``: ``rshift_round((acc + bias) * mult, shift)``."""
    return _rsr((acc_in[i, k] + param[i, k]) * param[i, 4 + k], param[i, 8 + k])


@numba.njit(**JIT)
def _cell_one(state, acc_in, param, lut, lut_size, i, m):
    """EGRU / GRU / LSTM update of unit ``i`` (columns: ``nmsim.describe.neuron_models.CELL_PARAMS``);
    integer-identical to ``nmsim.lm.golden.{egru,gru,lstm}_cell_int``.  Returns ``(fired, payload, active)``."""
    fc, fy, fp = param[i, 13], param[i, 14], param[i, 15]
    sf, tf = param[i, 16], param[i, 17]
    pb, sb = param[i, 18], param[i, 19]
    ts, tt = param[i, 20], param[i, 21]
    one = np.int64(32768)
    lim = np.int64(1) << (sb - 1)
    mpay = (np.int64(1) << (pb - 1)) - 1
    c_prev = state[i, 0]
    if m == MODEL_LSTM:
        ig = _lut(lut, lut_size, ts, _pre(acc_in, param, i, 0), sf, fp)
        fg = _lut(lut, lut_size, ts, _pre(acc_in, param, i, 1), sf, fp)
        og = _lut(lut, lut_size, ts, _pre(acc_in, param, i, 3), sf, fp)
        g = _lut(lut, lut_size, tt, _pre(acc_in, param, i, 2), tf, fp)
        g_c = _rsr(g, 15 - fc)
        c = _rsr(fg * c_prev + ig * g_c, 15)
        c = min(max(c, -lim), lim - 1)
        c_fp = (c << (fp - fc)) if fp >= fc else _rsr(c, fc - fp)
        h = _rsr(og * _lut(lut, lut_size, tt, c_fp, tf, fp), 15)
        y = min(max(_rsr(h, 15 - fy), -mpay), mpay)
        state[i, 0] = c
        return True, y, True  # dense baseline: every unit sends every step (payload may be 0)
    u = _lut(lut, lut_size, ts, _pre(acc_in, param, i, 0), sf, fp)
    r = _lut(lut, lut_size, ts, _pre(acc_in, param, i, 1), sf, fp)
    g = _lut(lut, lut_size, tt, _pre(acc_in, param, i, 2) + _rsr(r * _pre(acc_in, param, i, 3), 15), tf, fp)
    g_c = _rsr(g, 15 - fc)
    ct = _rsr(u * c_prev + (one - u) * g_c, 15)
    ct = min(max(ct, -lim), lim - 1)
    if m == MODEL_EGRU:
        theta = param[i, 12]
        if ct > theta:
            state[i, 0] = ct - theta
            return True, min(max(_rsr(ct, fc - fy), np.int64(1)), mpay), True
        state[i, 0] = ct
        return False, np.int64(0), True
    y = min(max(_rsr(ct, fc - fy), -mpay), mpay)  # GRU
    state[i, 0] = ct
    return True, y, True  # dense baseline: every unit sends every step (payload may be 0)


@numba.njit(**JIT)
def step_neurons(out_fired, out_payload, out_active, state, acc_in, acc_out, param, model, lut, lut_size,
                 host_payload, host_start, enable, recv_in, recv_out):
    """Update every enabled neuron once (spec §1 steps 1-2) and clear ``acc_in`` and ``recv_in``.

    As :func:`update_neurons`, plus: ``acc_out int64[N, n_acc]`` (the buffer read at the next step),
    ``lut int64[n_tables, size]``, ``lut_size int64[n_tables]``, ``enable uint8[N]``, ``recv_in`` /
    ``recv_out uint8[N]`` (received >= 1 synaptic event, the flags read now / at the next step; see
    :func:`mark_received`; all 0 where no neuron uses them).  A disabled core neuron (``enable[i] == 0``)
    is not updated: no event, ``active = 0``, its state is kept, and its accumulated input and received
    flag are carried over (moved from ``acc_in`` to ``acc_out``, where this step's new contributions add
    to it).  Host neurons ignore ``enable``.
    """
    for i in range(host_start):
        if enable[i] == 0:
            for k in range(acc_in.shape[1]):
                acc_out[i, k] += acc_in[i, k]
            if recv_in[i]:
                recv_out[i] = 1
            out_fired[i] = 0
            out_payload[i] = 0
            out_active[i] = 0
            continue
        m = model[i]
        if m == MODEL_LIF:
            fired, payload, active = _lif_one(state, acc_in, param, i, recv_in[i])
        elif m == MODEL_LOIHI_LIF:
            fired, payload, active = _loihi_lif_one(state, acc_in, param, i)
        elif m == MODEL_EGRU or m == MODEL_GRU or m == MODEL_LSTM:
            fired, payload, active = _cell_one(state, acc_in, param, lut, lut_size, i, m)
        elif m == MODEL_READOUT:
            v = acc_in[i, 0] + param[i, 0]
            payload = min(max(v, -np.int64(2147483648)), np.int64(2147483647))
            fired, active = True, True
        else:  # validated by the engine
            fired, payload, active = False, np.int64(0), False
        out_fired[i] = 1 if fired else 0
        out_payload[i] = payload if fired else 0
        out_active[i] = 1 if active else 0
    for i in range(host_start, out_fired.shape[0]):  # MODEL_INPUT: not updated, no cost
        p = host_payload[i - host_start]
        out_fired[i] = 1 if p != 0 else 0
        out_payload[i] = p
        out_active[i] = 0
    acc_in[:, :] = 0
    recv_in[:] = 0


@numba.njit(**JIT)
def update_neurons(out_fired, out_payload, out_active, state, acc_in, param, model, host_payload, host_start):
    """Update all ``N`` neurons once (spec §1 steps 1-2) and clear ``acc_in`` (every neuron enabled; no LUTs,
    so for LIF/readout populations; the engine calls :func:`step_neurons`).

    Outputs: ``out_fired uint8[N]`` (1 = emits an event), ``out_payload int64[N]``
    (0 when not fired), ``out_active uint8[N]`` (neuron-unit cost class; 0 for host neurons).
    ``state int64[N, 4]`` updated in place; ``acc_in int64[N, n_acc]`` read then zeroed;
    ``param int64[N, 8 or 24]``; ``model int8[N]``; ``host_payload int64[N - host_start]``
    (events given by the host for this step, 0 = none); ``host_start`` = first host neuron.
    """
    N = out_fired.shape[0]
    enable = np.ones(N, np.uint8)
    acc_out = np.zeros_like(acc_in)
    lut = np.zeros((1, 1), np.int64)
    lut_size = np.ones(1, np.int64)
    recv = np.zeros((2, N), np.uint8)
    step_neurons(out_fired, out_payload, out_active, state, acc_in, acc_out, param, model, lut, lut_size,
                 host_payload, host_start, enable, recv[0], recv[1])


@numba.njit(**JIT)
def list_fired(out_list, out_n, fired, route_ptr):
    """Firing neurons in ascending global index; ``out_n[0]`` = count, ``out_n[1]`` = packets.

    ``out_list int64[N]`` (first ``out_n[0]`` entries valid); ``out_n int64[2]``;
    ``fired uint8[N]``; ``route_ptr int64[N+1]``.
    """
    n = 0
    n_pk = 0
    for g in range(fired.shape[0]):
        if fired[g]:
            out_list[n] = g
            n += 1
            n_pk += route_ptr[g + 1] - route_ptr[g]
    out_n[0] = n
    out_n[1] = n_pk


@numba.njit(_nrt=False, **JIT)  # allocates nothing; no NRT, no refcounting
def accumulate(acc_out, fired_list, n_fired, payload, route_ptr, route_row, row_ptr, syn_target, syn_acc, syn_weight):
    """Add ``syn_weight[k] * payload[g]`` to ``acc_out[syn_target[k], syn_acc[k]]`` for every event (spec §1 step 3).

    ``acc_out int64[N, n_acc]`` (the buffer read at the next step); ``fired_list int64[>= n_fired]``;
    ``payload int64[N]``; CSR arrays as in ``CompiledModel``.  Exact integer sums: order-independent.
    """
    for j in range(n_fired):
        g = fired_list[j]
        p = payload[g]
        for k in range(route_ptr[g], route_ptr[g + 1]):
            row = route_row[k]
            if row < 0:  # route to the host: no synapses on the chip
                continue
            for s in range(row_ptr[row], row_ptr[row + 1]):
                acc_out[syn_target[s], syn_acc[s]] += np.int64(syn_weight[s]) * p


@numba.njit(_nrt=False, **JIT)
def accumulate_flat(acc_out_flat, fired_list, n_fired, payload, route_ptr, route_row, row_ptr, syn_slot, syn_weight):
    """:func:`accumulate` on the flattened buffer ``acc_out_flat int64[N * n_acc]`` with the precomputed slot
    ``syn_slot[s] = syn_target[s] * n_acc + syn_acc[s]`` (int32 or int64): same sums, fewer loads per synapse."""
    for j in range(n_fired):
        g = fired_list[j]
        p = payload[g]
        for k in range(route_ptr[g], route_ptr[g + 1]):
            row = route_row[k]
            if row < 0:
                continue
            # unsigned indices: no negative-index wraparound test per synapse (slots are >= 0), ~1.5x faster
            for s in range(np.uint64(row_ptr[row]), np.uint64(row_ptr[row + 1])):
                acc_out_flat[np.uint64(syn_slot[s])] += np.int64(syn_weight[s]) * p


@numba.njit(**JIT)
def source_order_ptr(route_ptr, route_row, row_ptr):
    """``int64[N+1]``: offsets, per source neuron, of its synapses in source order (:func:`source_order`): the
    rows of its routes, in route order (a route to the host has none)."""
    N = route_ptr.shape[0] - 1
    ptr = np.zeros(N + 1, np.int64)
    for g in range(N):
        n = np.int64(0)
        for k in range(route_ptr[g], route_ptr[g + 1]):
            row = route_row[k]
            if row >= 0:
                n += row_ptr[row + 1] - row_ptr[row]
        ptr[g + 1] = ptr[g] + n
    return ptr


@numba.njit(_nrt=False, **JIT)
def source_order(out_slot, out_weight, src_ptr, route_ptr, route_row, row_ptr, syn_slot, syn_weight):
    """Copy the synapses (slot, weight) into source order: neuron ``g``'s are
    ``out_*[src_ptr[g]:src_ptr[g+1]]``, the rows of its routes one after the other (:func:`accumulate_src`)."""
    N = route_ptr.shape[0] - 1
    for g in range(N):
        q = src_ptr[g]
        for k in range(route_ptr[g], route_ptr[g + 1]):
            row = route_row[k]
            if row < 0:
                continue
            for s in range(row_ptr[row], row_ptr[row + 1]):
                out_slot[q] = syn_slot[s]
                out_weight[q] = syn_weight[s]
                q += 1


@numba.njit(_nrt=False, **JIT)
def accumulate_src(acc_out_flat, fired_list, n_fired, payload, src_ptr, src_slot, src_weight):
    """:func:`accumulate_flat` on the synapses in source order (:func:`source_order`): one contiguous run per
    firing neuron instead of one row per route scattered over the destination cores' storage -- the same
    exact integer sums, read as a stream (a large model's synapses do not fit in the cache).

    Eight synapses a round: their slots are read first, then the eight read-add-writes follow in synapse
    order (so equal slots still add up exactly): the reads of a round no longer wait on the writes before
    them.  About 3x faster per synaptic op than one synapse a round when every source of the small model
    fires (``docs/engine-model.md``, "Synaptic accumulation eight synapses a round")."""
    U = np.uint64(8)
    for j in range(n_fired):
        g = fired_list[j]
        p = payload[g]
        s, end = np.uint64(src_ptr[g]), np.uint64(src_ptr[g + 1])
        while s + U <= end:
            i0, i1 = np.uint64(src_slot[s]), np.uint64(src_slot[s + np.uint64(1)])
            i2, i3 = np.uint64(src_slot[s + np.uint64(2)]), np.uint64(src_slot[s + np.uint64(3)])
            i4, i5 = np.uint64(src_slot[s + np.uint64(4)]), np.uint64(src_slot[s + np.uint64(5)])
            i6, i7 = np.uint64(src_slot[s + np.uint64(6)]), np.uint64(src_slot[s + np.uint64(7)])
            acc_out_flat[i0] += np.int64(src_weight[s]) * p
            acc_out_flat[i1] += np.int64(src_weight[s + np.uint64(1)]) * p
            acc_out_flat[i2] += np.int64(src_weight[s + np.uint64(2)]) * p
            acc_out_flat[i3] += np.int64(src_weight[s + np.uint64(3)]) * p
            acc_out_flat[i4] += np.int64(src_weight[s + np.uint64(4)]) * p
            acc_out_flat[i5] += np.int64(src_weight[s + np.uint64(5)]) * p
            acc_out_flat[i6] += np.int64(src_weight[s + np.uint64(6)]) * p
            acc_out_flat[i7] += np.int64(src_weight[s + np.uint64(7)]) * p
            s += U
        while s < end:
            acc_out_flat[np.uint64(src_slot[s])] += np.int64(src_weight[s]) * p
            s += np.uint64(1)


@numba.njit(_nrt=False, **JIT)
def mark_received(recv_out, fired_list, n_fired, route_ptr, route_row, row_ptr, syn_target):
    """Set ``recv_out[syn_target[s]] = 1`` for every synapse ``s`` an event reaches (spec §1, LIF
    ``update_on_event``): the neuron received a synaptic event, whatever its weight.  ``recv_out uint8[N]``
    (the flags read at the next step); other arrays as in :func:`accumulate`.  Run only for models with a
    neuron that reads the flag, so that the accumulation loop stays as it is."""
    for j in range(n_fired):
        g = fired_list[j]
        for k in range(route_ptr[g], route_ptr[g + 1]):
            row = route_row[k]
            if row < 0:
                continue
            for s in range(row_ptr[row], row_ptr[row + 1]):
                recv_out[syn_target[s]] = 1


#: Neuron models :func:`update_neurons` knows, by id (``nmsim.compile.compiled``).
SUPPORTED_MODELS = {MODEL_INPUT: "input", MODEL_LIF: "lif", MODEL_EGRU: "egru", MODEL_GRU: "gru",
                    MODEL_LSTM: "lstm", MODEL_READOUT: "readout", MODEL_LOIHI_LIF: "loihi_lif"}
