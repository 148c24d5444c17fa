"""Small hand-built ``CompiledModel`` s for the engine tests (the TOML/compile stage is not used).

:func:`make_model` builds the flat arrays of ``nmsim/compile/compiled.py`` from a plain
description: LIF neurons per core, host input neurons, ``(source, target, weight)``
synapses with *network* neuron ids, and a placement.  One CSR row per
(source, destination core), synapses in edge order, routes ascending by core.
"""

from __future__ import annotations

import numpy as np

from nmsim.compile.compiled import MODEL_INPUT, MODEL_LIF, TIMING_FIELDS, CompiledModel

#: Timing used when a field is not given (cycles).
BASE_TIMING = {
    "neuron_update_active_cycles": 2, "neuron_update_idle_cycles": 1, "spike_send_cycles": 1,
    "io_packet_cycles": 1, "hop_east_west_cycles": 1, "hop_north_south_cycles": 1, "local_delivery_cycles": 1,
    "packet_receive_cycles": 1, "synapse_read_cycles": 1, "synapses_per_read": 1, "flits_per_packet": 1,
    "router_buffer_packets": 4, "barrier_cycles": 0,
}

#: LIF parameter columns 0..5: threshold, decay, bias, reset_mode, v_min, v_max.
WIDE = (1 << 20)


def lif_params(n, threshold=0, decay=0, bias=0, reset_mode=0, v_min=-WIDE, v_max=WIDE) -> np.ndarray:
    """``int64[n, 6]`` LIF parameters, each column a scalar or an array."""
    cols = [np.broadcast_to(np.asarray(x, np.int64), (n,)) for x in (threshold, decay, bias, reset_mode, v_min, v_max)]
    return np.stack(cols, axis=1)


def make_model(*, width, height, core_router, neuron_core, n_host=0, edges=(), timing=None, lif=None, v0=None,
               io_router=0, n_accumulators=1) -> CompiledModel:
    """A checked model.

    ``core_router[c]``: router of core ``c``; ``neuron_core[i]``: core of LIF network neuron ``i``
    (``n_lif = len(neuron_core)``); network ids ``n_lif .. n_lif+n_host-1`` are the host's input neurons.
    ``edges``: ``(source, target, weight)`` in network ids (targets LIF).  ``lif int64[n_lif, 6]``,
    ``v0 int64[n_lif]``.  Compiled neurons are grouped by core (stable in network id); ``neuron_local``
    holds the network id, so ``model.neuron_local[g]`` maps a compiled index back.
    """
    C = len(core_router)
    neuron_core = np.asarray(neuron_core, np.int64)
    n_lif = len(neuron_core)
    N = n_lif + n_host
    tim = {**BASE_TIMING, **(timing or {})}
    assert set(tim) == set(TIMING_FIELDS)
    order = np.argsort(neuron_core, kind="stable")  # compiled index -> network id (LIF part)
    net_of = np.concatenate([order, np.arange(n_lif, N)])
    comp_of = np.empty(N, np.int64)
    comp_of[net_of] = np.arange(N)
    core_of = np.concatenate([neuron_core[order], np.full(n_host, C)])
    per_core = np.bincount(core_of, minlength=C + 1)
    param = np.zeros((N, 8), np.int64)
    param[:n_lif, :6] = (lif_params(n_lif) if lif is None else np.asarray(lif, np.int64))[order]
    state = np.zeros((N, 4), np.int64)
    if v0 is not None:
        state[:n_lif, 0] = np.asarray(v0, np.int64)[order]
    rows: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for s, t, w in edges:
        cs, ct = int(comp_of[s]), int(comp_of[t])
        rows.setdefault((cs, int(core_of[ct])), []).append((ct, int(w)))
    keys = sorted(rows)
    spr = tim["synapses_per_read"]
    row_ptr, tgt, wgt = [0], [], []
    for k in keys:
        tgt += [t for t, _ in rows[k]]
        wgt += [w for _, w in rows[k]]
        row_ptr.append(len(tgt))
    nnz = np.diff(np.array(row_ptr, np.int64))
    model = CompiledModel(
        width=width, height=height, n_cores=C, io_router=io_router,
        core_router=np.array(list(core_router) + [io_router], np.int32),
        core_neuron_ptr=np.concatenate([[0], np.cumsum(per_core)]).astype(np.int64),
        neuron_model=np.array([MODEL_LIF] * n_lif + [MODEL_INPUT] * n_host, np.int8),
        neuron_param=param, neuron_state=state,
        neuron_pop=np.array([0] * n_lif + [1] * n_host, np.int32),
        neuron_local=np.concatenate([order, np.arange(n_host)]).astype(np.int32),
        payload_bits=np.ones(N, np.int32),
        route_ptr=np.concatenate([[0], np.cumsum(np.bincount([k[0] for k in keys], minlength=N))]).astype(np.int64),
        route_core=np.array([k[1] for k in keys], np.int32),
        route_row=np.arange(len(keys), dtype=np.int64),
        row_ptr=np.array(row_ptr, np.int64), syn_target=np.array(tgt, np.int32),
        syn_acc=np.zeros(len(tgt), np.int8), syn_weight=np.array(wgt, np.int32),
        row_core=np.array([k[1] for k in keys], np.int32), row_n_reads=(nnz + spr - 1) // spr,
        timing=np.array([tim[f] for f in TIMING_FIELDS], np.int64), n_accumulators=n_accumulators,
    )
    model.meta["pop_names"] = ["lif", "input"]
    model.check()
    return model


def lif_reference(lif, v0, edges, n_lif, host_payloads, n_steps):
    """Spec §1 in plain NumPy integers, in network ids: ``(fired uint8[n_steps, N], v int64[n_lif])``.

    Independent of the kernels: dense weight matrix, one matrix product per step.
    """
    n_host = host_payloads.shape[1]
    N = n_lif + n_host
    Wm = np.zeros((N, n_lif), np.int64)
    for s, t, w in edges:
        Wm[s, t] += w
    thr, dec, bias, reset, vmin, vmax = (np.asarray(lif, np.int64)[:, j] for j in range(6))
    v = np.asarray(v0, np.int64).copy()
    u = np.zeros(n_lif, np.int64)
    fired = np.zeros((n_steps, N), np.uint8)
    for t in range(n_steps):
        v1 = np.clip(v - ((v * dec) >> 12) + bias + u, vmin, vmax)
        f = v1 > thr
        v = np.where(f, np.where(reset == 0, v1 - thr, 0), v1)
        payload = np.concatenate([f.astype(np.int64), host_payloads[t]])
        fired[t] = payload != 0
        u = payload @ Wm
    return fired, v
