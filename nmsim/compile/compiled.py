"""The flat-array form of a placed network on a chip: everything the kernels read.

One object owns every array (Brian2's ``Device`` idea); :meth:`CompiledModel.check`
asserts the CSR, routing and geometry invariants once, before any kernel runs.
Semantics of every field are in ``docs/engine-model.md``; this module is the
single definition of the layout shared by ``nmsim.compile`` (producer),
``nmsim.sim`` (consumer) and ``nmsim.oracle`` (independent consumer).

Indexing conventions
--------------------
- Routers ``r = y * width + x``, ``0 <= x < width`` (east is +x), ``0 <= y < height``
  (north is +y).
- Cores ``0 .. n_cores-1``; core ``c`` sits on router ``core_router[c]``.
  The *host* (owner of input populations) is the extra core index ``n_cores``;
  it sits on the I/O router ``io_router`` through its own port.
- Neurons are numbered globally, grouped by core: neurons of core ``c`` are
  ``core_neuron_ptr[c] .. core_neuron_ptr[c+1]-1`` (host neurons last).
  Within a core the order is the neuron-unit update order.
- Links: mesh output port ``p`` (``PORT_E/W/N/S``) of router ``r`` is link
  ``4*r + p``; the injection link of core ``c`` (core -> its router, host
  included) is ``4*n_routers + c``; the ejection link to core ``c`` (router -> core)
  is ``4*n_routers + (n_cores+1) + c``.  ``n_links = 4*n_routers + 2*(n_cores+1)``.
- Router input buffers share the id of the link that fills them: the buffer at
  the downstream end of mesh link ``l`` has id ``l``; the buffer filled by the
  injection link of core ``c`` has id ``4*n_routers + c``.  Ejection links have
  no buffer (a core's receive queue is unbounded).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nmsim.describe.chip import TIMING_KEYS

PORT_E, PORT_W, PORT_N, PORT_S = 0, 1, 2, 3

#: Timing parameters of ``CompiledModel.timing``, in order: the chip's ``[timing]`` keys (integer cycles; meanings
#: in ``docs/chip-description.md``), then four resolved from other tables.
TIMING_FIELDS: tuple[str, ...] = TIMING_KEYS + (
    "synapses_per_read",  # synapses delivered per read (count, >= 1)
    "flits_per_packet",  # ceil((header_bits + payload_bits) / link_width_bits)
    "readout_values_per_packet",  # values one packet to the host carries (>= 1; docs/engine-model.md §2.2)
    "readout_flits_per_packet",  # flits of a packet to the host (== flits_per_packet when it carries one value)
    "router_buffer_packets",  # depth of every router input buffer, packets (>= 1)
    "barrier_cycles",  # cycles added after the last activity of every timestep
)
#: Index of each timing parameter in ``CompiledModel.timing``.
T = {name: i for i, name in enumerate(TIMING_FIELDS)}

#: Neuron model ids (``neuron_model``).
MODEL_INPUT, MODEL_LIF = 0, 1
MODEL_EGRU, MODEL_GRU, MODEL_LSTM, MODEL_READOUT = 2, 3, 4, 5
#: Width of ``neuron_param`` (``nmsim.describe.neuron_models.N_PARAM_COLUMNS``).
N_PARAM = 24


@dataclass
class CompiledModel:
    """Flat arrays of one network placed on one chip.  All integer.

    Geometry
        ``width, height`` (routers), ``n_cores`` (host excluded), ``io_router``;
        ``core_router int32[n_cores+1]`` (router of each core, host last).
    Neurons (``N`` = total, host-owned input neurons included)
        ``core_neuron_ptr int64[n_cores+2]``; ``neuron_model int8[N]``;
        ``neuron_param int64[N, 8]`` (LIF/readout only) or ``int64[N, N_PARAM]`` and ``neuron_state int64[N, 4]`` (initial state),
        columns per model in ``docs/engine-model.md``;
        ``neuron_pop int32[N]`` (population index) and ``neuron_local int32[N]``
        (index inside its population) map back to the network;
        ``payload_bits int32[N]`` (width of the event payload of each neuron).
    Routing (per source neuron, destination cores ascending)
        ``route_ptr int64[N+1]``; ``route_core int32[n_routes]``; ``route_row int64[n_routes]``:
        neuron ``g`` sends one packet to each ``route_core[k]`` for
        ``route_ptr[g] <= k < route_ptr[g+1]``; that packet makes the destination's
        synapse unit read CSR row ``route_row[k]``.
    Synapses (CSR rows stored at destination cores)
        ``row_ptr int64[n_rows+1]``; ``syn_target int32[nnz]`` (global neuron index, on the
        row's core); ``syn_acc int8[nnz]`` (accumulator index); ``syn_weight int32[nnz]``;
        ``row_core int32[n_rows]``; ``row_n_reads int64[n_rows]`` =
        ``ceil(nnz(row) / synapses_per_read)``.
    Timing
        ``timing int64[len(TIMING_FIELDS)]`` indexed by :data:`T`.
    Lookup tables (recurrent cells)
        ``lut int64[n_tables, size]``: sigmoid/tanh tables referenced by the cell
        columns ``sigmoid_lut``/``tanh_lut`` of ``neuron_param``; ``lut_size int64[n_tables]``.
    Routes to the host
        a route with ``route_core == n_cores`` and ``route_row == -1`` sends the event to the host
        (readout); it has no CSR row.
    ``n_accumulators``: accumulators per neuron (>= 1).
    ``multicast``: routing mode (``False``: unicast).
    """

    width: int
    height: int
    n_cores: int
    io_router: int
    core_router: np.ndarray
    core_neuron_ptr: np.ndarray
    neuron_model: np.ndarray
    neuron_param: np.ndarray
    neuron_state: np.ndarray
    neuron_pop: np.ndarray
    neuron_local: np.ndarray
    payload_bits: np.ndarray
    route_ptr: np.ndarray
    route_core: np.ndarray
    route_row: np.ndarray
    row_ptr: np.ndarray
    syn_target: np.ndarray
    syn_acc: np.ndarray
    syn_weight: np.ndarray
    row_core: np.ndarray
    row_n_reads: np.ndarray
    timing: np.ndarray
    n_accumulators: int = 1
    lut: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), np.int64))
    lut_size: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    meta: dict = field(default_factory=dict)
    #: ``noc.routing == "multicast"``: one packet per firing neuron, replicated along its XY tree
    #: (:mod:`nmsim.compile.multicast`, ``docs/engine-model.md`` §2.6); else one packet per route.
    multicast: bool = False

    @property
    def n_routers(self) -> int:
        return self.width * self.height

    @property
    def n_neurons(self) -> int:
        return int(self.core_neuron_ptr[-1])

    @property
    def n_links(self) -> int:
        return 4 * self.n_routers + 2 * (self.n_cores + 1)

    def check(self) -> None:
        """Assert every layout invariant; raises ``AssertionError`` naming the broken one."""
        C, R, N = self.n_cores, self.n_routers, self.n_neurons
        dt = {
            "core_router": np.int32, "core_neuron_ptr": np.int64, "neuron_model": np.int8,
            "neuron_param": np.int64, "neuron_state": np.int64, "neuron_pop": np.int32,
            "neuron_local": np.int32, "payload_bits": np.int32, "route_ptr": np.int64,
            "route_core": np.int32, "route_row": np.int64, "row_ptr": np.int64,
            "syn_target": np.int32, "syn_acc": np.int8, "syn_weight": np.int32,
            "row_core": np.int32, "row_n_reads": np.int64, "timing": np.int64,
            "lut": np.int64, "lut_size": np.int64,
        }
        for name, want in dt.items():
            arr = getattr(self, name)
            assert isinstance(arr, np.ndarray) and arr.dtype == want, f"{name}: dtype {getattr(arr, 'dtype', type(arr))}, want {np.dtype(want)}"
            assert arr.flags.c_contiguous, f"{name}: not C-contiguous"
        assert self.core_router.shape == (C + 1,), "core_router shape"
        assert ((0 <= self.core_router) & (self.core_router < R)).all(), "core_router out of range"
        assert self.core_router[C] == self.io_router, "host must sit on io_router"
        assert self.core_neuron_ptr.shape == (C + 2,) and self.core_neuron_ptr[0] == 0, "core_neuron_ptr"
        assert (np.diff(self.core_neuron_ptr) >= 0).all(), "core_neuron_ptr not non-decreasing"
        for name in ("neuron_model", "neuron_pop", "neuron_local", "payload_bits"):
            assert getattr(self, name).shape == (N,), f"{name} shape"
        assert self.neuron_param.shape in ((N, 8), (N, N_PARAM)) and self.neuron_state.shape == (N, 4), "param/state shape"
        assert self.route_ptr.shape == (N + 1,) and self.route_ptr[0] == 0, "route_ptr"
        assert (np.diff(self.route_ptr) >= 0).all(), "route_ptr not non-decreasing"
        nr = int(self.route_ptr[-1])
        assert self.route_core.shape == (nr,) and self.route_row.shape == (nr,), "route arrays length"
        n_rows = self.row_ptr.shape[0] - 1
        assert self.row_ptr[0] == 0 and (np.diff(self.row_ptr) >= 1).all(), "row_ptr: rows must be non-empty"
        nnz = int(self.row_ptr[-1])
        for name in ("syn_target", "syn_acc", "syn_weight"):
            assert getattr(self, name).shape == (nnz,), f"{name} length"
        assert self.row_core.shape == (n_rows,) and self.row_n_reads.shape == (n_rows,), "row_core/row_n_reads"
        assert self.lut.ndim == 2 and self.lut_size.shape == (self.lut.shape[0],), "lut/lut_size shape"
        assert ((1 <= self.lut_size) & (self.lut_size <= self.lut.shape[1])).all(), "lut_size out of range"
        cell = (self.neuron_model >= MODEL_EGRU) & (self.neuron_model <= MODEL_LSTM)
        if cell.any():
            assert self.neuron_param.shape[1] == N_PARAM, "recurrent-cell models need neuron_param width N_PARAM"
            ids = self.neuron_param[cell][:, 20:22]
            assert ((0 <= ids) & (ids < self.lut.shape[0])).all(), "cell LUT id out of range"
        if nr:
            to_host = self.route_core == C
            assert ((0 <= self.route_core) & (self.route_core <= C)).all(), "route to a non-core"
            assert (self.route_row[to_host] == -1).all(), "a route to the host must have route_row -1"
            rr = self.route_row[~to_host]
            assert ((0 <= rr) & (rr < n_rows)).all(), "route_row out of range"
            assert (self.row_core[rr] == self.route_core[~to_host]).all(), "row not at its destination core"
            # destination cores strictly ascending per source neuron
            src = np.repeat(np.arange(N), np.diff(self.route_ptr))
            same = src[1:] == src[:-1]
            bad = np.flatnonzero(same & (np.diff(self.route_core.astype(np.int64)) <= 0))
            assert bad.size == 0, f"routes of neuron {src[bad[0]] if bad.size else -1} not ascending"
        if nnz:
            assert ((0 <= self.syn_acc) & (self.syn_acc < self.n_accumulators)).all(), "syn_acc out of range"
            # a row's targets lie in its core's neuron range (rows are non-empty: per-row min and max suffice)
            lo = np.minimum.reduceat(self.syn_target, self.row_ptr[:-1])
            hi = np.maximum.reduceat(self.syn_target, self.row_ptr[:-1])
            rc = self.row_core.astype(np.int64)
            assert ((self.core_neuron_ptr[rc] <= lo) & (hi < self.core_neuron_ptr[rc + 1])).all(), \
                "synapse target not on its row's core"
        spr = int(self.timing[T["synapses_per_read"]])
        assert spr >= 1 and self.timing[T["flits_per_packet"]] >= 1 and self.timing[T["router_buffer_packets"]] >= 1
        kv, rf = int(self.timing[T["readout_values_per_packet"]]), int(self.timing[T["readout_flits_per_packet"]])
        F = int(self.timing[T["flits_per_packet"]])
        assert kv >= 1 and rf >= F and (kv > 1 or rf == F), \
            "readout_flits_per_packet: >= flits_per_packet, equal when a packet to the host carries one value"
        assert kv == 1 or not self.multicast, "several values per packet to the host need unicast routing"
        assert (self.row_n_reads == (np.diff(self.row_ptr) + spr - 1) // spr).all(), "row_n_reads"
        assert (self.timing >= 0).all(), "negative timing"
