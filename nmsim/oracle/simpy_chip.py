"""SimPy oracle of ``docs/engine-model.md``: an independent, slow, readable reference.

It shares no timing code with the Numba engine (``nmsim.sim``); only the array
layout (:mod:`nmsim.compile.compiled`) and the action list
(:mod:`nmsim.describe.actions`) are common.  It is meant for tiny chips
(<= 4x4 routers, <= 100 neurons, a few hundred packets per step).

API
---
- :func:`oracle_step` -- timing and counters of one timestep, given which
  neurons fired and which were active.
- :func:`nmsim.oracle.functional_oracle.oracle_run` -- a whole run: the functional part (spec section 1,
  plain Python integers) plus :func:`oracle_step` for every step.

The paths packets take and the order links arbitrate in are in :mod:`nmsim.oracle.oracle_paths`.

How the chip is modelled (one SimPy environment per timestep, 1 time unit = 1 cycle)
-----------------------------------------------------------------------------------
- one *neuron unit* process per core (host included) walks its neurons in
  index order, spends each neuron's update cost and, at ``f_g``, creates one
  *packet* process per route of every firing neuron;
- a *packet* process walks its XY path: it joins the waiting list of a link,
  waits for its grant at ``s``, hands back the slot of the buffer it leaves
  (usable again from ``s + 1``), waits ``lat`` cycles and requests the next
  link; after the ejection link it joins its core's synapse queue at ``a``;
- one *arbiter* process per link wakes every cycle while packets wait and
  grants at most one of them (smallest ``seq``) if the link is free and its
  downstream router buffer (a ``simpy.Container`` of ``router_buffer_packets``
  slots) has a free slot;
- one *synapse unit* process per core serves its queue in ``(a, seq)`` order.

Order of events inside one cycle (SimPy event priorities, smaller first):

1. ``URGENT``/``NORMAL`` (0, 1): process starts, timeouts and grants -- packets
   created and requests made in this cycle register with their link;
2. :data:`PHASE_CREDIT`: buffer slots freed by departures of the previous cycle return;
3. ``PHASE_ARB + rank(link)``: each link arbitrates, links in a topological
   order of the XY channel-dependency graph (injection, east by x ascending,
   west by x descending, north by y ascending, south by y descending,
   ejection).  After each arbiter, the ``NORMAL`` events it caused run before
   the next arbiter (SimPy orders by (time, priority, insertion)), so a packet
   granted with ``lat == 0`` already waits on its next link in the same cycle;
4. :data:`PHASE_SYN`: synapse units pick their next packet, once every arrival
   of the cycle is known.

Readings of the specification (where its text leaves room)
------------------------------------------------------------
R1. Zero latencies (``spike_send_cycles``, ``io_packet_cycles``,
    ``hop_*_cycles + flits_per_packet - 1`` or ``local_delivery_cycles +
    flits_per_packet - 1`` equal to 0): a packet granted on a link at ``s``
    requests its next link at ``s`` and is a waiting packet of that link *in
    the same cycle ``s``* ("request cycle <= s"); it may be granted there at
    ``s`` and compete with the other waiting packets by ``seq``.  A packet can
    thus cross several links in one cycle.  (Well defined because XY routing
    has an acyclic channel-dependency graph; see the phase order above.)
R2. Zero occupancy (``occ == 0``): the link is free again at once, but still
    grants at most one packet per cycle.
R3. Buffer occupancy at ``s`` counts every packet granted into the buffer at
    a cycle ``<= s`` whose next-link grant ``s'`` satisfies ``s' >= s``; a
    departure at ``s`` frees its slot for grants at ``s + 1`` only, also when
    the packet entered at ``s`` itself.
R4. Model-INPUT neurons are exactly the host's neurons (asserted): they cost
    nothing (``f_g = 0``) and are never counted as updates; ``active`` is
    ignored for them.
R5. ``f_g`` of a neuron whose update cost is 0 equals the previous
    neuron's finish (0 for the first neuron of a core); ties in ``f_g`` are
    broken by core, neuron and route, as ``seq`` says.
R6. ``packet_send`` / ``io_packet`` are counted when the packet is created;
    ``flit_hop_*`` at each mesh-link grant; ``local_delivery`` at the ejection
    grant; ``packet_receive``, ``synapse_read`` and ``synaptic_op`` when the
    synapse unit starts the packet; ``barrier`` once per step even when idle.
    (All packets are delivered within the step, so only the totals matter.)
R7. ``payload`` of a neuron without an event is 0; ``fired`` of an input
    neuron is ``payload != 0``.  The LIF payload is 1.
R8. ``T`` also covers the neuron phase of cores that send nothing: every core's
    ``E_c`` (sum of its idle/active update costs) enters ``max_c E_c``.
R9. A disabled neuron (per-step ``enable`` mask) costs nothing and counts
    nothing; it fires nothing, keeps its state and carries its accumulated input
    to the next step (new contributions add to it).
R10. Routes to the host (``route_core == n_cores``, ``route_row == -1``): the packet
    travels to ``io_router`` and the host's ejection link; the host counts one
    ``io_packet`` at its arrival (no ``local_delivery``, no synapse work, cost 0),
    and its arrival enters ``T`` like a synapse unit's end.
R11. Recurrent cells (``egru``/``gru``/``lstm``) are computed with the golden
    NumPy functions of :mod:`nmsim.lm.golden` (an implementation independent of
    the Numba kernels); EGRU fires iff its payload is non-zero, GRU/LSTM (dense
    baselines) and ``readout`` (``saturate_int32(acc0 + bias)``) fire every step.
    All enabled cell and readout units are *active*.
R12. Multicast (``model.multicast``, ``docs/engine-model.md`` §2.6): a firing neuron with routes sends one
    packet (``packet_send``/``io_packet`` once), keyed ``(f_g, core, g)``.  Its tree is the union of the XY
    paths of its routes (on a board: of its :func:`board_path` s; a link shared by routes of both virtual
    channels takes VC 0, ``docs/systems.md``); every copy waits on one link of the tree.  After a grant onto a router (injection or
    mesh link) and the link's latency, the router counts one ``routing_table_lookup`` and ``children - 1``
    ``multicast_replication`` and each child link gets its own copy; the buffer slot is returned (from
    ``s + 1``) after the grant ``s`` of the last copy to leave.  One :class:`PacketRecord` per delivery
    (route ``k``), with the grants of its root-to-leaf path; all deliveries of a packet share its ``seq``.
R13. Several values per packet to the host (``readout_values_per_packet`` ``kv > 1``, unicast only): a core
    holds the values of its firing to-host neurons and sends one packet to the host each time it holds ``kv``,
    keyed by the neuron whose value completes it (its route to the host); when the core's neuron unit has
    passed its last neuron with a route to the host (fired or not, enabled or not), it sends what it still
    holds, keyed by that neuron.  A packet to the host has ``readout_flits_per_packet`` flits: on the mesh and
    ejection links it takes, occupancy, head latency and flit hops use that count instead of
    ``flits_per_packet`` (the injection link is the send unit's, the same for every packet).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import simpy
from simpy.core import NORMAL

from nmsim.compile.compiled import (MODEL_EGRU, MODEL_GRU, MODEL_INPUT, MODEL_LIF, MODEL_LSTM, MODEL_READOUT, PORT_E,
                                    PORT_N, PORT_S, PORT_W, T, CompiledModel)
from nmsim.describe.actions import A, N_ACTIONS
from nmsim.oracle.oracle_paths import board_crossing, board_path, board_vcs, link_rank, xy_path

#: Priority of the event that returns freed buffer slots (after all ``NORMAL`` work of a cycle).
PHASE_CREDIT = NORMAL + 1
#: Priority of the first link arbiter; link ``l`` arbitrates at ``PHASE_ARB + rank(l)``.
PHASE_ARB = NORMAL + 2
# The synapse units pick at ``PHASE_ARB + rank(ejection) + 1``, after every arbiter (``_Chip.phase_syn``).


# --------------------------------------------------------------------------- records


@dataclass
class PacketRecord:
    """One packet of one step, as the oracle saw it (all times in cycles)."""

    key: tuple[int, int, int, int]  #: ``(f_g, source core, g, k)``, the spec's ``seq``
    neuron: int  #: source neuron ``g``
    route: int  #: route index ``k``
    src_core: int  #: source core (``n_cores`` = host)
    dst_core: int
    row: int  #: CSR row read at the destination
    links: tuple[int, ...]  #: link ids of the XY path, injection first, ejection last
    vcs: tuple[int, ...] = ()  #: virtual channel taken on each link of ``links`` (empty: all 0); 2-D boards
    vc: int = 0  #: virtual channel of the link it waits on now (internal)
    extra: int = 0  #: flits beyond ``flits_per_packet`` (R13: a packet to the host), on mesh and ejection links
    grants: list[int] = field(default_factory=list)  #: grant cycle on each link of ``links``
    seq: int = -1  #: rank of ``key`` among the step's packets
    arrival: int = -1  #: ``a`` = ejection grant + ejection latency
    syn_start: int = -1
    syn_end: int = -1
    grant: simpy.Event | None = field(default=None, repr=False, compare=False)  #: pending grant (internal)


@dataclass
class OracleStep:
    """Timing of one timestep."""

    step_cycles: int  #: ``T + barrier_cycles``; with a fixed tick: when the tick ends the step (see ``run``)
    counters: np.ndarray  #: int64[n_cores+1, N_ACTIONS]
    link_busy: np.ndarray  #: int64[n_links], sum of ``occ`` over grants
    packets: list[PacketRecord]  #: in ``seq`` order
    neuron_end: np.ndarray  #: int64[n_cores+1], ``E_c``
    synapse_free: np.ndarray  #: int64[n_cores+1], end of each core's last synapse job (0 if none)
    work_cycles: int = 0  #: ``T + barrier_cycles`` (the self-timed end)
    overrun: bool = False  #: fixed tick only: the work did not finish by the tick


@dataclass
class OracleResult:
    """A whole run, shaped like ``nmsim.sim``'s ``SimResult`` (plus per-step records)."""

    fired: np.ndarray  #: uint8[n_steps, N]
    payload: np.ndarray  #: int64[n_steps, N]
    counters: np.ndarray  #: int64[n_steps, n_cores+1, N_ACTIONS]
    step_cycles: np.ndarray  #: int64[n_steps]
    link_busy: np.ndarray  #: int64[n_steps, n_links]
    final_state: np.ndarray  #: int64[N, 4]
    steps: list[OracleStep]
    overrun: np.ndarray | None = None  #: bool[n_steps]: the step overran the fixed tick (``None``: barrier mode)


# --------------------------------------------------------------------------- simulation


class _Phase(simpy.events.Event):
    """An event that fires ``delay`` cycles from now with SimPy priority ``phase``."""

    def __init__(self, env: simpy.Environment, delay: int, phase: int):
        super().__init__(env)
        self._ok, self._value = True, None
        env.schedule(self, phase, delay)


@dataclass
class _Link:
    id: int
    occ: int
    lat: int
    phase: int  #: SimPy priority of its arbitration
    buffer: simpy.Container | None  #: downstream router input buffer (None for ejection)
    buffers: tuple = ()  #: one input buffer per virtual channel (``buffers[0] is buffer``); 2-D boards have 2
    waiting: list = field(default_factory=list)  #: packets whose request cycle is <= now
    free_at: int = 0  #: first cycle it may grant again
    busy: int = 0  #: sum of occ over grants
    last_try: int = -1  #: last cycle it arbitrated (guards the phase order)
    wake: simpy.Event | None = None
    flit: bool = False  #: crossed flit by flit (an on-chip mesh or ejection link): R13's extra flits count here


@dataclass
class _Tree:
    """A multicast packet in flight (R12)."""

    key: tuple[int, int, int]  #: ``(f_g, source core, g)``: its ``seq``
    src_core: int
    children: dict  #: link -> links after it in the tree (first-reached order)
    leaves: dict  #: ejection link -> the delivery's PacketRecord
    grants: dict  #: link -> grant cycle
    vcs: dict = field(default_factory=dict)  #: link -> its virtual channel (2-D boards: the smallest of its routes')


@dataclass
class _Copy:
    """One copy of a multicast packet waiting on one link."""

    key: tuple[int, int, int]
    grant: simpy.Event
    vc: int = 0  #: virtual channel it asks for (2-D boards)
    extra: int = 0  #: flits beyond ``flits_per_packet``: always 0 (multicast packets carry one value, R13)


@dataclass
class _Held:
    """A buffer slot held by a multicast packet until its last copy leaves."""

    buffer: simpy.Container
    left: int


@dataclass
class _SynapseUnit:
    queue: list = field(default_factory=list)  #: arrived packets not yet started
    free: int = 0
    wake: simpy.Event | None = None


def _wake(unit) -> None:
    if unit.wake is not None and not unit.wake.triggered:
        unit.wake.succeed()


class _Chip:
    """One timestep of one chip as SimPy processes (see the module docstring)."""

    def __init__(self, model: CompiledModel, fired: np.ndarray, active: np.ndarray, enable: np.ndarray,
                 tick_cycles: int = 0, overrun: str = "stretch"):
        m, tm = model, model.timing
        self.tick_cycles, self.overrun_policy, self.tick_at = int(tick_cycles), overrun, None
        self.m, self.fired, self.active, self.enable = m, fired, active, enable
        self.C = m.n_cores
        self.env = simpy.Environment()
        self.counters = np.zeros((self.C + 1, N_ACTIONS), dtype=np.int64)
        self.packets: list[PacketRecord] = []
        self.neuron_end = np.zeros(self.C + 1, dtype=np.int64)
        self.B = int(tm[T["router_buffer_packets"]])
        self.flits = int(tm[T["flits_per_packet"]])
        self.phase_syn = PHASE_ARB + link_rank(m, m.n_links - 1) + 1
        self.links = [self._make_link(l) for l in range(m.n_links)]
        self.syn = [_SynapseUnit() for _ in range(self.C + 1)]
        for link in self.links:
            self.env.process(self._arbiter(link))
        for c in range(self.C + 1):
            self.env.process(self._neuron_unit(c))
            self.env.process(self._synapse_unit(c))
        if self.tick_cycles > 0:
            self.env.process(self._tick())

    def _tick(self):
        """Fixed-tick mode: the system tick that starts the next step fires ``tick_cycles`` after this one."""
        yield self.env.timeout(self.tick_cycles)
        self.tick_at = self.env.now

    def _make_link(self, l: int) -> _Link:
        m, tm = self.m, self.m.timing
        R, C, F = m.n_routers, self.C, self.flits
        phase = PHASE_ARB + link_rank(m, l)
        if l < 4 * R and "system" in m.meta and board_crossing(m, l):
            occ, lat = int(m.meta["system"]["link_occ"]), int(m.meta["system"]["link_lat"])
        elif l < 4 * R:
            hop = tm[T["hop_east_west_cycles"]] if l % 4 in (PORT_E, PORT_W) else tm[T["hop_north_south_cycles"]]
            occ, lat = F, int(hop) + F - 1
        elif l < 4 * R + C:
            occ = lat = int(tm[T["spike_send_cycles"]])
        elif l == 4 * R + C:
            occ = lat = int(tm[T["io_packet_cycles"]])
        else:
            occ, lat = F, int(tm[T["local_delivery_cycles"]]) + F - 1
        depth = self.B
        if l < 4 * R and "system" in m.meta and board_crossing(m, l):  # a chip-to-chip link's own buffer depth
            depth = int(m.meta["system"].get("link_buffer", self.B))
        buffer = simpy.Container(self.env, capacity=depth) if l < 4 * R + C + 1 else None
        buffers = (buffer,)
        if l < 4 * R and "system" in m.meta and min(m.meta["system"]["chips_x"], m.meta["system"]["chips_y"]) > 1:
            buffers = (buffer, simpy.Container(self.env, capacity=depth))  # virtual channel 1 (docs/systems.md)
        flit = (l < 4 * R and not ("system" in m.meta and board_crossing(m, l))) or l > 4 * R + C
        return _Link(l, occ, lat, phase, buffer, buffers, flit=flit)

    # -- processes

    def _neuron_unit(self, core: int):
        """Update the core's neurons in index order; emit packets at each firing neuron's ``f_g`` (R13: packets
        to the host when they are full, and the last one after the core's last to-host neuron)."""
        m, env, cnt = self.m, self.env, self.counters[core]
        tm = m.timing
        kv = int(tm[T["readout_values_per_packet"]])
        lo, hi = int(m.core_neuron_ptr[core]), int(m.core_neuron_ptr[core + 1])
        to_host = {g: k for g in range(lo, hi) for k in range(int(m.route_ptr[g]), int(m.route_ptr[g + 1]))
                   if int(m.route_core[k]) == self.C}
        last_to_host = max(to_host, default=-1)
        held = 0  # R13: values waiting for a packet to the host
        for g in range(lo, hi):
            enabled = m.neuron_model[g] == MODEL_INPUT or bool(self.enable[g])  # R9
            if enabled and m.neuron_model[g] != MODEL_INPUT:
                is_active = bool(self.active[g])
                cnt[A["neuron_update_active" if is_active else "neuron_update_idle"]] += 1
                cost = int(tm[T["neuron_update_active_cycles" if is_active else "neuron_update_idle_cycles"]])
                if cost:
                    yield env.timeout(cost)
            if enabled and self.fired[g]:
                cnt[A["spike"]] += 1
                if m.multicast and m.route_ptr[g + 1] > m.route_ptr[g]:  # R12: one packet along its tree
                    cnt[A["io_packet" if core == self.C else "packet_send"]] += 1
                    self._multicast_packet(core, g)
                    continue
                for k in range(int(m.route_ptr[g]), int(m.route_ptr[g + 1])):
                    if k == to_host.get(g) and kv > 1:  # R13: the value waits for a full packet
                        held += 1
                        if held < kv:
                            continue
                        held = 0
                    self._send(core, g, k)
            if g == last_to_host and held:  # R13: what the core still holds leaves now
                held = 0
                self._send(core, g, to_host[g])
        self.neuron_end[core] = env.now

    def _send(self, core: int, g: int, k: int) -> None:
        """Neuron ``g`` of ``core`` creates the packet of its route ``k`` now."""
        m, env = self.m, self.env
        dst = int(m.route_core[k])
        links = (board_path if "system" in m.meta else xy_path)(m, core, dst)
        extra = int(m.timing[T["readout_flits_per_packet"]]) - self.flits if dst == self.C else 0
        p = PacketRecord((env.now, core, g, k), g, k, core, dst, int(m.route_row[k]), links,
                         board_vcs(m, links) if "system" in m.meta else (), extra=extra)
        self.packets.append(p)
        self.counters[core, A["io_packet" if core == self.C else "packet_send"]] += 1
        env.process(self._packet(p))

    def _packet(self, p: PacketRecord):
        """Request each link of the path in turn; join the destination's synapse queue at arrival."""
        env, src_cnt = self.env, self.counters[p.src_core]
        left = None  # the buffer (of a link's virtual channel) that holds the packet
        for i, l in enumerate(p.links):
            link = self.links[l]
            p.grant = env.event()
            p.vc = p.vcs[i] if p.vcs else 0  # the virtual channel it asks for on this link
            link.waiting.append(p)
            _wake(link)
            s = yield p.grant
            p.grants.append(s)
            if left is not None:  # leave the previous buffer; the slot is usable from s + 1
                slot_back = _Phase(env, 1, PHASE_CREDIT)
                slot_back.callbacks.append(lambda _ev, buf=left: buf.get(1))
            left = link.buffers[p.vc] if link.buffer is not None else None
            if l < 4 * self.m.n_routers and "system" in self.m.meta and board_crossing(self.m, l):
                src_cnt[A["flit_hop_chip"]] += self.flits
            elif l < 4 * self.m.n_routers:
                col = "flit_hop_east_west" if l % 4 in (PORT_E, PORT_W) else "flit_hop_north_south"
                src_cnt[A[col]] += self.flits + p.extra
            yield env.timeout(link.lat + (p.extra if link.flit else 0))
        p.grant = None
        self._deliver(p)

    def _deliver(self, p) -> None:
        """R10: the packet is ejected at its destination (the host counts an I/O packet, a core a local
        delivery) and queued at that core's synapse unit."""
        if p.dst_core == self.C:  # R10: received by the host
            self.counters[self.C, A["io_packet"]] += 1
        else:
            self.counters[p.dst_core, A["local_delivery"]] += 1
        p.arrival = self.env.now
        unit = self.syn[p.dst_core]
        unit.queue.append(p)
        _wake(unit)

    def _multicast_packet(self, core: int, g: int) -> None:
        """R12: one packet of neuron ``g``: its tree is the union of the XY (board) paths of its routes."""
        m, env = self.m, self.env
        records, children, vcs = [], {}, {}
        board = "system" in m.meta
        for k in range(int(m.route_ptr[g]), int(m.route_ptr[g + 1])):
            dst = int(m.route_core[k])
            links = board_path(m, core, dst) if board else xy_path(m, core, dst)
            p = PacketRecord((env.now, core, g, k), g, k, core, dst, int(m.route_row[k]), links)
            records.append(p)
            self.packets.append(p)
            for a, b in zip(p.links, p.links[1:]):
                kids = children.setdefault(a, [])
                if b not in kids:
                    kids.append(b)
            for L, v in zip(links, board_vcs(m, links) if board else (0,) * len(links)):
                vcs[L] = min(vcs.get(L, 1), v)  # a link shared by routes of both classes: VC 0
        tree = _Tree((env.now, core, g), core, children, {p.links[-1]: p for p in records}, {}, vcs)
        env.process(self._copy(tree, p.links[0], None))

    def _copy(self, tree: "_Tree", l: int, up: "_Held | None"):
        """One copy of a multicast packet on link ``l``; ``up``: the buffer slot it leaves (shared by its siblings)."""
        env, src_cnt = self.env, self.counters[tree.src_core]
        link = self.links[l]
        req = _Copy(tree.key, env.event(), tree.vcs.get(l, 0))
        link.waiting.append(req)
        _wake(link)
        s = yield req.grant
        tree.grants[l] = s
        if up is not None:
            up.left -= 1
            if up.left == 0:  # the last copy has left: the slot is usable from s + 1
                slot_back = _Phase(env, 1, PHASE_CREDIT)
                slot_back.callbacks.append(lambda _ev, buf=up.buffer: buf.get(1))
        if l < 4 * self.m.n_routers and "system" in self.m.meta and board_crossing(self.m, l):
            src_cnt[A["flit_hop_chip"]] += self.flits
        elif l < 4 * self.m.n_routers:
            col = "flit_hop_east_west" if l % 4 in (PORT_E, PORT_W) else "flit_hop_north_south"
            src_cnt[A[col]] += self.flits
        yield env.timeout(link.lat)
        if l in tree.leaves:
            p = tree.leaves[l]
            p.grants = [tree.grants[x] for x in p.links]
            self._deliver(p)
            return
        kids = tree.children[l]
        src_cnt[A["routing_table_lookup"]] += 1
        src_cnt[A["multicast_replication"]] += len(kids) - 1
        held = _Held(link.buffers[req.vc], len(kids))
        for b in kids:
            env.process(self._copy(tree, b, held))

    def _arbiter(self, link: _Link):
        """Each cycle while packets wait: grant the smallest ``seq`` if the link is free, among the waiting
        packets whose virtual channel's buffer has a free slot (one buffer but on 2-D boards)."""
        env = self.env
        while True:
            if not link.waiting:
                link.wake = env.event()
                yield link.wake
                yield _Phase(env, 0, link.phase)  # this link's turn in the current cycle
            s = env.now
            assert s > link.last_try, f"link {link.id} arbitrates twice in cycle {s}"
            link.last_try = s
            def room(q):
                if link.buffer is None:
                    return True
                buf = link.buffers[getattr(q, "vc", 0)]
                return buf.level < buf.capacity
            ready = [q for q in link.waiting if room(q)]
            if s >= link.free_at and ready:
                p = min(ready, key=lambda q: q.key)
                link.waiting.remove(p)
                occ = link.occ + (p.extra if link.flit else 0)  # R13
                link.free_at = s + occ
                link.busy += occ
                if link.buffer is not None:
                    link.buffers[getattr(p, "vc", 0)].put(1)  # reserve the slot now (never blocks: checked above)
                p.grant.succeed(s)
            if link.waiting:
                yield _Phase(env, 1, link.phase)  # try again next cycle

    def _synapse_unit(self, core: int):
        """Serve arrived packets one at a time in ``(a, seq)`` order."""
        m, env, unit, cnt = self.m, self.env, self.syn[core], self.counters[core]
        tm = m.timing
        while True:
            if not unit.queue:
                unit.wake = env.event()
                yield unit.wake
            yield _Phase(env, 0, self.phase_syn)  # every arrival of this cycle is queued now
            p = min(unit.queue, key=lambda q: (q.arrival, q.key))
            unit.queue.remove(p)
            if core == self.C:  # R10: the host's port, no synapse work
                p.syn_start = p.syn_end = unit.free = env.now
                continue
            n_reads = int(m.row_n_reads[p.row])
            cnt[A["packet_receive"]] += 1
            cnt[A["synapse_read"]] += n_reads
            cnt[A["synaptic_op"]] += int(m.row_ptr[p.row + 1] - m.row_ptr[p.row])
            p.syn_start = env.now
            cost = int(tm[T["packet_receive_cycles"]]) + n_reads * int(tm[T["synapse_read_cycles"]])
            yield env.timeout(cost)
            p.syn_end = unit.free = env.now

    # -- driver

    def run(self) -> OracleStep:
        self.env.run()
        assert all(p.syn_end >= 0 for p in self.packets), "a packet was never delivered"
        self.packets.sort(key=lambda p: p.key)
        ranks = {}  # R12: the deliveries of one multicast packet share its seq
        for rank, p in enumerate(self.packets):
            p.seq = ranks.setdefault(p.key[:3], len(ranks)) if self.m.multicast else rank
        syn_free = np.array([u.free for u in self.syn], dtype=np.int64)
        self.counters[self.C, A["barrier"]] += 1
        t_end = max(int(self.neuron_end.max()), int(syn_free.max()))
        work = t_end + int(self.m.timing[T["barrier_cycles"]])
        step, late = work, False
        if self.tick_at is not None:  # the step ends at the tick; work still running then is an overrun
            late = work > self.tick_at
            step = self.tick_at if (not late or self.overrun_policy == "violation") else work
        return OracleStep(
            work_cycles=work, overrun=late,
            step_cycles=step,
            counters=self.counters,
            link_busy=np.array([link.busy for link in self.links], dtype=np.int64),
            packets=self.packets,
            neuron_end=self.neuron_end,
            synapse_free=syn_free,
        )


def check_host_is_input(model: CompiledModel) -> None:
    host0 = int(model.core_neuron_ptr[model.n_cores])
    is_input = model.neuron_model == MODEL_INPUT
    assert not is_input[:host0].any() and is_input[host0:].all(), "oracle expects input neurons exactly on the host"
    known = (MODEL_INPUT, MODEL_LIF, MODEL_EGRU, MODEL_GRU, MODEL_LSTM, MODEL_READOUT)
    assert np.isin(model.neuron_model, known).all(), "unknown neuron model"


def oracle_step(model: CompiledModel, fired: np.ndarray, active: np.ndarray,
                enable: np.ndarray | None = None, tick_cycles: int = 0, overrun: str = "stretch") -> OracleStep:
    """Timing and counters of one timestep in which the neurons ``fired`` fire.

    ``fired``, ``active``: bool[N]; ``active`` decides each non-input neuron's
    update cost; entries of host (input) neurons in ``active`` are ignored.
    ``enable``: bool[N] (default all); disabled core neurons cost nothing (R9).
    ``tick_cycles > 0``: fixed-tick mode with that period; ``overrun``: ``"stretch"`` (an overrunning step
    lasts until its work is done) or ``"violation"`` (the step ends at the tick regardless).
    """
    model.check()
    check_host_is_input(model)
    N = model.n_neurons
    fired, active = np.asarray(fired, dtype=bool), np.asarray(active, dtype=bool)
    enable = np.ones(N, bool) if enable is None else np.asarray(enable, dtype=bool)
    assert fired.shape == (N,) and active.shape == (N,) and enable.shape == (N,), \
        f"fired/active/enable must have shape ({N},)"
    return _Chip(model, fired, active, enable, tick_cycles, overrun).run()


# --------------------------------------------------------------------------- functional part
