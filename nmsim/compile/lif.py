"""The one direct :class:`CompiledModel` builder: LIF neurons and host inputs from an edge list.

Tests, the oracle's random cases and the engine benchmark build their models here, without
the TOML/mapping stage (:func:`nmsim.compile.build.compile_model` is the path from a
``Network`` and a ``Placement``).

Orders: compiled neurons are grouped by core (stable in network id), host neurons last;
one CSR row per (source neuron, destination core), stored by (source, destination core)
unless ``row_order`` permutes them; synapses of a row in edge order; routes of a source
in ascending destination core; ``row_n_reads = ceil(nnz / synapses_per_read)``.
Vectorized: a benchmark-sized model (millions of synapses) builds in about a second.
"""

from __future__ import annotations

import numpy as np

from nmsim.compile.compiled import MODEL_INPUT, MODEL_LIF, TIMING_FIELDS, CompiledModel

#: Timing used for every field not given (cycles; counts where the name says so): 1 everywhere except
#: below.  Small on purpose: tests and oracle cases want short, hand-checkable schedules.
#: ``readout_flits_per_packet`` is left out: it defaults to ``flits_per_packet`` (one value per packet to the host).
DEFAULT_TIMING: dict[str, int] = {**{f: 1 for f in TIMING_FIELDS if f != "readout_flits_per_packet"},
                                  "neuron_update_active_cycles": 2, "router_buffer_packets": 2, "barrier_cycles": 0}

#: Default LIF parameters (columns 0..5 of ``neuron_param``): threshold, decay (/4096), bias, reset_mode, v_min,
#: v_max.
DEFAULT_LIF = (0, 0, 0, 0, -(2**20), 2**20)


def lif_params(n, threshold=0, decay=0, bias=0, reset_mode=0, v_min=DEFAULT_LIF[4], v_max=DEFAULT_LIF[5]) -> np.ndarray:
    """``int64[n, 6]`` LIF parameters (columns of :data:`DEFAULT_LIF`), each a scalar or an array."""
    cols = [np.broadcast_to(np.asarray(x, np.int64), (n,)) for x in (threshold, decay, bias, reset_mode, v_min, v_max)]
    return np.stack(cols, axis=1)


def _edge_arrays(edges) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(src, tgt, weight)`` integer arrays from a sequence of triples or a triple of integer arrays (not copied)."""
    if isinstance(edges, tuple) and len(edges) == 3 and all(isinstance(e, np.ndarray) and e.dtype.kind in "iu"
                                                            for e in edges):
        return edges
    arr = np.asarray(list(edges), np.int64).reshape(-1, 3)
    return arr[:, 0], arr[:, 1], arr[:, 2]


def _add_host_routes(route_ptr, route_core, route_row, senders, C: int, n_lif: int):
    """The route arrays with one more route, to the host (core ``C``, row -1), last for each compiled LIF
    neuron in ``senders``."""
    if not ((0 <= senders) & (senders < n_lif)).all():
        raise ValueError("to_host: only LIF neurons can send to the host")
    N = route_ptr.size - 1
    extra = np.zeros(N, np.int64)
    extra[senders] = 1
    ptr = np.concatenate([[0], np.cumsum(np.diff(route_ptr) + extra)]).astype(np.int64)
    core = np.full(int(ptr[-1]), C, np.int64)
    row = np.full(int(ptr[-1]), -1, np.int64)
    old = np.repeat(ptr[:-1] - route_ptr[:-1], np.diff(route_ptr)) + np.arange(int(route_ptr[-1]))
    core[old], row[old] = route_core, route_row
    return ptr, core, row


def lif_model(*, width: int, height: int, core_router, neuron_core, n_host: int = 0, edges=(), timing=None,
              lif=None, v0=None, io_router: int = 0, n_accumulators: int = 1, row_order=None,
              host_payload_bits: int = 8, to_host=()) -> CompiledModel:
    """A checked :class:`CompiledModel`.

    ``core_router[c]``: router of core ``c`` (host excluded); ``neuron_core[i]``: core of LIF network neuron ``i``
    (``n_lif = len(neuron_core)``); network ids ``n_lif .. n_lif+n_host-1`` are the host's input neurons.
    ``edges``: ``(source, target, weight)`` in network ids (targets LIF), as triples or as three arrays.
    ``timing``: cycles by ``TIMING_FIELDS`` name, over :data:`DEFAULT_TIMING`.  ``lif int64[n_lif, 6]``
    (default :data:`DEFAULT_LIF`), ``v0 int64[n_lif]`` initial ``v`` (default 0).  ``row_order``: permutation
    of the rows (stored row ``r`` holds the ``row_order[r]``-th (source, core) pair).  ``neuron_local`` holds the
    network id of each LIF neuron (host: its input index); ``meta["pop_names"] = ["lif", "input"]``.
    ``to_host``: network ids of LIF neurons that also send each event to the host (a last route, core
    ``len(core_router)``, row -1).
    """
    C = len(core_router)
    unknown = set(timing or {}) - set(TIMING_FIELDS)
    if unknown:
        raise ValueError(f"unknown timing field(s) {sorted(unknown)}; choices: {TIMING_FIELDS}")
    tim = {**DEFAULT_TIMING, **(timing or {})}
    if "readout_flits_per_packet" not in tim:
        if tim["readout_values_per_packet"] != 1:
            raise ValueError("timing: readout_values_per_packet > 1 needs readout_flits_per_packet")
        tim["readout_flits_per_packet"] = tim["flits_per_packet"]  # one value per packet: a spike's flits
    neuron_core = np.asarray(neuron_core, np.int64).reshape(-1)
    n_lif = neuron_core.size
    N = n_lif + n_host
    if n_lif and not ((0 <= neuron_core) & (neuron_core < C)).all():
        raise ValueError("neuron_core: every LIF neuron needs a core 0..len(core_router)-1")
    order = np.argsort(neuron_core, kind="stable")  # compiled index -> network id (LIF part)
    net_of = np.concatenate([order, np.arange(n_lif, N)])
    comp_of = np.empty(N, np.int64)
    comp_of[net_of] = np.arange(N)
    core_of = np.concatenate([neuron_core[order], np.full(n_host, C)])  # core of each compiled neuron
    param = np.zeros((N, 8), np.int64)
    param[:n_lif, :6] = (np.broadcast_to(DEFAULT_LIF, (n_lif, 6)) if lif is None
                         else np.asarray(lif, np.int64).reshape(n_lif, 6))[order]
    state = np.zeros((N, 4), np.int64)
    if v0 is not None:
        state[:n_lif, 0] = np.asarray(v0, np.int64)[order]

    src, tgt, w = _edge_arrays(edges)
    if src.size and not (((0 <= src) & (src < N)).all() and ((0 <= tgt) & (tgt < n_lif)).all()):
        raise ValueError("edges: sources must be neurons, targets LIF neurons")
    # (source, destination core) of every synapse, in compiled ids; temporaries kept few (benchmark sizes)
    key = comp_of[src] * (C + 1)
    ct = comp_of[tgt].astype(np.int32)
    key += core_of[ct]
    if key.size > 1 and not (key[1:] >= key[:-1]).all():
        perm = np.argsort(key, kind="stable")  # stable: synapses of a row in edge order
        key, ct, w = key[perm], ct[perm], w[perm]
        del perm
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else np.zeros(0, np.int64)
    ends = np.r_[first[1:], key.size].astype(np.int64)
    n_rows = first.size
    rows = np.arange(n_rows) if row_order is None else np.asarray(row_order, np.int64)
    if row_order is not None and not np.array_equal(np.sort(rows), np.arange(n_rows)):
        raise ValueError("row_order must be a permutation of the rows")
    lens = ends[rows] - first[rows]
    row_ptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    if row_order is not None:  # stored synapse -> sorted synapse
        gather = np.repeat(first[rows] - row_ptr[:-1], lens) + np.arange(int(row_ptr[-1]))
        ct, w = ct[gather], w[gather]
    row_of_key = np.empty(n_rows, np.int64)
    row_of_key[rows] = np.arange(n_rows)
    route_src, route_core = key[first] // (C + 1), key[first] % (C + 1)
    del key, first, ends
    route_ptr = np.concatenate([[0], np.cumsum(np.bincount(route_src, minlength=N))]).astype(np.int64)
    row_core = route_core[rows].astype(np.int32)
    if len(to_host):
        route_ptr, route_core, row_of_key = _add_host_routes(route_ptr, route_core, row_of_key,
                                                             comp_of[np.asarray(to_host, np.int64)], C, n_lif)
    spr = tim["synapses_per_read"]
    model = CompiledModel(
        width=width, height=height, n_cores=C, io_router=io_router,
        core_router=np.array(list(core_router) + [io_router], np.int32),
        core_neuron_ptr=np.concatenate([[0], np.cumsum(np.bincount(core_of, minlength=C + 1))]).astype(np.int64),
        neuron_model=np.array([MODEL_LIF] * n_lif + [MODEL_INPUT] * n_host, np.int8),
        neuron_param=param, neuron_state=state,
        neuron_pop=np.array([0] * n_lif + [1] * n_host, np.int32),
        neuron_local=np.concatenate([order, np.arange(n_host)]).astype(np.int32),
        payload_bits=np.array([1] * n_lif + [host_payload_bits] * n_host, np.int32),
        route_ptr=route_ptr,
        route_core=route_core.astype(np.int32), route_row=row_of_key,
        row_ptr=row_ptr, syn_target=ct, syn_acc=np.zeros(ct.size, np.int8),
        syn_weight=w.astype(np.int32, copy=False), row_core=row_core,
        row_n_reads=(lens + spr - 1) // spr,
        timing=np.array([tim[f] for f in TIMING_FIELDS], np.int64), n_accumulators=n_accumulators,
    )
    model.meta["pop_names"] = ["lif", "input"]
    del route_src, route_core, rows, lens, row_of_key, ct, w  # before check(): lower peak memory at benchmark sizes
    model.check()
    return model
