"""The engine: drives the functional and timing kernels step by step.

:class:`Engine` holds the neuron state, the double-buffered accumulators and
every workspace array (allocated once, reused across steps; the packet
arrays grow geometrically when a step has more packets than ever before).
:func:`simulate` runs ``n_steps`` steps and collects a :class:`SimResult`.
A later token-by-token replay drives ``Engine.step`` directly.

Semantics: ``docs/engine-model.md``; kernels: :mod:`nmsim.sim.functional`
(what is computed) and :mod:`nmsim.sim.timing` (what it costs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from nmsim.compile.compiled import MODEL_INPUT, MODEL_LIF, PORT_E, PORT_N, PORT_S, PORT_W, CompiledModel, T
from nmsim.describe.actions import N_ACTIONS
from nmsim.describe.limits import MAX_CORES, MAX_LINKS
from nmsim.sim import board_routes as br
from nmsim.sim import events as ev
from nmsim.sim import functional as fn
from nmsim.sim import timing as tm
from nmsim.sim.result import PacketTrace, SimResult, StepResult

#: What :func:`simulate` can record besides counters and step cycles (always recorded).
RECORDABLE = ("fired", "payload", "link_busy", "trace")
DEFAULT_RECORD = ("fired", "payload", "link_busy")


def link_costs(model: CompiledModel) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per physical link (``n_links``, int64): occupancy and head latency in cycles (spec §2.3; a board's
    chip-to-chip links take the system's), the downstream router (-1: ejection links and mesh ports off the
    edge) and the ``(class, primary, secondary)`` key of its topological rank on one chip.  The cheap part of
    :func:`link_tables`, without the routing tables (``links.csv`` and the trace need only this)."""
    Wd, H, C, R = model.width, model.height, model.n_cores, model.n_routers
    tim = model.timing
    flits = int(tim[T["flits_per_packet"]])
    NL = model.n_links
    occ = np.zeros(NL, np.int64)
    lat = np.zeros(NL, np.int64)
    down = np.full(NL, -1, np.int64)
    key = np.zeros((NL, 3), np.int64)  # (class, primary, secondary) -> topological rank
    hew, hns = int(tim[T["hop_east_west_cycles"]]), int(tim[T["hop_north_south_cycles"]])
    ports = {PORT_E: (1, 0, hew), PORT_W: (-1, 0, hew), PORT_N: (0, 1, hns), PORT_S: (0, -1, hns)}
    for r in range(R):
        x, y = r % Wd, r // Wd
        for p, (dx, dy, hop) in ports.items():
            L = 4 * r + p
            occ[L], lat[L] = flits, hop + flits - 1
            if 0 <= x + dx < Wd and 0 <= y + dy < H:
                down[L] = (y + dy) * Wd + (x + dx)
            key[L] = {PORT_E: (1, x, y), PORT_W: (2, -x, y), PORT_N: (3, y, x), PORT_S: (4, -y, x)}[p]
    for c in range(C + 1):
        L = 4 * R + c
        occ[L] = lat[L] = int(tim[T["spike_send_cycles"] if c < C else T["io_packet_cycles"]])
        down[L] = model.core_router[c]
        key[L] = (0, c, 0)
        E = 4 * R + C + 1 + c
        occ[E], lat[E] = flits, int(tim[T["local_delivery_cycles"]]) + flits - 1
        key[E] = (5, c, 0)
    board = model.meta.get("system")
    if board is not None:  # chip-to-chip links: the system's occupancy and latency (docs/systems.md)
        cross = br.crossing(board)
        occ[:4 * R][cross], lat[:4 * R][cross] = board["link_occ"], board["link_lat"]
    return occ, lat, down, key


def link_tables(model: CompiledModel) -> dict[str, np.ndarray]:
    """Per-link constants of spec §2.3 and XY routing tables (all int64 unless noted).

    ``link_occ``/``link_lat``/``link_step`` (``max(occ, 1)``: cycles until the link may grant again),
    ``link_down`` (router at the downstream end; -1 for ejection links and mesh ports off the edge),
    ``link_rank`` / ``rank_link`` (topological order, see :mod:`nmsim.sim.timing`),
    ``next_link [R, R]`` (mesh link out of router ``r`` towards ``rd``; -1 if ``r == rd``),
    ``hops_x / hops_y [R, R]`` (on-chip east-west / north-south hops from ``rs`` to ``rd``),
    ``hops_c [R, R]`` (chip-to-chip hops; all 0 on one chip).  A model marked with
    ``meta["system"]`` (:func:`nmsim.describe.system.attach`) routes through the chips' ports
    (:mod:`nmsim.sim.board_routes`) and its chip-to-chip links take the system's occupancy and latency.

    ``link_tab`` (the event loop's, :mod:`nmsim.sim.events`; ``LT_DEPTH``: the chip's router buffer, or on a
    chip-to-chip link the system's ``link_buffer`` when it has one) has one row per *channel*: the ``n_links``
    physical links, and on a 2-D board one more per mesh link, its virtual channel 1 (channel
    ``n_links + L`` of mesh link ``L``; ``LT_PHYS``/``LT_SIB`` name the physical link and the other VC);
    ``next_link`` and ``rank_link``/``link_rank`` are then in channels.  Every other table is per physical
    link.
    """
    Wd, C, R = model.width, model.n_cores, model.n_routers
    tim = model.timing
    NL = model.n_links
    occ, lat, down, key = link_costs(model)
    rank_link = np.lexsort((key[:, 2], key[:, 1], key[:, 0])).astype(np.int64)
    board = model.meta.get("system")
    phys = np.arange(NL, dtype=np.int64)  # physical link of each channel
    sib = np.full(NL, -1, np.int64)  # the other virtual channel of the same physical link (-1: none)
    if board is None:
        xs, ys = np.arange(R) % Wd, np.arange(R) // Wd
        hops_x = np.abs(xs[:, None] - xs[None, :]).astype(np.int64)
        hops_y = np.abs(ys[:, None] - ys[None, :]).astype(np.int64)
        hops_c = np.zeros((R, R), np.int64)
        port = np.where(xs[None, :] > xs[:, None], PORT_E, np.where(xs[None, :] < xs[:, None], PORT_W,
                        np.where(ys[None, :] > ys[:, None], PORT_N, PORT_S)))
        next_link = np.where(np.arange(R)[:, None] == np.arange(R)[None, :], -1, 4 * np.arange(R)[:, None] + port)
    else:  # a board of chips (nmsim.sim.board_routes): routes through the ports, chip-to-chip link costs
        next_link = br.next_links(board)
        hops_x, hops_y, hops_c = br.hop_tables(board, next_link)
        vc = br.vc_classes(board)
        order = br.topo_rank(board, next_link, key[:4 * R], vc)  # channels vc * 4R + link
        if br.n_vcs(board) > 1:  # 2-D board: VC 1 of mesh link L is channel NL + L
            mesh = np.arange(4 * R, dtype=np.int64)
            phys, sib = np.concatenate([phys, mesh]), np.concatenate([sib, -np.ones(4 * R, np.int64)])
            sib[mesh], sib[NL + mesh] = NL + mesh, mesh
            next_link = np.where((vc == 1) & (next_link >= 0), NL + next_link, next_link)
            order = np.where(order >= 4 * R, NL + order - 4 * R, order)
        rank_link = np.concatenate([rank_link[:C + 1], order, rank_link[-(C + 1):]])
    n_ch = phys.size
    link_rank = np.empty(n_ch, np.int64)
    link_rank[rank_link] = np.arange(n_ch)
    link_tab = np.zeros((n_ch, 8), np.int64)
    link_tab[:, ev.LT_OCC], link_tab[:, ev.LT_LAT], link_tab[:, ev.LT_STEP] = occ[phys], lat[phys], \
        np.maximum(occ[phys], 1)
    link_tab[:, ev.LT_DOWN], link_tab[:, ev.LT_RANK] = down[phys], link_rank
    link_tab[:, ev.LT_PHYS], link_tab[:, ev.LT_SIB] = phys, sib
    depth = np.full(NL, int(tim[T["router_buffer_packets"]]), np.int64)  # input buffer of each link, packets
    if board is not None and "link_buffer" in board:  # chip-to-chip links' own depth (docs/systems.md)
        depth[:4 * R][br.crossing(board)] = board["link_buffer"]
    link_tab[:, ev.LT_DEPTH] = depth[phys]
    return dict(link_tab=link_tab, link_occ=occ, link_lat=lat, link_step=np.maximum(occ, 1), link_down=down,
                link_rank=link_rank, rank_link=rank_link, next_link=np.ascontiguousarray(next_link, dtype=np.int64),
                hops_x=hops_x, hops_y=hops_y, hops_c=hops_c)


#: The last tables :func:`shared_link_tables` built, under the inputs they are computed from (one entry).
_LAST_TABLES: dict = {}


def shared_link_tables(model: CompiledModel) -> dict[str, np.ndarray]:
    """:func:`link_tables`, built once for a run of engines on the same chip in one process (a replay's functional
    and timing engines, and the local workers forked after them): a 48-chip board's take about 2 s.  Keyed by
    every input of :func:`link_tables` (mesh size, cores, links, timing, core routers, the board), so a model
    edited in place gets new tables; one entry is kept.  The tables are shared: callers must not write them."""
    key = (model.width, model.height, model.n_cores, model.n_routers, model.n_links,
           np.ascontiguousarray(model.timing).tobytes(), np.ascontiguousarray(model.core_router).tobytes(),
           repr(model.meta.get("system")))
    hit = _LAST_TABLES.get(key)
    if hit is None:
        _LAST_TABLES.clear()
        hit = _LAST_TABLES[key] = link_tables(model)
    return hit


class Engine:
    """Step-wise simulator of one :class:`CompiledModel`.

    >>> eng = Engine(model)            # doctest: +SKIP
    >>> r = eng.step(host_payload)     # int64[n_host] events of the host neurons (0 = none)
    >>> eng.reset()                    # back to the model's initial state, step 0

    ``trace=True`` records a :class:`PacketTrace` in every :class:`StepResult`.
    """

    def __init__(self, model: CompiledModel, *, trace: bool = False):
        model.check()
        C, N = model.n_cores, model.n_neurons
        self.model, self.trace = model, bool(trace)
        self.host_start = int(model.core_neuron_ptr[C])
        self.n_host = N - self.host_start
        on_host = np.arange(N) >= self.host_start
        if (on_host != (model.neuron_model == MODEL_INPUT)).any():
            bad = int(np.flatnonzero(on_host != (model.neuron_model == MODEL_INPUT))[0])
            raise ValueError(f"neuron {bad}: model {int(model.neuron_model[bad])}; input neurons (model "
                             f"{MODEL_INPUT}) must be exactly the host's neurons {self.host_start}..{N - 1}")
        unknown = set(np.unique(model.neuron_model).tolist()) - set(fn.SUPPORTED_MODELS)
        if unknown:
            raise ValueError(f"neuron model id(s) {sorted(unknown)} not supported; choices: {fn.SUPPORTED_MODELS}")
        if C >= MAX_CORES or model.n_links >= MAX_LINKS:
            raise ValueError(f"n_cores={C}, n_links={model.n_links}: the engine packs core and link ids in 16 bits "
                             f"(n_cores < {MAX_CORES}, n_links < {MAX_LINKS})")
        self.neuron_core = np.repeat(np.arange(C + 1), np.diff(model.core_neuron_ptr)).astype(np.int32)
        self.lt = shared_link_tables(model)
        NL = self.lt["link_tab"].shape[0]  # channels: the links, plus virtual channel 1 on a 2-D board
        if NL >= MAX_LINKS:
            raise ValueError(f"{NL} link channels ({model.n_links} links and their second virtual channels): the "
                             f"engine packs channel ids in 16 bits (< {MAX_LINKS})")
        depth = int(self.lt["link_tab"][:, ev.LT_DEPTH].max(initial=1))  # the deepest buffer sizes the workspace
        cores_per_router = np.bincount(model.core_router, minlength=model.n_routers).max()
        # work arrays, reused by every step
        self._fired_list = np.zeros(N, np.int64)
        self._all_enabled = np.ones(N, np.uint8)
        self._syn_src = None  # the accumulation's synapses in source order, narrow (on first functional use)
        self._rt = tm.route_tables(self.neuron_core, model.route_ptr, model.route_core, model.route_row, model.row_ptr,
                                   model.row_n_reads, model.core_router, self.lt["hops_x"], self.lt["hops_y"],
                                   self.lt["hops_c"], model.timing)
        self._nout = np.zeros(2, np.int64)
        host_k = self._rt[5]  # route_tables' host_k: the neurons with a route to the host (for host_packet_hops)
        self._to_host = np.flatnonzero(host_k >= 0)
        self._to_host_core = self.neuron_core[self._to_host].astype(np.int64)
        rr, rh = model.core_router.astype(np.int64), int(model.core_router[C])
        self._host_hops = self.lt["hops_x"][rr, rh] + self.lt["hops_y"][rr, rh] + self.lt["hops_c"][rr, rh]
        self._active = np.zeros(N, np.uint8)
        # LIF neurons with update_on_event read a per-neuron "received an event" flag (spec §1); only then
        # is it tracked
        self._mark = bool(((model.neuron_model == MODEL_LIF) & (model.neuron_param[:, 6] != 0)).any())
        self._finish = np.zeros(N, np.int64)
        self._core_end = np.zeros(C + 1, np.int64)
        self._syn_free = np.zeros(C + 1, np.int64)
        self._inj_ptr = np.zeros(C + 2, np.int64)
        self._kv = int(model.timing[T["readout_values_per_packet"]])
        host_extra = int(model.timing[T["readout_flits_per_packet"]] - model.timing[T["flits_per_packet"]])
        self._links = ev.LinkTables(self.lt["link_tab"], self.lt["rank_link"], self.lt["next_link"],
                                    model.core_router, depth, host_extra)
        self._ws = ev.new_workspace(NL, C, depth, int(cores_per_router),
                                    ev.wheel_size(self.lt["link_lat"], self.lt["link_step"], host_extra))
        self._mc = None
        if model.multicast:  # one packet per firing neuron along its XY tree (nmsim.sim.multicast)
            from nmsim.compile.multicast import build_trees
            from nmsim.sim import multicast as mc

            self._mc = mc.mc_tables(model, build_trees(model))
            self._mc_step = mc.new_step_arrays(N, int(self._mc.tree_ptr[-1]), self.trace)
        self._alloc_packets(N if model.multicast else int(min(model.route_ptr[-1], 1 << 16)))
        self.reset()

    # ------------------------------------------------------------ workspace
    def _alloc_packets(self, n: int) -> None:
        n = max(n, 1)
        self._pk_cap = n
        self._inj_list = np.zeros(n, np.int64)
        nt = n if self.trace else 1
        self._pk_src, self._pk_route = np.zeros(nt, np.int64), np.zeros(nt, np.int64)
        self._pk = np.zeros((n, 3), np.int64)
        self._hop = np.zeros(n if self.trace else 1, np.int64)
        self._tr_ptr = np.zeros(n + 1 if self.trace else 1, np.int64)

    def _syn_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(src_ptr, src_slot, src_weight)`` for :func:`nmsim.sim.functional.accumulate_src`: the synapses
        in source order (neuron ``g``'s, the rows of its routes, are ``[src_ptr[g], src_ptr[g+1])``), each array
        in the narrowest integer type that holds it: slot ``syn_target * n_acc + syn_acc`` (uint16 up to 65,536
        slots, else int32 or int64) and the weight (int8 / int16 / int32).  The same exact sums as
        ``accumulate_flat`` on the compiled rows, read as one stream per firing neuron; built on the first
        functional step (a timing-only engine never needs them)."""
        if self._syn_src is None:
            m = self.model
            n_slots = m.n_neurons * m.n_accumulators
            wide = np.int64 if n_slots >= 2**31 else np.int32
            slot = m.syn_target.astype(wide) * m.n_accumulators + m.syn_acc.astype(wide)
            if n_slots <= 2**16:
                slot = slot.astype(np.uint16)
            w = m.syn_weight
            lo, hi = (int(w.min()), int(w.max())) if w.size else (0, 0)
            narrow = next(t for t in (np.int8, np.int16, np.int32, np.int64)
                          if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max)
            ptr = fn.source_order_ptr(m.route_ptr, m.route_row, m.row_ptr)
            src_slot, src_w = np.empty(int(ptr[-1]), slot.dtype), np.empty(int(ptr[-1]), narrow)
            fn.source_order(src_slot, src_w, ptr, m.route_ptr, m.route_row, m.row_ptr, slot, w.astype(narrow))
            self._syn_src = (ptr, src_slot, src_w)
        return self._syn_src

    def reset(self) -> None:
        """Back to the model's initial neuron state, empty accumulators, step 0."""
        m = self.model
        self.state = m.neuron_state.copy()
        self.acc = np.zeros((2, m.n_neurons, m.n_accumulators), np.int64)
        self.recv = np.zeros((2, m.n_neurons), np.uint8)
        self.t = 0

    # ----------------------------------------------------------------- step
    def step(self, host_payload: np.ndarray | None = None, enable: np.ndarray | None = None) -> StepResult:
        """Advance one timestep.  ``host_payload int64[n_host]`` (host neurons in index order; 0 = no event);
        ``enable uint8[N]`` (``None``: all enabled; see :func:`nmsim.sim.functional.step_neurons`)."""
        m = self.model
        fired = np.zeros(m.n_neurons, np.uint8)
        payload = np.zeros(m.n_neurons, np.int64)
        counters = np.zeros((m.n_cores + 1, N_ACTIONS), np.int64)
        link_busy = np.zeros(m.n_links, np.int64)
        cycles, trace = self.step_into(fired, payload, counters, link_busy, host_payload, enable)
        return StepResult(fired, payload, counters, cycles, link_busy, trace)

    def step_into(self, out_fired, out_payload, out_counters, out_link_busy, host_payload=None, enable=None):
        """Like :meth:`step`, writing into caller arrays (``out_counters`` must be zero); returns ``(step_cycles, trace)``."""
        m, lt = self.model, self.lt
        hp = np.zeros(self.n_host, np.int64) if host_payload is None else np.ascontiguousarray(host_payload, np.int64)
        if hp.shape != (self.n_host,):
            raise ValueError(f"host_payload shape {hp.shape}, want ({self.n_host},)")
        if enable is None:
            en = self._all_enabled
        else:
            en = np.ascontiguousarray(enable, np.uint8)
            if en.shape != (m.n_neurons,):
                raise ValueError(f"enable shape {en.shape}, want ({m.n_neurons},)")
        fn.step_neurons(out_fired, out_payload, self._active, self.state, self.acc[self.t % 2],
                        self.acc[(self.t + 1) % 2], m.neuron_param, m.neuron_model, m.lut, m.lut_size,
                        hp, self.host_start, en, self.recv[self.t % 2], self.recv[(self.t + 1) % 2])
        fn.list_fired(self._fired_list, self._nout, out_fired, m.route_ptr)
        n_fired, n_pk = int(self._nout[0]), int(self._nout[1])
        fn.accumulate_src(self.acc[(self.t + 1) % 2].reshape(-1), self._fired_list, n_fired, out_payload,
                          *self._syn_arrays())
        if self._mark:
            fn.mark_received(self.recv[(self.t + 1) % 2], self._fired_list, n_fired, m.route_ptr, m.route_row,
                             m.row_ptr, m.syn_target)
        cycles, trace = self._time_step(out_fired, self._active, en, out_counters, out_link_busy, n_fired, n_pk,
                                        self.trace)
        self.t += 1
        return cycles, trace

    def _time_step(self, fired, active, en, out_counters, out_link_busy, n_fired, n_pk, trace):
        """The timing of one step from an empty chip (``_fired_list`` already listed): the neuron phase, the
        packets and the event loop; returns ``(step_cycles, trace or None)``; does not advance the step."""
        m, lt = self.model, self.lt
        tm.neuron_phase_enabled(self._finish, self._core_end, out_counters, fired, active, en,
                                m.core_neuron_ptr, m.timing)
        if self._mc is not None:
            return self._step_multicast(out_counters, out_link_busy, n_fired)
        if n_pk >= 2**31:
            raise ValueError(f"step {self.t}: {n_pk} packets; the engine packs packet ids in 31 bits")
        if n_pk > self._pk_cap:  # n_pk: the routes of the firing neurons, at least the packets built
            self._alloc_packets(max(n_pk, 2 * self._pk_cap))
        n_pk = tm.build_packets(out_counters, self._pk, self._inj_ptr, self._inj_list, self._pk_src, self._pk_route,
                                self._tr_ptr, self._fired_list, n_fired, self._finish, self.neuron_core, m.route_ptr,
                                m.route_core, *self._rt, self._kv, trace)
        tr = ev.new_trace(self._tr_ptr, n_pk, self._hop) if trace else ev.no_trace(self._tr_ptr)
        packets = ev.Packets(self._pk, n_pk, self._inj_ptr, self._inj_list)
        while (err := ev.EventError(ev.run_events(out_link_busy, self._syn_free, packets, self._links, self._ws,
                                                  tr))) != ev.EventError.OK:
            # workspace too small (not expected with the sizes of new_workspace): grow it and rerun this step's timing
            self._ws = ev.grow_workspace(self._ws, err)
        C = m.n_cores
        # the host's column of _syn_free is its last arrival (packets to the host cost no synapse work)
        end = max(int(self._core_end[:C].max(initial=0)), int(self._syn_free.max(initial=0)))
        cycles = end + int(m.timing[T["barrier_cycles"]])
        return cycles, (self._make_trace(n_pk, tr) if trace else None)

    def host_packet_hops(self, fired: np.ndarray) -> tuple[int, int]:
        """``(packets, hops)`` of one step's unicast packets to the host, given its ``fired uint8[N]``: each
        core sends ``ceil(firing to-host neurons / readout_values_per_packet)`` (spec §2.2), each crossing the
        core's router-to-router hops to ``io_router``.  Metrics need the hops apart because such a packet may
        have more flits than a spike (``readout_flits_per_packet``)."""
        out = tm.host_packet_hops(fired, self._to_host, self._to_host_core, self._host_hops, self._kv)
        return int(out[0]), int(out[1])

    # ------------------------------------------------ the two passes, apart
    def functional_into(self, out_fired, out_payload, out_active, host_payload, enable) -> None:
        """The functional half of :meth:`step_into` (no timing): neuron updates and synaptic accumulation.

        Writes ``out_fired``, ``out_payload`` and ``out_active uint8[N]`` (what :meth:`timing_into` needs,
        with ``enable``); advances the step.  ``host_payload int64[n_host]``, ``enable uint8[N]``."""
        m = self.model
        hp = np.ascontiguousarray(host_payload, np.int64)
        en = np.ascontiguousarray(enable, np.uint8)
        fn.step_neurons(out_fired, out_payload, out_active, self.state, self.acc[self.t % 2],
                        self.acc[(self.t + 1) % 2], m.neuron_param, m.neuron_model, m.lut, m.lut_size,
                        hp, self.host_start, en, self.recv[self.t % 2], self.recv[(self.t + 1) % 2])
        fn.list_fired(self._fired_list, self._nout, out_fired, m.route_ptr)
        fn.accumulate_src(self.acc[(self.t + 1) % 2].reshape(-1), self._fired_list, int(self._nout[0]),
                          out_payload, *self._syn_arrays())
        if self._mark:
            fn.mark_received(self.recv[(self.t + 1) % 2], self._fired_list, int(self._nout[0]), m.route_ptr,
                             m.route_row, m.row_ptr, m.syn_target)
        self.t += 1

    def timing_into(self, fired, active, enable, out_counters, out_link_busy) -> int:
        """The timing half of :meth:`step_into` for one step whose ``fired``/``active``/``enable``
        (``uint8[N]``) are known: a step's timing starts from an empty chip, so any step can be timed
        alone and in any order.  Writes ``out_counters`` (must be zero), ``out_link_busy``,
        ``self._core_end`` and ``self._syn_free``; returns the step's cycles (no trace)."""
        return self._time_alone(fired, active, enable, out_counters, out_link_busy, False)[0]

    def timing_trace(self, fired, active, enable, out_counters, out_link_busy) -> tuple[int, PacketTrace]:
        """:meth:`timing_into` with the step's :class:`PacketTrace` (the engine must be built with
        ``trace=True``): ``(step_cycles, trace)``; the trace's ``step`` column is ``self.t``."""
        if not self.trace:
            raise ValueError("timing_trace needs an engine built with trace=True")
        return self._time_alone(fired, active, enable, out_counters, out_link_busy, True)

    def _time_alone(self, fired, active, enable, out_counters, out_link_busy, trace):
        fn.list_fired(self._fired_list, self._nout, fired, self.model.route_ptr)
        return self._time_step(fired, active, np.ascontiguousarray(enable, np.uint8), out_counters, out_link_busy,
                               int(self._nout[0]), int(self._nout[1]), trace)

    def _step_multicast(self, out_counters, out_link_busy, n_fired):
        """The timing half of :meth:`step_into` under multicast routing (:mod:`nmsim.sim.multicast`)."""
        from nmsim.sim import multicast as mc

        m, st, t = self.model, self._mc_step, self._mc
        n_pk = mc.mc_build_packets(out_counters, self._pk, self._inj_ptr, self._inj_list, st.pk_g, st.node_base,
                                   self._fired_list, n_fired, self._finish, self.neuron_core, m.route_ptr,
                                   m.route_core, m.route_row, m.row_ptr, m.row_n_reads, t.tree_ptr, t.node_col,
                                   t.child_ptr, m.timing)
        packets = ev.Packets(self._pk, n_pk, self._inj_ptr, self._inj_list)
        while (err := ev.EventError(mc.run_events_mc(out_link_busy, self._syn_free, packets, self._links, self._ws,
                                                     t, st, self.trace))) != ev.EventError.OK:
            self._ws = ev.grow_workspace(self._ws, err)
        C = m.n_cores
        end = max(int(self._core_end[:C].max(initial=0)), int(self._syn_free.max(initial=0)))
        cycles = end + int(m.timing[T["barrier_cycles"]])
        trace = mc.delivery_trace(m, t, st, n_pk, self.neuron_core, self.t) if self.trace else None
        return cycles, trace

    def _make_trace(self, n_pk: int, tr: ev.EventTrace) -> PacketTrace:
        grant, link, ptr, arrival, s0, s1 = tr.grant, tr.link, tr.ptr, tr.arrival, tr.syn_start, tr.syn_end
        src = self._pk_src[:n_pk].copy()
        return PacketTrace(step=np.full(n_pk, self.t, np.int64), seq=np.arange(n_pk, dtype=np.int64), src_neuron=src,
                           route=self._pk_route[:n_pk].copy(), src_core=self.neuron_core[src],
                           dst_core=self._pk[:n_pk, ev.PK_DST].astype(np.int32), link_ptr=ptr[:n_pk + 1].copy(),
                           link=link, grant=grant,
                           arrival=arrival, syn_start=s0, syn_end=s1)


def host_inputs(model: CompiledModel, n_steps: int, inputs) -> np.ndarray:
    """``int64[n_steps, n_host]`` host payloads from ``inputs``.

    ``inputs``: ``None`` (no events); an array ``(n_steps, n_host)`` (host neurons in index order); or a
    mapping ``population -> int64[n_steps, n]`` where a population is its index (``neuron_pop``) or its
    name (resolved through ``model.meta["pop_names"]``, a list indexed by population), and column ``j``
    feeds the host neuron with ``neuron_local == j``.  Host neurons of populations not given get no events.
    """
    C = model.n_cores
    h0 = int(model.core_neuron_ptr[C])
    n_host = model.n_neurons - h0
    out = np.zeros((n_steps, n_host), np.int64)
    if inputs is None:
        return out
    if not isinstance(inputs, Mapping):
        arr = np.asarray(inputs)
        if arr.shape != (n_steps, n_host):
            raise ValueError(f"inputs shape {arr.shape}, want (n_steps, n_host) = ({n_steps}, {n_host})")
        out[:] = arr
        return out
    names = list(model.meta.get("pop_names", model.meta.get("populations", [])))
    pops, local = model.neuron_pop[h0:], model.neuron_local[h0:]
    for key, arr in inputs.items():
        if isinstance(key, str):
            if key not in names:
                raise ValueError(f"input population {key!r} unknown; choices: {names}")
            p = names.index(key)
        else:
            p = int(key)
        cols = np.flatnonzero(pops == p)
        if cols.size == 0:
            raise ValueError(f"input population {key!r} has no host-owned (input) neurons")
        arr = np.asarray(arr)
        n = int(local[cols].max()) + 1
        if arr.shape != (n_steps, n):
            raise ValueError(f"inputs[{key!r}] shape {arr.shape}, want ({n_steps}, {n})")
        out[:, cols] = arr[:, local[cols]]
    return out


def simulate(model: CompiledModel, n_steps: int, inputs=None, record: Iterable[str] = DEFAULT_RECORD,
             enable: np.ndarray | None = None) -> SimResult:
    """Run ``n_steps`` timesteps from the model's initial state (spec §4).

    ``inputs``: see :func:`host_inputs`.  ``record``: subset of :data:`RECORDABLE`
    (counters and step cycles are always recorded; ``"trace"`` adds a :class:`PacketTrace`).
    ``enable``: ``uint8[n_steps, N]`` per-step enable mask (default: every neuron every step).
    """
    record = set(record)
    if bad := record - set(RECORDABLE):
        raise ValueError(f"record={sorted(bad)}: unknown; choices: {RECORDABLE}")
    if n_steps < 0:
        raise ValueError(f"n_steps={n_steps} must be >= 0")
    host = host_inputs(model, n_steps, inputs)
    if enable is not None:
        enable = np.ascontiguousarray(enable, np.uint8)
        if enable.shape != (n_steps, model.n_neurons):
            raise ValueError(f"enable shape {enable.shape}, want (n_steps, N) = ({n_steps}, {model.n_neurons})")
    eng = Engine(model, trace="trace" in record)
    N, C, NL = model.n_neurons, model.n_cores, model.n_links
    fired = np.zeros((n_steps, N), np.uint8)
    payload = np.zeros((n_steps, N), np.int64) if "payload" in record else np.zeros((1, N), np.int64)
    counters = np.zeros((n_steps, C + 1, N_ACTIONS), np.int64)
    step_cycles = np.zeros(n_steps, np.int64)
    link_busy = np.zeros((n_steps, NL), np.int64) if "link_busy" in record else np.zeros((1, NL), np.int64)
    traces = []
    for s in range(n_steps):
        ps, ls = (s if "payload" in record else 0), (s if "link_busy" in record else 0)
        step_cycles[s], tr = eng.step_into(fired[s], payload[ps], counters[s], link_busy[ls], host[s],
                                           None if enable is None else enable[s])
        if tr is not None:
            traces.append(tr)
    return SimResult(
        fired=fired if "fired" in record else None,
        payload=payload if "payload" in record else None,
        counters=counters,
        step_cycles=step_cycles,
        link_busy=link_busy if "link_busy" in record else None,
        final_state=eng.state.copy(),
        trace=PacketTrace.concat(traces) if "trace" in record else None,
    )
