"""SimPy oracle of ``docs/engine-model.md``: an independent, slow, readable reference.

It shares no timing code with the Numba engine (``nmsim.sim``); only the array
layout (:mod:`nmsim.compile.compiled`) and the action list
(:mod:`nmsim.describe.actions`) are common.  It is meant for tiny chips
(<= 4x4 routers, <= 100 neurons, a few hundred packets per step).

API
---
- :func:`oracle_step` -- timing and counters of one timestep, given which
  neurons fired and which were active.
- :func:`oracle_run` -- a whole run: the functional part (spec section 1,
  plain Python integers) plus :func:`oracle_step` for every step.

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


# --------------------------------------------------------------------------- geometry


def xy_path(model: CompiledModel, src_core: int, dst_core: int) -> tuple[int, ...]:
    """Link ids a packet from ``src_core`` (host = ``n_cores``) to ``dst_core`` crosses."""
    W, R, C = model.width, model.n_routers, model.n_cores
    x, y = int(model.core_router[src_core]) % W, int(model.core_router[src_core]) // W
    xd, yd = int(model.core_router[dst_core]) % W, int(model.core_router[dst_core]) // W
    links = [4 * R + src_core]  # injection
    while x != xd:
        port, step = (PORT_E, 1) if xd > x else (PORT_W, -1)
        links.append(4 * (y * W + x) + port)
        x += step
    while y != yd:
        port, step = (PORT_N, 1) if yd > y else (PORT_S, -1)
        links.append(4 * (y * W + x) + port)
        y += step
    links.append(4 * R + (C + 1) + dst_core)  # ejection
    return tuple(links)


def board_chip_step(g: dict, here: tuple[int, int], dest: tuple[int, int]) -> str:
    """Chip-level direction (``"E"``, ``"W"``, ``"N"``, ``"S"``) from chip ``here`` towards chip ``dest`` (``(cx, cy)``,
    different).  A full grid: XY over chips.  A grid whose positions ``g["empty"]`` (indices ``cy * chips_x + cx``)
    hold no chip: straight along the column when the columns match, else along the column to the trunk row (the
    lowest row with no empty position), then along it.  Raises ``ValueError`` when the next chip, or any chip left
    on that route, is an empty position."""
    CX, CY = g["chips_x"], g["chips_y"]
    holes = {(i % CX, i // CX) for i in g.get("empty", ())}
    (x, y), (xd, yd) = here, dest
    if not holes:
        if xd != x:
            return "E" if xd > x else "W"
        return "N" if yd > y else "S"
    trunks = [row for row in range(CY) if all((c, row) not in holes for c in range(CX))]
    if xd == x:
        legs = [(x, y, yd)]
    elif not trunks:
        raise ValueError(f"chip {here} to chip {dest}: no route (no full row of chips)")
    else:
        legs = [(x, y, trunks[0]), (xd, trunks[0], yd)]
    for col, y0, y1 in legs:
        for yy in range(min(y0, y1), max(y0, y1) + 1):
            if (col, yy) in holes:
                raise ValueError(f"chip {here} to chip {dest}: the route crosses the empty position {(col, yy)}")
    if xd == x:
        return "N" if yd > y else "S"
    if y != trunks[0]:
        return "N" if trunks[0] > y else "S"
    return "E" if xd > x else "W"


def board_path(model: CompiledModel, src_core: int, dst_core: int) -> tuple[int, ...]:
    """Link ids a packet crosses on a board (``model.meta["system"]``, ``docs/systems.md``), walked router by
    router: inside a chip XY to the destination (same chip) or to the port of the chip-level direction
    (:func:`board_chip_step`: east/west while the chip columns differ, then north/south, around empty grid
    positions), then across that port's link."""
    g = model.meta["system"]
    W, H, R, C = g["chip_width"], g["chip_height"], model.n_routers, model.n_cores
    Wt = model.width
    r, rd = int(model.core_router[src_core]), int(model.core_router[dst_core])
    links = [4 * R + src_core]
    while r != rd:
        x, y, xd, yd = r % Wt, r // Wt, rd % Wt, rd // Wt
        cx, cy, dcx, dcy = x // W, y // H, xd // W, yd // H
        if (cx, cy) == (dcx, dcy):
            tx, ty, out = xd, yd, None
        else:
            d = board_chip_step(g, (cx, cy), (dcx, dcy))
            if d in "EW":
                tx = cx * W + (W - 1 if d == "E" else 0)
                ty, out = cy * H + g["east_west_row"], (PORT_E if d == "E" else PORT_W)
            else:
                tx = cx * W + g["north_south_col"]
                ty, out = cy * H + (H - 1 if d == "N" else 0), (PORT_N if d == "N" else PORT_S)
        if x != tx:
            port = PORT_E if tx > x else PORT_W
        elif y != ty:
            port = PORT_N if ty > y else PORT_S
        else:
            port = out
        links.append(4 * r + port)
        x += {PORT_E: 1, PORT_W: -1}.get(port, 0)
        y += {PORT_N: 1, PORT_S: -1}.get(port, 0)
        r = y * Wt + x
    links.append(4 * R + (C + 1) + dst_core)
    return tuple(links)


def board_vcs(model: CompiledModel, links: tuple[int, ...]) -> tuple[int, ...]:
    """Virtual channel of each link of a board path (``docs/systems.md``): on a 2-D board (more than one chip
    in both directions) a mesh hop uses VC 1 once the packet's chip column is its destination's, else VC 0;
    on a row or a column of chips, and on injection and ejection links, VC 0."""
    g, Wt, R = model.meta["system"], model.width, model.n_routers
    if g["chips_x"] == 1 or g["chips_y"] == 1:
        return (0,) * len(links)
    last = links[-2] if len(links) > 2 else None
    if last is None:
        return (0,) * len(links)
    r_end, port = divmod(last, 4)  # the destination router is the far end of the last mesh link
    xe = r_end % Wt + {PORT_E: 1, PORT_W: -1}.get(port, 0)
    dest_col = xe // g["chip_width"]
    out = []
    for L in links:
        if L >= 4 * R:
            out.append(0)
        else:
            out.append(1 if ((L // 4) % Wt) // g["chip_width"] == dest_col else 0)
    return tuple(out)


def board_crossing(model: CompiledModel, link: int) -> bool:
    """Whether mesh link ``link`` joins two chips of the board."""
    g, Wt = model.meta["system"], model.width
    r, port = divmod(link, 4)
    x, y = r % Wt, r // Wt
    x2, y2 = x + {PORT_E: 1, PORT_W: -1}.get(port, 0), y + {PORT_N: 1, PORT_S: -1}.get(port, 0)
    return (x // g["chip_width"], y // g["chip_height"]) != (x2 // g["chip_width"], y2 // g["chip_height"])


def _board_ranks(model: CompiledModel) -> dict[int, int]:
    """Mesh link -> its first channel's position in a topological order of the dependency graph over channels
    ``(virtual channel, link)`` of :func:`board_path` and :func:`board_vcs` over every pair of routers.
    Raises ``ValueError`` if that graph has a cycle (finite buffers could deadlock).  On a board every mesh
    link has latency >= 1 and freed slots return next cycle, so the mesh arbiters' order in a cycle does
    not change any grant."""
    cache = model.meta.get("_oracle_board_ranks")
    if cache is not None:
        return cache
    W, R, C = model.width, model.n_routers, model.n_cores
    succ: dict[tuple, set] = {}
    nodes = {(v, L) for v in (0, 1) for L in range(4 * R)}
    indeg = {n: 0 for n in nodes}
    g = model.meta["system"]
    holes = set(g.get("empty", ()))
    Wr = g["chip_width"]
    on = [((r // W) // g["chip_height"]) * g["chips_x"] + (r % W) // Wr not in holes for r in range(R)]
    for a in range(R):
        for b in range(R):
            if not (on[a] and on[b]):
                continue  # no router of an empty grid position sends or receives
            full = board_path(_RouterPair(model, a, b), 0, 1)
            vcs = board_vcs(model, full)
            path = [(v, L) for v, L in zip(vcs, full)][1:-1]  # mesh channels from router a to router b
            for c1, c2 in zip(path, path[1:]):
                if c2 not in succ.setdefault(c1, set()):
                    succ[c1].add(c2)
                    indeg[c2] += 1
    ready = sorted(n for n, d in indeg.items() if d == 0)
    order = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for n2 in sorted(succ.get(n, ())):
            indeg[n2] -= 1
            if indeg[n2] == 0:
                ready.append(n2)
        ready.sort()
    if len(order) != len(nodes):
        raise ValueError("board routes have a cyclic channel dependency")
    ranks: dict[int, int] = {}
    for i, (v, L) in enumerate(order):
        ranks.setdefault(L, i)
    model.meta["_oracle_board_ranks"] = ranks
    return ranks


class _RouterPair:
    """A stand-in model whose cores 0 and 1 sit on routers ``a`` and ``b`` (for walking router pairs)."""

    def __init__(self, model, a, b):
        self.meta, self.width, self.n_routers, self.n_cores = model.meta, model.width, model.n_routers, model.n_cores
        self.core_router = np.array([a, b], np.int64)


def _link_rank(model: CompiledModel, link: int) -> int:
    """Position of ``link`` in a topological order of the routes' channel dependencies."""
    W, H, R, C = model.width, model.height, model.n_routers, model.n_cores
    if "system" in model.meta and 4 * R > link:
        return 1 + _board_ranks(model)[link]
    if "system" in model.meta:
        return 0 if link < 4 * R + C + 1 else 1 + 8 * R
    if link >= 4 * R + C + 1:  # ejection
        return 1 + 2 * W + 2 * H
    if link >= 4 * R:  # injection
        return 0
    r, port = divmod(link, 4)
    x, y = r % W, r // W
    if port == PORT_E:
        return 1 + x
    if port == PORT_W:
        return 1 + W + (W - 1 - x)
    if port == PORT_N:
        return 1 + 2 * W + y
    return 1 + 2 * W + H + (H - 1 - y)  # PORT_S


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
        self.phase_syn = PHASE_ARB + _link_rank(m, m.n_links - 1) + 1
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
        phase = PHASE_ARB + _link_rank(m, l)
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


def _check_host_is_input(model: CompiledModel) -> None:
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
    _check_host_is_input(model)
    N = model.n_neurons
    fired, active = np.asarray(fired, dtype=bool), np.asarray(active, dtype=bool)
    enable = np.ones(N, bool) if enable is None else np.asarray(enable, dtype=bool)
    assert fired.shape == (N,) and active.shape == (N,) and enable.shape == (N,), \
        f"fired/active/enable must have shape ({N},)"
    return _Chip(model, fired, active, enable, tick_cycles, overrun).run()


# --------------------------------------------------------------------------- functional part


def _cell_oracle(model: CompiledModel, g: int, acc: list, c_prev: int) -> tuple[int, int]:
    """One recurrent-cell unit through the golden NumPy cell (R11): ``(payload, new c)``."""
    from nmsim.describe.neuron_models import cell_params_from_columns
    from nmsim.lm.golden import CELL_FUNCS

    kind = {MODEL_EGRU: "egru", MODEL_GRU: "gru", MODEL_LSTM: "lstm"}[int(model.neuron_model[g])]
    luts = [model.lut[i, :int(model.lut_size[i])] for i in range(model.lut.shape[0])]
    cp = cell_params_from_columns(kind, model.neuron_param[g:g + 1], luts)
    y, c = CELL_FUNCS[kind](np.array(acc[:4], dtype=np.int64).reshape(4, 1), np.array([c_prev], np.int64), cp)
    return int(y[0]), int(c[0])


def oracle_run(model: CompiledModel, n_steps: int, host_payloads: np.ndarray,
               enable: np.ndarray | None = None, tick_cycles: int = 0, overrun: str = "stretch") -> OracleResult:
    """Run ``n_steps`` timesteps: spec section 1 in plain Python integers, timing by :func:`oracle_step`.

    ``host_payloads`` int64[n_steps, n_host]: payload of each host neuron
    (``core_neuron_ptr[n_cores] .. N-1``, in order) per step; 0 = no event.
    ``enable`` bool[n_steps, N] (default: all enabled): R9.  ``tick_cycles``, ``overrun``: fixed-tick
    mode (:func:`oracle_step`).
    """
    model.check()
    _check_host_is_input(model)
    N, C = model.n_neurons, model.n_cores
    host0 = int(model.core_neuron_ptr[C])
    host_payloads = np.asarray(host_payloads, dtype=np.int64).reshape(n_steps, N - host0)
    state = [[int(v) for v in row] for row in model.neuron_state]
    acc = [[0] * model.n_accumulators for _ in range(N)]  # filled during the previous step
    received = [False] * N  # got >= 1 synaptic event during the previous step (zero weights included)
    enable = np.ones((n_steps, N), bool) if enable is None else np.asarray(enable, bool).reshape(n_steps, N)
    fired_out = np.zeros((n_steps, N), dtype=np.uint8)
    payload_out = np.zeros((n_steps, N), dtype=np.int64)
    steps = []
    for t in range(n_steps):
        fired, active, payload = [False] * N, [False] * N, [0] * N
        carry = [[0] * model.n_accumulators for _ in range(N)]
        carry_received = [False] * N
        for g in range(N):
            if g >= host0:  # input neuron: the host gives the event
                payload[g] = int(host_payloads[t, g - host0])
                fired[g] = payload[g] != 0
                continue
            if not enable[t, g]:  # R9: keeps state and accumulated input
                carry[g] = list(acc[g])
                carry_received[g] = received[g]
                continue
            mdl = int(model.neuron_model[g])
            if mdl == MODEL_READOUT:
                payload[g] = min(max(acc[g][0] + int(model.neuron_param[g, 0]), -(2**31)), 2**31 - 1)
                fired[g] = active[g] = True
                continue
            if mdl != MODEL_LIF:
                payload[g], state[g][0] = _cell_oracle(model, g, acc[g], state[g][0])
                fired[g] = payload[g] != 0 or mdl != MODEL_EGRU  # dense baselines send every step
                active[g] = True
                continue
            threshold, decay, bias, reset_mode, v_min, v_max, on_event = (int(x) for x in model.neuron_param[g, :7])
            u, v = acc[g][0], state[g][0]
            v1 = v - ((v * decay) >> 12) + bias + u
            v1 = min(max(v1, v_min), v_max)
            fired[g] = v1 > threshold
            state[g][0] = ((v1 - threshold) if reset_mode == 0 else 0) if fired[g] else v1
            payload[g] = 1 if fired[g] else 0
            active[g] = u != 0 or v != 0 or bias != 0 or (on_event == 1 and received[g])
        acc, received = carry, carry_received
        for g in range(N):
            if not fired[g]:
                continue
            for k in range(int(model.route_ptr[g]), int(model.route_ptr[g + 1])):
                row = int(model.route_row[k])
                if row < 0:  # R10: to the host
                    continue
                for j in range(int(model.row_ptr[row]), int(model.row_ptr[row + 1])):
                    acc[int(model.syn_target[j])][int(model.syn_acc[j])] += int(model.syn_weight[j]) * payload[g]
                    received[int(model.syn_target[j])] = True
        fired_out[t], payload_out[t] = fired, payload
        steps.append(oracle_step(model, np.array(fired), np.array(active), enable[t], tick_cycles, overrun))
    return OracleResult(
        fired=fired_out,
        payload=payload_out,
        counters=np.array([s.counters for s in steps], dtype=np.int64).reshape(n_steps, C + 1, N_ACTIONS),
        step_cycles=np.array([s.step_cycles for s in steps], dtype=np.int64),
        link_busy=np.array([s.link_busy for s in steps], dtype=np.int64).reshape(n_steps, model.n_links),
        final_state=np.array(state, dtype=np.int64).reshape(N, 4),
        steps=steps,
        overrun=np.array([s.overrun for s in steps], dtype=bool) if tick_cycles > 0 else None,
    )
