"""Compile a placed network into the flat arrays of :class:`~nmsim.compile.compiled.CompiledModel`.

Orders chosen here (the engine relies only on what ``CompiledModel.check`` asserts):

- neurons: core by core (host last); within a core in network order
  (populations in insertion order, then neuron index);
- CSR rows: grouped by destination core (ascending), then by source neuron
  (compiled index); one row per (source neuron, destination core) pair with at
  least one synapse;
- synapses in a row: by target neuron, then accumulator, then projection order;
- routes of a source neuron: destination cores ascending.
"""

from __future__ import annotations

import numpy as np

from nmsim.compile.compiled import TIMING_FIELDS, CompiledModel
from nmsim.describe.chip import ChipSpec, load_chip
from nmsim.describe.network import Network
from nmsim.describe.system import core_routers
from nmsim.describe.neuron_models import N_PARAM_COLUMNS, N_STATE_COLUMNS
from nmsim.errors import MappingError
from nmsim.map.placement import Placement, core_xy


def lex_order(keys: tuple, bounds: tuple) -> np.ndarray:
    """``np.lexsort(keys)`` (last key primary, stable) as ``int64``: when every key ``keys[i]`` lies in
    ``[0, bounds[i])`` and the product of the bounds is below ``2**62``, one stable argsort of the keys packed
    into one ``int64`` (the same order, about 3x faster on a model's synapses); else ``np.lexsort`` itself."""
    span = 1
    for b in bounds:
        span *= max(int(b), 1)
    if span >= 2**62 or any(k.size and (int(k.min()) < 0 or int(k.max()) >= b) for k, b in zip(keys, bounds)):
        return np.lexsort(keys).astype(np.int64)
    packed = np.zeros(keys[0].shape, np.int64) if keys else np.zeros(0, np.int64)
    for k, b in zip(reversed(keys), reversed(bounds)):  # primary first: (..(k_primary * b_2 + k_2) * b_3 + k_3)..
        packed = packed * max(int(b), 1) + k.astype(np.int64)
    return np.argsort(packed, kind="stable").astype(np.int64)


def compile_model(chip: ChipSpec | str, net: Network, placement: Placement) -> CompiledModel:
    """Flat arrays of ``net`` placed by ``placement`` on ``chip``; ``check()`` has passed."""
    chip = load_chip(chip)
    C = chip.n_cores
    if placement.chip_name != chip.name or placement.n_cores != C:
        raise MappingError(f"placement was made for chip {placement.chip_name!r}, not {chip.name!r}")
    if set(placement.core_of) != set(net.populations) or any(
            placement.core_of[p].shape != (net.populations[p].n,) for p in net.populations):
        raise MappingError(f"placement does not match network {net.name!r} (populations or sizes differ)")

    pops = list(net.populations.values())
    core_net = np.concatenate([placement.core_of[p.name] for p in pops]).astype(np.int64)  # network order
    N = core_net.size
    perm = np.argsort(core_net, kind="stable")  # compiled index -> network index
    cidx = np.empty(N, np.int64)
    cidx[perm] = np.arange(N)  # network index -> compiled index
    core_neuron_ptr = np.zeros(C + 2, np.int64)
    core_neuron_ptr[1:] = np.cumsum(np.bincount(core_net, minlength=C + 1))

    # neurons, in network order first, then permuted
    model = np.empty(N, np.int8)
    # LIF-only networks keep the historical 8 columns; any model with more parameters widens to N_PARAM_COLUMNS
    width = 8 if all(len(p.neuron_model.params) <= 8 for p in pops) else N_PARAM_COLUMNS
    param = np.zeros((N, width), np.int64)
    state = np.zeros((N, N_STATE_COLUMNS), np.int64)
    pop_ix = np.empty(N, np.int32)
    local = np.empty(N, np.int32)
    pbits = np.empty(N, np.int32)
    offset, off = {}, 0
    for i, p in enumerate(pops):
        m = p.neuron_model
        sl = slice(off, off + p.n)
        offset[p.name] = off
        model[sl] = m.model_id
        for k, name in enumerate(m.params):
            param[sl, k] = p.params[name]
        for k, name in enumerate(m.state):
            state[sl, k] = p.params[f"{name}_init"]
        pop_ix[sl], local[sl], pbits[sl] = i, np.arange(p.n), p.payload_bits
        off += p.n

    # synapses of every projection, as compiled indices
    src, dst, wgt, acc, seq = [], [], [], [], []
    for j, q in enumerate(net.projections):
        coo = q.weights.tocoo()
        src.append(cidx[coo.row.astype(np.int64) + offset[q.src]])
        dst.append(cidx[coo.col.astype(np.int64) + offset[q.dst]])
        wgt.append(coo.data.astype(np.int64))
        acc.append(np.full(coo.nnz, q.accumulator, np.int64))
        seq.append(np.full(coo.nnz, j, np.int64))
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64))
    src, dst, wgt, acc, seq = map(cat, (src, dst, wgt, acc, seq))
    core_c = core_net[perm]  # core of each compiled neuron
    dcore = core_c[dst]
    n_acc = max(int(acc.max(initial=0)) + 1, 1)
    order = lex_order((seq, acc, dst, src, dcore), (len(net.projections), n_acc, N, N, C + 1))
    src, dst, wgt, acc, dcore = src[order], dst[order], wgt[order], acc[order], dcore[order]
    key = dcore * N + src
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else np.zeros(0, np.int64)
    n_rows = starts.size
    row_ptr = np.append(starts, key.size).astype(np.int64)
    row_core = dcore[starts].astype(np.int32)
    row_src = src[starts]
    spr = chip.core.synapses_per_read
    row_n_reads = ((np.diff(row_ptr) + spr - 1) // spr).astype(np.int64)

    # routes: per source, destination cores ascending; routes to the host (core C, row -1) come last
    host_src = np.concatenate([cidx[offset[p.name]:offset[p.name] + p.n] for p in pops if p.to_host]
                              or [np.zeros(0, np.int64)]).astype(np.int64)
    all_src = np.concatenate([row_src, host_src])
    all_core = np.concatenate([row_core.astype(np.int64), np.full(host_src.size, C, np.int64)])
    all_row = np.concatenate([np.arange(n_rows, dtype=np.int64), np.full(host_src.size, -1, np.int64)])
    r_order = lex_order((all_core, all_src), (C + 1, N))
    route_ptr = np.zeros(N + 1, np.int64)
    route_ptr[1:] = np.cumsum(np.bincount(all_src, minlength=N))
    if net.luts:
        lut_size = np.array([t.size for t in net.luts], np.int64)
        lut = np.zeros((len(net.luts), int(lut_size.max())), np.int64)
        for i, t in enumerate(net.luts):
            lut[i, :t.size] = t
    else:
        lut, lut_size = np.zeros((0, 1), np.int64), np.zeros(0, np.int64)

    timing = chip.timing_cycles()
    m = chip.mesh
    rows_per_core = np.bincount(row_core, minlength=C).astype(np.int64)
    nnz_per_core = np.bincount(dcore, minlength=C).astype(np.int64)
    cm = CompiledModel(
        width=m.width, height=m.height, n_cores=C, io_router=m.io_router,
        core_router=np.append(core_routers(chip), m.io_router).astype(np.int32),
        core_neuron_ptr=core_neuron_ptr,
        neuron_model=np.ascontiguousarray(model[perm]), neuron_param=np.ascontiguousarray(param[perm]),
        neuron_state=np.ascontiguousarray(state[perm]), neuron_pop=np.ascontiguousarray(pop_ix[perm]),
        neuron_local=np.ascontiguousarray(local[perm]), payload_bits=np.ascontiguousarray(pbits[perm]),
        route_ptr=route_ptr, route_core=np.ascontiguousarray(all_core[r_order].astype(np.int32)),
        route_row=np.ascontiguousarray(all_row[r_order]),
        row_ptr=row_ptr, syn_target=dst.astype(np.int32), syn_acc=acc.astype(np.int8),
        syn_weight=wgt.astype(np.int32), row_core=row_core, row_n_reads=row_n_reads,
        timing=np.array([timing[f] for f in TIMING_FIELDS], np.int64),
        n_accumulators=chip.core.n_accumulators, lut=lut, lut_size=lut_size,
        meta={
            "chip": chip.name, "chip_path": chip.path, "frequency_hz": chip.clock.frequency_hz,
            "network": net.name, "placement": placement.strategy, "seed": placement.seed,
            "populations": [p.name for p in pops], "models": [p.model for p in pops],
            "neuron_index": {p.name: cidx[offset[p.name]:offset[p.name] + p.n] for p in pops},
            "core_neurons": np.diff(core_neuron_ptr)[:C], "core_synapses": nnz_per_core,
            "core_rows": rows_per_core, "core_bytes": placement.bytes.copy(),
            "core_xy": core_xy(chip),
            # a board of chips (nmsim.describe.system.board_chip): the engine routes through the chip ports
            **({"system": dict(chip.board)} if chip.board is not None else {}),
        },
    )
    assert (rows_per_core == placement.rows).all() and (nnz_per_core == placement.synapses).all(), \
        "compiled rows/synapses disagree with the placement's accounting"
    cm.check()
    if chip.noc.multicast:
        from nmsim.compile.multicast import check_table_capacity

        cm.multicast = True
        cm.meta["router_table_entries"] = check_table_capacity(cm, chip.noc.routing_table_entries)
    return cm


def neuron_index(model: CompiledModel, pop: str) -> np.ndarray:
    """Compiled (global) index of every neuron of population ``pop``, in local order."""
    try:
        return model.meta["neuron_index"][pop]
    except KeyError:
        raise MappingError(f"population {pop!r} is not in compiled network {model.meta.get('network')!r}") from None


def scatter_inputs(model: CompiledModel, inputs: dict, n_steps: int) -> np.ndarray:
    """``{pop: int[n_steps, n]}`` -> ``int64[n_steps, N]`` in compiled neuron order (zeros elsewhere)."""
    out = np.zeros((n_steps, model.n_neurons), np.int64)
    for pop, arr in inputs.items():
        idx = neuron_index(model, pop)
        arr = np.asarray(arr)
        if arr.shape != (n_steps, idx.size):
            raise MappingError(f"inputs[{pop!r}]: expected shape ({n_steps}, {idx.size}), got {arr.shape}")
        out[:, idx] = arr
    return out


def gather(model: CompiledModel, arr: np.ndarray, pop: str) -> np.ndarray:
    """Columns of a ``[..., N]`` array (e.g. ``fired``) that belong to ``pop``, in local order."""
    return np.asarray(arr)[..., neuron_index(model, pop)]
