"""Micro-benchmarks: recover published per-operation figures from simulation outputs.

Each benchmark builds tiny networks with the public nmsim API (``Network`` ->
``pipeline.build`` -> ``sim.simulate`` -> ``account.account``) that differ in
exactly one action, and derives that action's energy and time by *differencing*
the two runs' outputs (total energy of step 0, ``step_cycles`` of step 0).  The
chip file's cost table is never read here: a benchmark that reads back the
number it should measure would check nothing.  The only exception, stated in
its ``how`` text, is the energy of a spike within a tile, which always travels
together with a send and a receive (one of each per packet), so it is taken
from the accounting's per-action split of the run rather than from a difference.

Published figures (see ``docs/validation.md`` and ``shared/reference/hardware.md``):
Loihi, Davies et al. 2018 Table 2; TrueNorth, Merolla et al. 2014 (26 pJ per
synaptic event); SpiNNaker 2, Scholze et al. 2026 (5 cycles per NoC hop at 300 MHz).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from nmsim.account import account
from nmsim.describe.chip import ChipSpec, load_chip
from nmsim.describe.network import Network
from nmsim.map.placement import place_manual
from nmsim.pipeline import build

HUGE = 2**30  # a threshold no test input reaches


@dataclass(frozen=True)
class Run:
    """Step-0 outputs of one micro-benchmark run."""

    energy_pj: float  # dynamic energy of step 0 (static excluded: it follows time, not actions)
    cycles: int  # step_cycles[0]
    ns: float
    result: object
    report: object


@dataclass(frozen=True)
class Row:
    """One line of the micro-benchmark table."""

    chip: str
    action: str
    quantity: str  # "energy" or "time"
    unit: str  # "pJ" or "ns" or "cycles"
    published: str  # the published figure as text
    published_value: float | None  # comparable number (None: not comparable, e.g. a range)
    measured: float
    how: str
    source: str

    @property
    def agrees(self) -> bool | None:
        if self.published_value is None:
            return None
        return within_rounding(self.measured, self.published_value, self.unit)


def within_rounding(measured: float, published: float, unit: str) -> bool:
    """Equal to the published figure at the precision it is published with (0.05 of its last digit
    for pJ/ns at one decimal; cycles exactly)."""
    if unit == "cycles":
        return round(measured) == round(published)
    return math.isclose(measured, published, rel_tol=0, abs_tol=0.05 + 1e-9)


# --------------------------------------------------------------------------- helpers


def core_at(chip: ChipSpec, x: int, y: int, local: int = 0) -> int:
    """Core index of core ``local`` on router ``(x, y)``."""
    m = chip.mesh
    return (y * m.width + x) * m.cores_per_router + local


def with_mesh(chip: ChipSpec, width: int, height: int) -> ChipSpec:
    """The same chip (same costs) on a ``width x height`` mesh (host at (0, 0))."""
    mesh = dataclasses.replace(chip.mesh, width=width, height=height, io_router_x=0, io_router_y=0,
                               n_cores=width * height * chip.mesh.cores_per_router)
    return dataclasses.replace(chip, mesh=mesh, name=f"{chip.name}-{width}x{height}")


def run_step0(chip: ChipSpec, net: Network, cores: dict, inputs: dict | None = None, trace: bool = False) -> Run:
    from nmsim.sim import simulate  # imported lazily: Numba compile on first use

    pl = place_manual(chip, net, cores)
    model = build(chip, net, placement=pl)
    n_steps = 1
    res = simulate(model, n_steps, host_array(model, inputs or {}, n_steps),
                   record=("fired", "payload", "link_busy") + (("trace",) if trace else ()))
    rep = account(res, chip.energy.vector_pj(), chip.static.core_power_mw, chip.n_cores, chip.clock.frequency_hz)
    cyc = int(res.step_cycles[0])
    return Run(float(rep.dynamic_pj[0].sum()), cyc, cyc / chip.clock.frequency_hz * 1e9, res, rep)


def host_array(model, inputs: dict, n_steps: int) -> np.ndarray:
    """``{input population: int[n_steps, n]}`` -> the engine's ``int64[n_steps, n_host]``."""
    from nmsim.compile.build import scatter_inputs

    full = scatter_inputs(model, {k: np.asarray(v, np.int64).reshape(n_steps, -1) for k, v in inputs.items()},
                          n_steps)
    return np.ascontiguousarray(full[:, int(model.core_neuron_ptr[model.n_cores]):])


def _ns(chip: ChipSpec, cycles: float) -> float:
    return cycles / chip.clock.frequency_hz * 1e9


def _fanout_net(n_targets: int, n_lif: int, weight: int = 1) -> Network:
    """One host input -> ``n_targets`` of ``n_lif`` LIF neurons (weight 1, never firing)."""
    net = Network(f"fanout{n_targets}")
    net.add_input("in", 1)
    net.add_lif("lif", n_lif, threshold=HUGE)
    w = np.zeros((1, n_lif), np.int64)
    w[0, :n_targets] = weight
    net.connect("in", "lif", w)
    return net


# --------------------------------------------------------------------------- benchmarks


def synaptic_op(chip: ChipSpec) -> tuple[float, float]:
    """One more synapse in the row of one packet (energy pJ, time ns).  Both runs hold two
    idle LIF neurons on core 0 (step 0 updates them from empty accumulators, so they are
    idle in both runs); the host packet carries a row of 1 vs 2 synapses."""
    c0 = core_at(chip, chip.mesh.io_router_x, chip.mesh.io_router_y)
    a = run_step0(chip, _fanout_net(1, 2), {"lif": c0}, {"in": [[1]]})
    b = run_step0(chip, _fanout_net(2, 2), {"lif": c0}, {"in": [[1]]})
    return b.energy_pj - a.energy_pj, _ns(chip, b.cycles - a.cycles)


def neuron_update(chip: ChipSpec, active: bool) -> tuple[float, float]:
    """One more neuron update (active: bias 1 and an unreachable threshold; idle: nothing
    to do), in a network with no events: the step lasts the neuron phase plus the barrier."""
    def net(n):
        nt = Network(f"upd{n}")
        nt.add_lif("lif", n, threshold=HUGE, bias=1 if active else 0)
        return nt
    c0 = core_at(chip, 0, 0)
    a = run_step0(chip, net(1), {"lif": c0})
    b = run_step0(chip, net(2), {"lif": c0})
    return b.energy_pj - a.energy_pj, _ns(chip, b.cycles - a.cycles)


def hop(chip: ChipSpec, direction: str) -> tuple[float, float]:
    """One more mesh hop: the host (at the I/O router) sends one packet to a neuron 1 vs 2
    routers away east (``"ew"``) or north (``"ns"``).  Both runs have one idle LIF neuron."""
    x0, y0 = chip.mesh.io_router_x, chip.mesh.io_router_y
    dx, dy = (1, 0) if direction == "ew" else (0, 1)
    runs = []
    for k in (1, 2):
        x, y = x0 + k * dx, y0 + k * dy
        if x >= chip.mesh.width or y >= chip.mesh.height:
            raise ValueError(f"chip {chip.name!r}: mesh too small for a 2-hop {direction} benchmark")
        runs.append(run_step0(chip, _fanout_net(1, 1), {"lif": core_at(chip, x, y)}, {"in": [[1]]}))
    a, b = runs
    return b.energy_pj - a.energy_pj, _ns(chip, b.cycles - a.cycles)


def spike_within_tile(chip: ChipSpec) -> tuple[float, float]:
    """A spike from one core to another core of the same tile.  Time: from the packet trace,
    arrival at the destination core minus the grant of the router-to-core (ejection) link.
    Energy: the accounting's ``local_delivery`` energy of the run / packets ejected (a
    within-tile delivery never occurs without a send and a receive, so no difference of
    two runs isolates it)."""
    from nmsim.describe.actions import A

    if chip.mesh.cores_per_router < 2:
        raise ValueError(f"chip {chip.name!r}: one core per router, no spike within a tile")
    net = Network("intile")
    net.add_lif("src", 1, threshold=0, bias=1)  # fires at step 0
    net.add_lif("dst", 1, threshold=HUGE)
    net.connect("src", "dst", [[1]])
    r = run_step0(chip, net, {"src": core_at(chip, 0, 0, 0), "dst": core_at(chip, 0, 0, 1)}, trace=True)
    tr = r.result.trace
    assert tr.n_packets == 1
    last = int(tr.link_ptr[1]) - 1
    cycles = int(tr.arrival[0]) - int(tr.grant[last])
    n = int(r.result.counters[0, :, A["local_delivery"]].sum())
    return float(r.report.action_pj[A["local_delivery"]]) / n, _ns(chip, cycles)


def barrier(chip: ChipSpec) -> float:
    """Barrier time (ns) of a chip whose cores do nothing: one host input population that
    sends nothing, so the whole step is the barrier."""
    net = Network("idle")
    net.add_input("in", 1)
    r = run_step0(chip, net, {}, {"in": [[0]]})
    return r.ns


# --------------------------------------------------------------------------- studies


def loihi_rows(chip: ChipSpec | str = "loihi") -> list[Row]:
    chip = load_chip(chip)
    src = "Davies et al. 2018, Table 2"
    rows = []
    e, t = synaptic_op(chip)
    rows += [Row(chip.name, "synaptic op", "energy", "pJ", "23.6 pJ", 23.6, e,
                 "row of 2 vs 1 synapses, difference of step energy", src),
             Row(chip.name, "synaptic op", "time", "ns", "3.5 ns", 3.5, t,
                 "row of 2 vs 1 synapses, difference of step time", src)]
    for active, pe, pt in ((True, 81.0, 8.4), (False, 52.0, 5.3)):
        e, t = neuron_update(chip, active)
        name = f"neuron update ({'active' if active else 'inactive'})"
        rows += [Row(chip.name, name, "energy", "pJ", f"{pe:g} pJ", pe, e, "2 vs 1 neurons, difference of step energy", src),
                 Row(chip.name, name, "time", "ns", f"{pt:g} ns", pt, t, "2 vs 1 neurons, difference of step time", src)]
    e, t = spike_within_tile(chip)
    rows += [Row(chip.name, "spike within a tile", "energy", "pJ", "1.7 pJ", 1.7, e,
                 "accounted local-delivery energy of a core-to-core packet on one tile", src),
             Row(chip.name, "spike within a tile", "time", "ns", "2.1 ns", 2.1, t,
                 "packet trace: arrival minus router-to-core grant", src)]
    for d, name, pe, pt in (("ew", "east-west hop", 3.0, 4.1), ("ns", "north-south hop", 4.0, 6.5)):
        e, t = hop(chip, d)
        rows += [Row(chip.name, name, "energy", "pJ", f"{pe:g} pJ", pe, e, "2 vs 1 hops, difference of step energy", src),
                 Row(chip.name, name, "time", "ns", f"{pt:g} ns", pt, t, "2 vs 1 hops, difference of step time", src)]
    t1 = barrier(with_mesh(chip, 1, 1))
    t32 = barrier(chip)
    rows += [Row(chip.name, "barrier, 1 tile", "time", "ns", "113 ns", 113.0, t1,
                 "idle step on the same chip cut to a 1x1 mesh", src),
             Row(chip.name, f"barrier, {chip.mesh.n_routers} tiles", "time", "ns", "465 ns", 465.0, t32,
                 f"idle step on the full {chip.mesh.width}x{chip.mesh.height} mesh", src)]
    return rows


def truenorth_rows(chip: ChipSpec | str = "truenorth") -> list[Row]:
    chip = load_chip(chip)
    e, _ = synaptic_op(chip)
    return [Row(chip.name, "synaptic event", "energy", "pJ", "26 pJ", 26.0, e,
                "row of 2 vs 1 synapses, difference of step energy", "Merolla et al. 2014 [S]")]


def spinnaker2_rows(chip: ChipSpec | str = "spinnaker2") -> list[Row]:
    chip = load_chip(chip)
    rows = []
    for d, name in (("ew", "NoC hop (east-west)"), ("ns", "NoC hop (north-south)")):
        _, t = hop(chip, d)
        cyc = t * chip.clock.frequency_hz / 1e9
        rows.append(Row(chip.name, name, "time", "cycles", "5 cycles at 300 MHz", 5.0, cyc,
                        "2 vs 1 hops, difference of step time, in 300 MHz cycles", "Scholze et al. 2026 [S]"))
    return rows


def run_all() -> list[Row]:
    """Every micro-benchmark of every preset with published per-operation figures."""
    return loihi_rows() + truenorth_rows() + spinnaker2_rows()
