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

from nmsim.compile.compiled import MODEL_INPUT, MODEL_LIF
from nmsim.jit import JIT


@numba.njit(**JIT)
def _lif_one(state, acc_in, param, i):
    """Integer LIF update of neuron ``i`` (spec §1); returns ``(fired, payload, active)``.

    ``state int64[N, 4]`` (col 0 ``v``) is updated in place; ``acc_in int64[N, n_acc]``
    is read (accumulator 0 only); ``param int64[N, 8]``: threshold, decay (/4096),
    bias, reset_mode, v_min, v_max.
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
    active = (u != 0) or (v != 0) or (bias != 0)
    return fired, np.int64(1) if fired else np.int64(0), active


@numba.njit(**JIT)
def update_neurons(out_fired, out_payload, out_active, state, acc_in, param, model, host_payload, host_start):
    """Update all ``N`` neurons once (spec §1 steps 1-2) and clear ``acc_in``.

    Outputs: ``out_fired uint8[N]`` (1 = emits an event), ``out_payload int64[N]``
    (0 when not fired), ``out_active uint8[N]`` (neuron-unit cost class; 0 for host neurons).
    ``state int64[N, 4]`` updated in place; ``acc_in int64[N, n_acc]`` read then zeroed;
    ``param int64[N, 8]``; ``model int8[N]``; ``host_payload int64[N - host_start]``
    (events given by the host for this step, 0 = none); ``host_start`` = first host neuron.
    """
    for i in range(host_start):
        m = model[i]
        if m == MODEL_LIF:
            fired, payload, active = _lif_one(state, acc_in, param, i)
        else:  # validated by the engine: only MODEL_LIF lives on cores for now
            fired, payload, active = False, np.int64(0), False
        out_fired[i] = 1 if fired else 0
        out_payload[i] = payload
        out_active[i] = 1 if active else 0
    for i in range(host_start, out_fired.shape[0]):  # MODEL_INPUT: not updated, no cost
        p = host_payload[i - host_start]
        out_fired[i] = 1 if p != 0 else 0
        out_payload[i] = p
        out_active[i] = 0
    acc_in[:, :] = 0


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
            for s in range(row_ptr[row], row_ptr[row + 1]):
                acc_out[syn_target[s], syn_acc[s]] += np.int64(syn_weight[s]) * p


#: Neuron models :func:`update_neurons` knows, by id (``nmsim.compile.compiled``).
SUPPORTED_MODELS = {MODEL_INPUT: "input", MODEL_LIF: "lif"}
