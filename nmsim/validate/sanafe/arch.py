"""SANA-FE architecture YAML -> nmsim :class:`~nmsim.describe.chip.ChipSpec`.

Formats are those of SANA-FE's ``arch/README.md``: an ``architecture`` with
``attributes`` (``topology``, ``width``, ``height``, ``link_buffer_size``,
``sync_model``, ``latency_sync``), ``tile`` entries (per-direction
``energy_/latency_*_hop``), ``core`` entries and the unit pipeline ``axon_in ->
synapse -> dendrite -> soma -> axon_out`` with per-event ``energy_*`` (J) /
``latency_*`` (s) attributes; names may replicate with ``name[a..b]``.  The
mapping table is in ``docs/validation.md`` §3.  Latencies become integer cycles
of a chosen clock (default 10 GHz, 0.1 ns per cycle), rounded to the nearest
cycle; every inexact conversion is listed in the import notes.  A feature nmsim
cannot represent raises :class:`~nmsim.errors.ChipConfigError` naming it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from nmsim.describe.actions import ACTIONS
from nmsim.describe.chip import (BarrierSpec, ChipSpec, ClockSpec, CoreSpec, EnergySpec, MeshSpec, NocSpec,
                                 StaticSpec, TimingSpec)
from nmsim.errors import ChipConfigError
from nmsim.validate.sanafe.attributes import (ARCH_KEYS, CORE_KEYS, CORE_VALUES, LOG_KEYS, MODEL_REFUSED,
                                              SOMA_COST_KEYS, TILE_KEYS, UNIT_KEYS, UNIT_KINDS, UNIT_MODELS)
from nmsim.validate.sanafe.yamlio import attrs as _attrs
from nmsim.validate.sanafe.yamlio import expand_name, num as _num, read_yaml, truthy

DEFAULT_CLOCK_HZ = 10e9


@dataclass(frozen=True)
class Unit:
    kind: str
    name: str
    attributes: MappingProxyType

    @property
    def model(self) -> str | None:
        return self.attributes.get("model")


@dataclass(frozen=True)
class SanafeArch:
    """A parsed SANA-FE architecture (one core description shared by every core)."""

    path: str
    name: str
    width: int
    height: int
    cores_per_tile: int
    link_buffer_size: int
    sync_model: str
    latency_sync: Any  # float (fixed) or {tiles: seconds} (table)
    hop: MappingProxyType  # {"energy_east_hop": J, ...}
    max_neurons: int
    units: MappingProxyType  # kind -> tuple[Unit]
    core_attrs: MappingProxyType

    def unit(self, kind: str, name: str | None, where: str = "", attr: str = "", err=ChipConfigError) -> Unit:
        """The ``kind`` unit called ``name`` (None: the first, SANA-FE's default).  ``where`` / ``attr``
        (e.g. ``"snn.yaml: group hid"``, ``"dendrite_hw_name"``) say who asked, for the error line (``err``)."""
        units = self.units.get(kind, ())
        if not units:
            raise ChipConfigError(f"{where + ': ' if where else ''}{self.path}: core has no {kind} unit")
        if name is None:
            return units[0]
        u = self._by_name.get((kind, name))
        if u is not None:
            return u
        who = f"{where}: {attr or kind} {name!r}" if where else f"{self.path}: {kind} unit {name!r}"
        names = [u.name for u in units]
        listed = ", ".join(names[:8]) + (f", ... ({len(names)} units)" if len(names) > 8 else "")
        raise err(f"{who}: no {kind} unit of that name in {self.path} (its {kind} units: {listed})")

    @cached_property
    def _by_name(self) -> dict:
        return {(k, u.name): u for k, us in self.units.items() for u in reversed(us)}

    def tile_xy(self, tile: int) -> tuple[int, int]:
        """SANA-FE numbers tiles column by column: ``x = tile // height``, ``y = tile % height``."""
        return tile // self.height, tile % self.height

    def nmsim_core(self, tile: int, core: int) -> int:
        x, y = self.tile_xy(tile)
        return (y * self.width + x) * self.cores_per_tile + core

    def sync_seconds(self, tiles_in_use: int | None = None) -> float:
        if self.sync_model in ("none", "fixed"):
            return float(self.latency_sync or 0.0)
        n = self.width * self.height if tiles_in_use is None else tiles_in_use
        keys = sorted(k for k in self.latency_sync if k <= n)
        if not keys:
            raise ChipConfigError(f"{self.path}: architecture.attributes.latency_sync: sync_model 'table' has no "
                                  f"entry for {n} tile(s) in use (smallest key {min(self.latency_sync)})")
        return float(self.latency_sync[keys[-1]])


def _check_keys(attrs: dict, allowed: set, where: str, path: str, what: str = "attribute") -> None:
    for k in attrs:
        if k not in allowed:
            raise ChipConfigError(f"{path}: {where}: unsupported {what} {k!r} (nmsim reproduces only "
                                  f"{', '.join(sorted(allowed))})")


def parse_arch(path: str | Path) -> SanafeArch:
    """Read a SANA-FE architecture file; refuse every feature nmsim cannot represent."""
    path = str(path)
    doc = read_yaml(path)
    if "architecture" not in doc:
        raise ChipConfigError(f"{path}: missing 'architecture' section")
    arch = doc["architecture"]
    if not isinstance(arch, dict):
        raise ChipConfigError(f"{path}: architecture: expected a mapping")
    name = str(arch.get("name", Path(path).stem))
    for k in arch:
        if k not in ("name", "attributes", "tile"):
            raise ChipConfigError(f"{path}: architecture.{k}: unsupported section")
    at = _attrs(arch.get("attributes"), "architecture.attributes", ChipConfigError)
    _check_keys(at, ARCH_KEYS, "architecture.attributes", path)
    topo = at.get("topology", "mesh")
    if topo != "mesh":
        raise ChipConfigError(f"{path}: architecture.attributes.topology: unsupported topology {topo!r} "
                              f"(nmsim models a 2-D mesh only)")
    width, height = int(at.get("width", 1)), int(at.get("height", 1))
    buf = int(at.get("link_buffer_size", 1))
    if width < 1 or height < 1 or buf < 1:
        raise ChipConfigError(f"{path}: architecture.attributes: width, height, link_buffer_size must be >= 1")
    sync_model = str(at.get("sync_model", "none"))
    if sync_model not in ("none", "fixed", "table"):
        raise ChipConfigError(f"{path}: architecture.attributes.sync_model: unsupported sync model {sync_model!r} "
                              f"(nmsim reproduces 'fixed' and 'table' as a fixed barrier)")
    raw_sync = at.get("latency_sync", 0.0)
    if sync_model == "table":
        if not isinstance(raw_sync, dict) or not raw_sync:
            raise ChipConfigError(f"{path}: architecture.attributes.latency_sync: sync_model 'table' needs a "
                                  f"mapping {{tiles: seconds}}")
        latency_sync = {int(k): _num(v, f"{path}: latency_sync[{k}]") for k, v in raw_sync.items()}
    else:
        latency_sync = _num(raw_sync, f"{path}: architecture.attributes.latency_sync")

    tiles = arch.get("tile") or []
    if not isinstance(tiles, list) or not tiles:
        raise ChipConfigError(f"{path}: architecture.tile: expected a list of tiles")
    tile_defs, cores_defs = [], []
    for t in tiles:
        if not isinstance(t, dict) or "name" not in t:
            raise ChipConfigError(f"{path}: architecture.tile: every tile needs a name")
        for k in t:
            if k not in ("name", "attributes", "core"):
                raise ChipConfigError(f"{path}: tile {t['name']}: unsupported section {k!r}")
        names = expand_name(t["name"])
        ta = _attrs(t.get("attributes"), f"tile {t['name']}", ChipConfigError)
        _check_keys(ta, TILE_KEYS | LOG_KEYS, f"tile {t['name']}", path)
        cores = []
        for c in t.get("core") or []:
            if not isinstance(c, dict) or "name" not in c:
                raise ChipConfigError(f"{path}: tile {t['name']}: every core needs a name")
            cores += [(n, c) for n in expand_name(c["name"])]
        if not cores:
            raise ChipConfigError(f"{path}: tile {t['name']}: no cores")
        for _ in names:
            tile_defs.append(ta)
            cores_defs.append(cores)
    if len(tile_defs) != width * height:
        raise ChipConfigError(f"{path}: {len(tile_defs)} tiles for a {width} x {height} mesh: nmsim needs exactly "
                              f"width x height tiles")
    if any(a != tile_defs[0] for a in tile_defs):
        raise ChipConfigError(f"{path}: tiles with different hop costs (heterogeneous tiles) are not supported")
    n_per = {len(c) for c in cores_defs}
    if len(n_per) != 1:
        raise ChipConfigError(f"{path}: tiles with different numbers of cores ({sorted(n_per)}) are not supported")
    core_bodies = [{k: v for k, v in c.items() if k != "name"} for cs in cores_defs for _, c in cs]
    if any(b != core_bodies[0] for b in core_bodies):
        raise ChipConfigError(f"{path}: cores with different units or attributes (heterogeneous cores) are not "
                              f"supported")
    body = core_bodies[0]
    cname = cores_defs[0][0][0]
    for k in body:
        if k not in ("attributes",) + UNIT_KINDS:
            raise ChipConfigError(f"{path}: core {cname}: unsupported section {k!r}")
    ca = _attrs(body.get("attributes"), f"core {cname}", ChipConfigError)
    _check_keys(ca, CORE_KEYS | LOG_KEYS, f"core {cname}", path)
    for k, (ok, why) in CORE_VALUES.items():
        if k in ca and str(ca[k]).strip().lower() != ok:
            raise ChipConfigError(f"{path}: core {cname}: unsupported attribute value {k}: {ca[k]!r} (nmsim reads "
                                  f"{k}: {ok}: {why})")
    units = {}
    for kind in UNIT_KINDS:
        lst = body.get(kind) or []
        if not isinstance(lst, list):
            raise ChipConfigError(f"{path}: core {cname}.{kind}: expected a list of units")
        us = []
        for u in lst:
            if not isinstance(u, dict) or "name" not in u:
                raise ChipConfigError(f"{path}: core {cname}.{kind}: every unit needs a name")
            for k in u:
                if k not in ("name", "attributes"):
                    raise ChipConfigError(f"{path}: {kind} unit {u['name']}: unsupported key {k!r}")
            ua = _attrs(u.get("attributes"), f"{kind} unit {u['name']}", ChipConfigError)
            if "plugin" in ua:
                raise ChipConfigError(f"{path}: {kind} unit {u['name']}: unsupported feature 'plugin' (a C++ "
                                      f"model library {ua['plugin']!r}); nmsim cannot run external models")
            for n in expand_name(u["name"]):
                us.append(Unit(kind, n, MappingProxyType(ua)))
        units[kind] = tuple(us)
    for kind in ("axon_in", "axon_out"):
        if len(units[kind]) > 1:
            raise ChipConfigError(f"{path}: core {cname}: {len(units[kind])} {kind} units; nmsim has one per core")
    return SanafeArch(path=path, name=name, width=width, height=height, cores_per_tile=len(cores_defs[0]),
                      link_buffer_size=buf, sync_model=sync_model, latency_sync=latency_sync,
                      hop=MappingProxyType({k: _num(tile_defs[0].get(k, 0.0), f"{path}: tile.{k}")
                                            for k in sorted(TILE_KEYS)}),
                      max_neurons=int(ca.get("max_neurons_supported", 1024)), units=MappingProxyType(units),
                      core_attrs=MappingProxyType(ca))


def unit_costs(arch: SanafeArch, u: Unit) -> dict:
    path = arch.path
    allowed = UNIT_KEYS[u.kind] | LOG_KEYS
    for k in u.attributes:
        if k not in allowed:
            raise ChipConfigError(f"{path}: {u.kind} unit {u.name}: unsupported attribute {k!r} (nmsim reproduces "
                                  f"only {', '.join(sorted(UNIT_KEYS[u.kind]))})")
    if u.kind in UNIT_MODELS:
        model = u.attributes.get("model", UNIT_MODELS[u.kind][0])
        if model not in UNIT_MODELS[u.kind]:
            reason = MODEL_REFUSED.get((u.kind, model), f"nmsim reproduces {' and '.join(UNIT_MODELS[u.kind])}")
            raise ChipConfigError(f"{path}: {u.kind} unit {u.name}: unsupported model {model!r}: {reason}")
    return {k: _num(v, f"{path}: {u.kind} unit {u.name}.{k}") for k, v in u.attributes.items()
            if k.startswith(("energy_", "latency_"))}


@dataclass
class ImportNotes:
    """Everything the import decided that a reader should know (written into the report)."""

    lines: list = field(default_factory=list)

    def add(self, text: str) -> None:
        if text not in self.lines:
            self.lines.append(text)


def to_chip(arch: SanafeArch, *, clock_hz: float = DEFAULT_CLOCK_HZ, synapse_unit: str | None = None,
            soma_unit: str | None = None, dendrite_units=None, tiles_in_use: int | None = None,
            hop_directions: set | None = None, io_tile: int = 0, notes: ImportNotes | None = None) -> ChipSpec:
    """An nmsim :class:`ChipSpec` from a parsed architecture.

    ``synapse_unit`` / ``soma_unit``: the unit whose costs become the chip's (default: the first one of
    its kind; SANA-FE's default too).  ``dendrite_units``: names of the dendrite units in use (default: the
    first); each must be a plain ``accumulator`` with zero costs.  ``tiles_in_use``: selects the ``latency_sync``
    table entry (default: every tile).  ``hop_directions``: the mesh directions packets actually take
    (``{"east", "north", ...}``); needed only when opposite directions cost differently (nmsim has one
    east-west and one north-south cost): then only the directions used must agree.  ``io_tile``: the
    SANA-FE tile whose router the host (input neurons) attaches to.
    """
    notes = notes if notes is not None else ImportNotes()
    path = arch.path
    src = f"SANA-FE {Path(path).name}"

    def cycles(seconds: float, what: str) -> int:
        exact = seconds * clock_hz
        c = int(round(exact))
        if not math.isclose(exact, c, rel_tol=0, abs_tol=1e-6):
            notes.add(f"{what}: {seconds * 1e9:g} ns is {exact:g} cycles at {clock_hz / 1e9:g} GHz, rounded to {c}")
        return c

    # hops: nmsim has one east-west and one north-south cost
    h = arch.hop
    hop = {}
    for axis, (d1, d2) in (("east_west", ("east", "west")), ("north_south", ("north", "south"))):
        for q in ("energy", "latency"):
            a, b = h[f"{q}_{d1}_hop"], h[f"{q}_{d2}_hop"]
            if a != b:
                used = None if hop_directions is None else {d for d in (d1, d2) if d in hop_directions}
                if used is None or len(used) == 2:
                    raise ChipConfigError(f"{path}: tile: unsupported feature: direction-dependent hop {q}: "
                                          f"{q}_{d1}_hop={a:g} != {q}_{d2}_hop={b:g} (nmsim has one {axis} cost)"
                                          + ("" if used is None else "; this network uses both directions"))
                if used:
                    d = used.pop()
                    a = h[f"{q}_{d}_hop"]
                    notes.add(f"{q}_{d1}_hop != {q}_{d2}_hop: this network sends only {d}; nmsim's {axis} {q} "
                              f"is the {d} value {a:g}")
                else:
                    notes.add(f"{q}_{d1}_hop != {q}_{d2}_hop: this network takes no {axis} hop, so the "
                              f"difference plays no part")
            hop[(axis, q)] = a

    syn = arch.unit("synapse", synapse_unit)
    soma = arch.unit("soma", soma_unit)
    if soma.model == "input":
        raise ChipConfigError(f"{path}: soma unit {soma.name}: an input soma cannot hold LIF neurons")
    ain, aout = arch.unit("axon_in", None), arch.unit("axon_out", None)
    cs, cm, ci, co = (unit_costs(arch, u) for u in (syn, soma, ain, aout))
    check_dendrites(arch, dendrite_units)
    for k in SOMA_COST_KEYS:
        if k not in cm:
            raise ChipConfigError(f"{path}: soma unit {soma.name}: missing {k}")
    for den_name in sorted(set(dendrite_units or [])) or [None]:
        if arch.units.get("dendrite"):
            d = arch.unit("dendrite", den_name)
            if truthy(d.attributes.get("update_every_timestep", False)):
                notes.add(f"dendrite unit {d.name}: update_every_timestep read; with zero dendrite costs it changes "
                          f"no count, energy or time")
    if "buffer_position" not in arch.core_attrs:
        notes.add("core buffer_position not given (SANA-FE 2.2.9 requires it): nmsim's timestep buffer is before the "
                  "soma, as with buffer_position: soma")
    if cm["latency_spike_out"]:
        notes.add(f"soma latency_spike_out ({cm['latency_spike_out'] * 1e9:g} ns) has no nmsim action; it is left out "
                  f"of nmsim's timing")
    e = {a: 0.0 for a in ACTIONS}
    e.update(neuron_update_idle=cm["energy_access_neuron"] * 1e12,
             neuron_update_active=(cm["energy_access_neuron"] + cm["energy_update_neuron"]) * 1e12,
             spike=cm["energy_spike_out"] * 1e12,
             packet_send=co.get("energy_message_out", 0.0) * 1e12,
             io_packet=co.get("energy_message_out", 0.0) * 1e12,
             packet_receive=ci.get("energy_message_in", 0.0) * 1e12,
             synaptic_op=cs.get("energy_process_spike", 0.0) * 1e12,
             flit_hop_east_west=hop[("east_west", "energy")] * 1e12,
             flit_hop_north_south=hop[("north_south", "energy")] * 1e12)
    e = {k: round(v, 9) for k, v in e.items()}
    esrc = {
        "neuron_update_idle": f"{src}: soma {soma.name} energy_access_neuron",
        "neuron_update_active": f"{src}: soma {soma.name} energy_access_neuron + energy_update_neuron",
        "spike": f"{src}: soma {soma.name} energy_spike_out",
        "packet_send": f"{src}: axon_out {aout.name} energy_message_out",
        "io_packet": f"{src}: axon_out {aout.name} energy_message_out (input neurons' messages)",
        "packet_receive": f"{src}: axon_in {ain.name} energy_message_in",
        "synaptic_op": f"{src}: synapse {syn.name} energy_process_spike",
        "synapse_read": "SANA-FE charges per synapse (synaptic_op); no separate read",
        "flit_hop_east_west": f"{src}: tile energy_east_hop / energy_west_hop",
        "flit_hop_north_south": f"{src}: tile energy_north_hop / energy_south_hop",
        "local_delivery": "SANA-FE has no within-tile delivery cost",
        "barrier": "SANA-FE charges no energy for the barrier",
        "multicast_replication": "SANA-FE architectures are imported with unicast routing (no replications)",
        "routing_table_lookup": "SANA-FE architectures are imported with unicast routing (no table look-ups)",
    }
    t = dict(
        neuron_update_active_cycles=cycles(cm["latency_access_neuron"] + cm["latency_update_neuron"],
                                           "soma latency_access_neuron + latency_update_neuron"),
        neuron_update_idle_cycles=cycles(cm["latency_access_neuron"], "soma latency_access_neuron"),
        spike_send_cycles=cycles(co.get("latency_message_out", 0.0), "axon_out latency_message_out"),
        io_packet_cycles=cycles(co.get("latency_message_out", 0.0), "axon_out latency_message_out"),
        hop_east_west_cycles=cycles(hop[("east_west", "latency")], "tile east/west hop latency"),
        hop_north_south_cycles=cycles(hop[("north_south", "latency")], "tile north/south hop latency"),
        local_delivery_cycles=0,
        packet_receive_cycles=cycles(ci.get("latency_message_in", 0.0), "axon_in latency_message_in"),
        synapse_read_cycles=cycles(cs.get("latency_process_spike", 0.0), "synapse latency_process_spike"),
    )
    tsrc = {k: f"{src} (see nmsim.validate.sanafe_import)" for k in t}
    tsrc["local_delivery_cycles"] = "SANA-FE has no within-tile delivery latency"
    sync = arch.sync_seconds(tiles_in_use)
    bar = cycles(sync, "latency_sync")
    if arch.sync_model == "table":
        notes.add(f"sync_model table: {tiles_in_use if tiles_in_use is not None else arch.width * arch.height} tile(s) "
                  f"in use -> latency_sync {sync * 1e9:g} ns (entry of the largest key <= tiles in use)")
    io_x, io_y = arch.tile_xy(io_tile)
    n_cores = arch.width * arch.height * arch.cores_per_tile
    idx_bits = max(1, math.ceil(math.log2(max(arch.max_neurons, 2))))
    a = "assumption: SANA-FE does not model this; generous value so no network is refused"
    # Built directly, not through nmsim.describe.chip.parse_chip (which reads chip TOML documents); ChipSpec runs
    # the engine-limit checks (nmsim.describe.limits.check) on construction, so an unrunnable import is refused.
    return ChipSpec(
        name=f"sanafe-{arch.name}", description=f"imported from SANA-FE architecture {path}", path=path,
        schema_version=1,
        clock=ClockSpec(frequency_hz=float(clock_hz),
                        sources=MappingProxyType({"frequency_hz": "import clock: SI latencies -> integer cycles"})),
        mesh=MeshSpec(width=arch.width, height=arch.height, cores_per_router=arch.cores_per_tile, io_router_x=io_x,
                      io_router_y=io_y, n_cores=n_cores,
                      sources=MappingProxyType({"width": src, "height": src, "cores_per_router": src,
                                                "io_router_x": "tile of the input neurons", "io_router_y":
                                                "tile of the input neurons", "n_cores": src})),
        core=CoreSpec(max_neurons=arch.max_neurons, synapse_memory_bytes=1 << 24, weight_bits=24,
                      synapse_index_bits=idx_bits, row_pointer_bits=32, synapses_per_read=1, n_accumulators=1,
                      max_fan_in_axons=1 << 24,
                      sources=MappingProxyType({"max_neurons": f"{src}: max_neurons_supported", "synapse_memory_bytes": a,
                                                "weight_bits": a, "synapse_index_bits": a, "row_pointer_bits": a,
                                                "synapses_per_read": "SANA-FE charges per synapse",
                                                "n_accumulators": src, "max_fan_in_axons": a})),
        noc=NocSpec(link_width_bits=32, header_bits=31, payload_bits=1, router_buffer_packets=arch.link_buffer_size,
                    sources=MappingProxyType({"link_width_bits": "one flit per message (SANA-FE charges per message hop)",
                                              "header_bits": "one flit per message", "payload_bits": "binary spikes",
                                              "router_buffer_packets": f"{src}: link_buffer_size"})),
        timing=TimingSpec(**t, sources=MappingProxyType(tsrc)),
        barrier=BarrierSpec(model="fixed", cycles=bar,
                            sources=MappingProxyType({"cycles": f"{src}: sync_model {arch.sync_model}, latency_sync"})),
        energy=EnergySpec(pj=MappingProxyType(e), sources=MappingProxyType(esrc)),
        static=StaticSpec(core_power_mw=0.0, sources=MappingProxyType({"core_power_mw": "SANA-FE models no static power"})),
    )


def import_arch(path: str | Path, **kwargs) -> ChipSpec:
    """SANA-FE architecture file -> nmsim :class:`ChipSpec` (see :func:`to_chip` for the options)."""
    return to_chip(parse_arch(path), **kwargs)


def check_dendrites(arch: SanafeArch, names=None) -> None:
    """Every dendrite unit in ``names`` (None: the default one) is a zero-cost plain accumulator."""
    if not arch.units.get("dendrite"):
        return
    for name in sorted(set(names)) if names else [None]:
        den = arch.unit("dendrite", name)
        cd = unit_costs(arch, den)
        for k in ("energy_update", "latency_update"):
            if cd.get(k, 0.0) != 0.0:
                raise ChipConfigError(f"{arch.path}: dendrite unit {den.name}: unsupported feature: non-zero {k} "
                                      f"(nmsim has no dendrite action)")
