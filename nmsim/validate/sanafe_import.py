"""Import SANA-FE architecture and SNN YAML files into nmsim (needs ``pyyaml`` only, not ``sanafe``).

SANA-FE (github.com/SLAM-Lab/SANA-FE, GPL-3.0) is used as an external program;
nothing here is derived from its code.  The formats read are those of its
``arch/README.md`` and ``snn/README.md``: an ``architecture`` with ``attributes``
(``topology``, ``width``, ``height``, ``link_buffer_size``, ``sync_model``,
``latency_sync``), ``tile`` entries (per-direction ``energy_/latency_*_hop``),
``core`` entries and the unit pipeline ``axon_in -> synapse -> dendrite -> soma
-> axon_out`` with per-event ``energy_*`` (J) / ``latency_*`` (s) attributes;
names may replicate with ``name[a..b]``.  An SNN file has ``network: {name,
groups, edges}`` and ``mappings``.

Mapping to nmsim (the full table is in ``docs/validation.md``):

=============================  ==========================================
SANA-FE attribute              nmsim
=============================  ==========================================
axon_in energy/latency_message_in     ``packet_receive`` pJ / ``packet_receive_cycles``
synapse energy/latency_process_spike  ``synaptic_op`` pJ / ``synapse_read_cycles`` (1 synapse per read)
dendrite energy/latency_update        must be 0 (nmsim has no dendrite action)
soma energy/latency_access_neuron     ``neuron_update_idle``; active = access + update_neuron
soma energy_spike_out                 ``spike`` pJ (latency_spike_out: no nmsim action, dropped with a note)
axon_out energy/latency_message_out   ``packet_send`` (and ``io_packet``) pJ / ``spike_send_cycles``
tile energy/latency_{east,west}_hop   ``flit_hop_east_west`` / ``hop_east_west_cycles`` (one flit per packet)
tile energy/latency_{north,south}_hop ``flit_hop_north_south`` / ``hop_north_south_cycles``
link_buffer_size                      ``router_buffer_packets``
sync_model fixed / table              fixed ``barrier`` cycles (table: entry of the largest key <= tiles in use)
=============================  ==========================================

Latencies become integer cycles of a chosen clock (default 10 GHz, 0.1 ns per
cycle), rounded to the nearest cycle; every inexact conversion is listed in the
import notes.  A feature nmsim cannot represent exactly raises
:class:`~nmsim.errors.ChipConfigError` (architecture) or
:class:`~nmsim.errors.NetworkError` (network) naming the feature.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import scipy.sparse as sp

from nmsim.describe.actions import ACTIONS
from nmsim.describe.chip import (BarrierSpec, ChipSpec, ClockSpec, CoreSpec, EnergySpec, MeshSpec, NocSpec,
                                 StaticSpec, TimingSpec)
from nmsim.describe.network import Network
from nmsim.errors import ChipConfigError, NetworkError

DEFAULT_CLOCK_HZ = 10e9
UNIT_KINDS = ("axon_in", "synapse", "dendrite", "soma", "axon_out")
HOPS = ("north", "east", "south", "west")

ARCH_KEYS = {"topology", "width", "height", "link_buffer_size", "sync_model", "latency_sync"}
TILE_KEYS = {f"{q}_{d}_hop" for q in ("energy", "latency") for d in HOPS}
CORE_KEYS = {"buffer_position", "buffer_inside_unit", "max_neurons_supported"}
LOG_KEYS = {"log_energy", "log_latency"}  # logging switches, no effect on the model
UNIT_KEYS = {
    "axon_in": {"energy_message_in", "latency_message_in"},
    "synapse": {"model", "energy_process_spike", "latency_process_spike"},
    "dendrite": {"model", "energy_update", "latency_update", "update_every_timestep"},
    "soma": {"model", "energy_access_neuron", "latency_access_neuron", "energy_update_neuron",
             "latency_update_neuron", "energy_spike_out", "latency_spike_out"},
    "axon_out": {"energy_message_out", "latency_message_out"},
}
UNIT_MODELS = {"synapse": ("current_based",), "dendrite": ("accumulator",),
               "soma": ("leaky_integrate_fire", "input")}
SOMA_COST_KEYS = ("energy_access_neuron", "latency_access_neuron", "energy_update_neuron",
                  "latency_update_neuron", "energy_spike_out", "latency_spike_out")

# SNN attributes nmsim reproduces (LIF soma), and those with no effect on the model
LIF_KEYS = {"threshold", "bias", "leak_decay", "reset_mode", "reset"}
NEURON_HW_KEYS = {"soma_hw_name", "synapse_hw_name", "dendrite_hw_name"}
NEURON_LOG_KEYS = {"log_spikes", "log_potential", "log_energy", "log_latency"}
NEURON_KEYS = LIF_KEYS | NEURON_HW_KEYS | NEURON_LOG_KEYS | {"spikes", "soma", "force_update",
                                                             "force_soma_update", "model"}
EDGE_KEYS = {"weight", "type", "synapse_hw_name", "synapse"}
MAP_KEYS = {"core", "soma", "synapse", "dendrite"}


# --------------------------------------------------------------------------- YAML


def _loader():
    try:
        import yaml
    except ImportError:  # pragma: no cover - pyyaml is in the test and compare extras
        raise ChipConfigError("reading SANA-FE YAML needs pyyaml: pip install 'nmsim[compare]'") from None

    class Loader(yaml.SafeLoader):
        """Safe loader that keeps floats as text: ``core: 0.10`` must stay tile 0, core 10."""

    Loader.yaml_implicit_resolvers = {k: [r for r in v if r[0] != "tag:yaml.org,2002:float"]
                                      for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    return yaml, Loader


def read_yaml(path: str | Path, err=ChipConfigError) -> dict:
    yaml, Loader = _loader()
    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.load(fh, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except FileNotFoundError:
        raise err(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise err(f"{path}: YAML syntax error: {str(exc).splitlines()[0]}") from None
    except UnicodeDecodeError as exc:
        raise err(f"{path}: not UTF-8 text: byte at offset {exc.start}") from None
    except OSError as exc:
        raise err(f"{path}: cannot read: {exc.strerror}") from None
    if not isinstance(doc, dict):
        raise err(f"{path}: expected a YAML mapping at the top level")
    return doc


def _num(v, what: str, err=ChipConfigError) -> float:
    if isinstance(v, bool):
        raise err(f"{what}: expected a number, got {v!r}")
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise err(f"{what}: expected a number, got {v!r}") from None
    if not math.isfinite(x):
        raise err(f"{what}: must be finite, got {v!r}")
    return x


def _attrs(raw, what: str, err) -> dict:
    """SANA-FE attribute lists ``[a: 1, b: 2]`` (a list of one-key mappings) or a mapping -> dict."""
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return dict(raw)
    if isinstance(raw, list):
        out = {}
        for item in raw:
            if not isinstance(item, dict):
                raise err(f"{what}: expected 'key: value' entries, got {item!r}")
            out.update(item)
        return out
    raise err(f"{what}: expected an attribute list or mapping, got {raw!r}")


_RANGE = re.compile(r"^(?P<base>.*)\[(?P<a>\d+)\.\.(?P<b>\d+)\]$")


def expand_name(name: str) -> list[str]:
    """``loihi_tile[0..2]`` -> ``["loihi_tile[0]", "loihi_tile[1]", "loihi_tile[2]"]``; plain names as is."""
    m = _RANGE.match(str(name))
    if not m:
        return [str(name)]
    a, b = int(m["a"]), int(m["b"])
    if b < a:
        raise ChipConfigError(f"name {name!r}: empty range {a}..{b}")
    return [f"{m['base']}[{i}]" for i in range(a, b + 1)]


def _index_range(text, what: str) -> list[int]:
    """``3`` or ``"0..4"`` -> neuron indices."""
    s = str(text).strip()
    if re.fullmatch(r"\d+", s):
        return [int(s)]
    m = re.fullmatch(r"(\d+)\.\.(\d+)", s)
    if not m or int(m[2]) < int(m[1]):
        raise NetworkError(f"{what}: expected a neuron index or range a..b, got {text!r}")
    return list(range(int(m[1]), int(m[2]) + 1))


# --------------------------------------------------------------------------- architecture


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

    def unit(self, kind: str, name: str | None) -> Unit:
        units = self.units.get(kind, ())
        if not units:
            raise ChipConfigError(f"{self.path}: core has no {kind} unit")
        if name is None:
            return units[0]
        for u in units:
            if u.name == name:
                return u
        raise ChipConfigError(f"{self.path}: no {kind} unit named {name!r}; units: "
                              f"{', '.join(u.name for u in units)}")

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


def _unit_costs(arch: SanafeArch, u: Unit) -> dict:
    path = arch.path
    allowed = UNIT_KEYS[u.kind] | LOG_KEYS
    for k in u.attributes:
        if k not in allowed:
            raise ChipConfigError(f"{path}: {u.kind} unit {u.name}: unsupported attribute {k!r} (nmsim reproduces "
                                  f"only {', '.join(sorted(UNIT_KEYS[u.kind]))})")
    if u.kind in UNIT_MODELS:
        model = u.attributes.get("model", UNIT_MODELS[u.kind][0])
        if model not in UNIT_MODELS[u.kind]:
            raise ChipConfigError(f"{path}: {u.kind} unit {u.name}: unsupported model {model!r} (nmsim reproduces "
                                  f"{' and '.join(UNIT_MODELS[u.kind])})")
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
            soma_unit: str | None = None, dendrite_unit: str | None = None, tiles_in_use: int | None = None,
            hop_directions: set | None = None, io_tile: int = 0, notes: ImportNotes | None = None) -> ChipSpec:
    """An nmsim :class:`ChipSpec` from a parsed architecture.

    ``synapse_unit`` / ``soma_unit`` / ``dendrite_unit``: the unit whose costs become the chip's (default:
    the first one of its kind; SANA-FE's default too).  ``tiles_in_use``: selects the ``latency_sync``
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
    cs, cm, ci, co = (_unit_costs(arch, u) for u in (syn, soma, ain, aout))
    if arch.units.get("dendrite"):
        den = arch.unit("dendrite", dendrite_unit)
        cd = _unit_costs(arch, den)
        for k in ("energy_update", "latency_update"):
            if cd.get(k, 0.0) != 0.0:
                raise ChipConfigError(f"{path}: dendrite unit {den.name}: unsupported feature: non-zero {k} "
                                      f"(nmsim has no dendrite action)")
    for k in SOMA_COST_KEYS:
        if k not in cm:
            raise ChipConfigError(f"{path}: soma unit {soma.name}: missing {k}")
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


# --------------------------------------------------------------------------- network


@dataclass
class SanafeNet:
    """A SANA-FE SNN imported into nmsim, with what is needed to run it the same way."""

    network: Network
    chip: ChipSpec
    core_of: dict  # nmsim population -> int[n] cores (LIF populations only)
    inputs: dict  # input population -> int64[n_steps, n] spikes (0/1); n_steps = longest spike list
    n_input_steps: int
    groups: dict  # SANA-FE group name -> (nmsim population, kind "lif" | "input")
    logged: dict  # group -> bool[n]: neurons with log_spikes (SANA-FE's spike trace shows only those)
    tiles_in_use: int
    notes: ImportNotes
    arch: SanafeArch

    def input_array(self, n_steps: int) -> dict:
        out = {}
        for pop, arr in self.inputs.items():
            full = np.zeros((n_steps, arr.shape[1]), np.int64)
            k = min(n_steps, arr.shape[0])
            full[:k] = arr[:k]
            out[pop] = full
        return out


def _pop_name(group: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_-]", "_", str(group))
    return s if s and s[0].isalpha() else f"g{s}"


def _split_ref(ref: str, groups: dict, what: str) -> tuple[str, list[int]]:
    """``group``, ``group.3`` or ``group.0..4`` -> (group, indices)."""
    s = str(ref).strip()
    if s in groups:
        return s, list(range(groups[s]))
    g, dot, rest = s.partition(".")
    while dot and g not in groups:  # group names may contain dots
        g2, dot, rest2 = rest.partition(".")
        g, rest = f"{g}.{g2}", rest2
    if g not in groups:
        raise NetworkError(f"{what}: unknown neuron group in {ref!r}")
    if "." in rest and not re.fullmatch(r"\d+\.\.\d+", rest):
        raise NetworkError(f"{what}: unsupported feature: dendrite compartment address {ref!r}")
    idx = _index_range(rest, what)
    if idx[-1] >= groups[g]:
        raise NetworkError(f"{what}: neuron {ref!r} outside group {g!r} of {groups[g]} neurons")
    return g, idx


def import_snn(snn_path: str | Path, arch_path: str | Path, *, clock_hz: float = DEFAULT_CLOCK_HZ) -> SanafeNet:
    """SANA-FE SNN file + its architecture file -> nmsim network, chip, placement and inputs.

    The chip's costs are those of the units the network uses (all LIF neurons must use units with
    the same costs; input neurons must sit on zero-cost ``input`` somas on one tile, where the nmsim
    host then attaches).
    """
    snn_path, arch_path = str(snn_path), str(arch_path)
    arch = parse_arch(arch_path)
    notes = ImportNotes()
    doc = read_yaml(snn_path, NetworkError)
    P = snn_path
    if "network" not in doc:
        raise NetworkError(f"{P}: missing 'network' section")
    for k in doc:
        if k not in ("network", "mappings"):
            raise NetworkError(f"{P}: unsupported section {k!r}")
    nd = doc["network"] or {}
    for k in nd:
        if k not in ("name", "groups", "edges"):
            raise NetworkError(f"{P}: network.{k}: unsupported section")
    groups_raw = nd.get("groups") or []
    sizes, gattrs, nattrs = {}, {}, {}
    for g in groups_raw:
        if not isinstance(g, dict) or "name" not in g:
            raise NetworkError(f"{P}: network.groups: every group needs a name")
        gname = str(g["name"])
        for k in g:
            if k not in ("name", "attributes", "neurons"):
                raise NetworkError(f"{P}: group {gname}: unsupported key {k!r}")
        if gname in sizes:
            raise NetworkError(f"{P}: group {gname}: defined twice")
        ga = _attrs(g.get("attributes"), f"{P}: group {gname} attributes", NetworkError)
        per = {}
        for entry in g.get("neurons") or []:
            if not isinstance(entry, dict) or len(entry) != 1:
                raise NetworkError(f"{P}: group {gname}: neurons entries are 'index: [attributes]'")
            (key, val), = entry.items()
            for i in _index_range(key, f"{P}: group {gname}"):
                if i in per:
                    raise NetworkError(f"{P}: group {gname}: neuron {i} defined twice")
                per[i] = _attrs(val, f"{P}: group {gname} neuron {i}", NetworkError)
        n = max(per) + 1 if per else 0
        if n == 0 or sorted(per) != list(range(n)):
            raise NetworkError(f"{P}: group {gname}: neurons must be numbered 0..n-1 without gaps")
        sizes[gname], gattrs[gname], nattrs[gname] = n, ga, per

    def merged(gname, i) -> dict:
        a = dict(gattrs[gname])
        a.update(nattrs[gname][i])
        for k in ("soma",):  # nested unit-specific attributes of the SNN format: [soma: {threshold: 2}]
            if k in a:
                inner = a.pop(k)
                if not isinstance(inner, dict):
                    raise NetworkError(f"{P}: {gname}.{i}: soma: expected a mapping of attributes")
                a = {**a, **inner}
        for k in a:
            if k not in NEURON_KEYS:
                raise NetworkError(f"{P}: {gname}.{i}: unsupported neuron attribute {k!r}")
        return a

    # mappings
    where = {g: [None] * n for g, n in sizes.items()}
    soma_hw = {g: [None] * n for g, n in sizes.items()}
    syn_hw_map = {g: [None] * n for g, n in sizes.items()}
    for m in doc.get("mappings") or []:
        if not isinstance(m, dict) or len(m) != 1:
            raise NetworkError(f"{P}: mappings: entries are 'group.index: [core: tile.core]'")
        (ref, val), = m.items()
        g, idx = _split_ref(ref, sizes, f"{P}: mappings")
        ma = _attrs(val, f"{P}: mappings {ref}", NetworkError)
        for k in ma:
            if k not in MAP_KEYS:
                raise NetworkError(f"{P}: mappings {ref}: unsupported mapping attribute {k!r}")
        if "dendrite" in ma:
            raise NetworkError(f"{P}: mappings {ref}: unsupported feature: per-neuron dendrite unit")
        cs = str(ma.get("core", ""))
        mm = re.fullmatch(r"(\d+)\.(\d+)", cs)
        if not mm:
            raise NetworkError(f"{P}: mappings {ref}: core must be 'tile.core', got {cs!r}")
        tile, core = int(mm[1]), int(mm[2])
        if tile >= arch.width * arch.height or core >= arch.cores_per_tile:
            raise NetworkError(f"{P}: mappings {ref}: core {cs} does not exist in {arch.path}")
        for i in idx:
            where[g][i] = (tile, core)
            if "soma" in ma:
                soma_hw[g][i] = str(ma["soma"])
            if "synapse" in ma:
                syn_hw_map[g][i] = str(ma["synapse"])
    for g in sizes:
        missing = [i for i in range(sizes[g]) if where[g][i] is None]
        if missing:
            raise NetworkError(f"{P}: neuron {g}.{missing[0]} is not mapped to a core")

    # classify neurons: input (model input / input soma) or LIF
    kind, attrs = {}, {}
    lif_somas, input_tiles = set(), set()
    for g, n in sizes.items():
        ks = []
        attrs[g] = [merged(g, i) for i in range(n)]
        for i in range(n):
            a = attrs[g][i]
            hwname = soma_hw[g][i] or a.get("soma_hw_name")
            unit = arch.unit("soma", hwname)
            model = unit.model or "leaky_integrate_fire"
            if a.get("model") not in (None, model):
                raise NetworkError(f"{P}: {g}.{i}: unsupported feature: neuron model {a['model']!r}")
            if model == "input":
                c = _unit_costs(arch, unit)
                if any(c.get(k, 0.0) for k in SOMA_COST_KEYS):
                    raise ChipConfigError(f"{arch.path}: soma unit {unit.name}: unsupported feature: input soma "
                                          f"with non-zero costs (nmsim's host inputs cost nothing but the message)")
                bad = set(a) - NEURON_HW_KEYS - NEURON_LOG_KEYS - {"spikes"}
                if bad:
                    raise NetworkError(f"{P}: {g}.{i}: unsupported attribute {sorted(bad)[0]!r} on an input neuron")
                input_tiles.add(where[g][i][0])
                ks.append("input")
            else:
                if model != "leaky_integrate_fire":
                    raise ChipConfigError(f"{arch.path}: soma unit {unit.name}: unsupported model {model!r}")
                if "spikes" in a:
                    raise NetworkError(f"{P}: {g}.{i}: 'spikes' given for a neuron on LIF soma {unit.name}")
                lif_somas.add(unit.name)
                ks.append("lif")
        if len(set(ks)) > 1:
            raise NetworkError(f"{P}: group {g}: mixes input and LIF neurons; nmsim needs one kind per group")
        kind[g] = ks[0]
    if len(input_tiles) > 1:
        raise NetworkError(f"{P}: input neurons mapped to tiles {sorted(input_tiles)}: nmsim's host (which owns "
                           f"input neurons) attaches to one router; map every input neuron to one tile")

    # edges
    edges = []  # (src group, src idx, dst group, dst idx, weight, synapse unit)
    for e in nd.get("edges") or []:
        if not isinstance(e, dict) or len(e) != 1:
            raise NetworkError(f"{P}: edges: entries are 'a.i -> b.j: [weight: w]'")
        (text, val), = e.items()
        ea = _attrs(val, f"{P}: edge {text}", NetworkError)
        for k in ea:
            if k not in EDGE_KEYS:
                raise NetworkError(f"{P}: edge {text}: unsupported edge attribute {k!r}")
        if "synapse" in ea:
            inner = ea.pop("synapse")
            if not isinstance(inner, dict):
                raise NetworkError(f"{P}: edge {text}: synapse: expected a mapping")
            for k in inner:
                if k not in ("weight",):
                    raise NetworkError(f"{P}: edge {text}: unsupported synapse attribute {k!r}")
            ea.update(inner)
        parts = str(text).split("->")
        if len(parts) != 2:
            raise NetworkError(f"{P}: edge {text!r}: expected 'source -> target'")
        sg, si = _split_ref(parts[0], sizes, f"{P}: edge {text}")
        dg, di = _split_ref(parts[1], sizes, f"{P}: edge {text}")
        etype = ea.get("type", "sparse" if ("." in parts[0] or "." in parts[1]) else "dense")
        if etype not in ("dense", "sparse"):
            raise NetworkError(f"{P}: edge {text}: unsupported connection type {etype!r} (e.g. conv2d)")
        if kind[dg] == "input":
            raise NetworkError(f"{P}: edge {text}: targets input neurons")
        w = ea.get("weight", 1.0)
        if etype != "dense" and len(si) > 1 and len(di) > 1:
            raise NetworkError(f"{P}: edge {text}: unsupported feature: range-to-range {etype} edge (write "
                               f"'type: dense' with one weight per pair, or single neurons)")
        pairs = [(a, b) for a in si for b in di]
        ws = w if isinstance(w, list) else [w] * len(pairs)
        if len(ws) != len(pairs):
            raise NetworkError(f"{P}: edge {text}: {len(ws)} weights for {len(pairs)} synapses")
        hw = ea.get("synapse_hw_name")
        for (a, b), wv in zip(pairs, ws):
            x = _num(wv, f"{P}: edge {text}: weight", NetworkError)
            if x != round(x):
                raise NetworkError(f"{P}: edge {text}: unsupported feature: non-integer weight {x:g} (nmsim weights "
                                   f"are integers)")
            if x == 0:
                raise NetworkError(f"{P}: edge {text}: zero weight: SANA-FE counts a synaptic event for it, nmsim "
                                   f"stores no synapse")
            h = hw or syn_hw_map[dg][b] or attrs[dg][b].get("synapse_hw_name")
            edges.append((sg, a, dg, b, int(x), h))

    # synapse unit(s) in use: costs must agree
    used_syn = {h for *_, h in edges}
    syn_units = {arch.unit("synapse", h).name for h in used_syn} if edges else {arch.unit("synapse", None).name}
    costs = {tuple(sorted(_unit_costs(arch, arch.unit("synapse", s)).items())) for s in syn_units}
    if len(costs) > 1:
        raise ChipConfigError(f"{arch.path}: synapse units {sorted(syn_units)} with different costs are used; nmsim "
                              f"has one synaptic-op cost per chip")
    som_costs = {tuple(sorted(_unit_costs(arch, arch.unit("soma", s)).items())) for s in lif_somas}
    if len(som_costs) > 1:
        raise ChipConfigError(f"{arch.path}: LIF soma units {sorted(lif_somas)} with different costs are used; nmsim "
                              f"has one neuron-update cost per chip")

    # duplicates
    seen = set()
    for sg, a, dg, b, *_ in edges:
        if (sg, a, dg, b) in seen:
            raise NetworkError(f"{P}: two edges {sg}.{a} -> {dg}.{b}: SANA-FE counts two synaptic events, nmsim "
                               f"merges them into one synapse")
        seen.add((sg, a, dg, b))

    # mesh directions used (for direction-dependent hop costs)
    dirs = set()
    for sg, a, dg, b, *_ in edges:
        (sx, sy), (dx, dy) = arch.tile_xy(where[sg][a][0]), arch.tile_xy(where[dg][b][0])
        if dx != sx:
            dirs.add("east" if dx > sx else "west")
        if dy != sy:
            dirs.add("north" if dy > sy else "south")
    tiles_used = len({where[g][i][0] for g in sizes for i in range(sizes[g])})
    chip = to_chip(arch, clock_hz=clock_hz, synapse_unit=sorted(syn_units)[0],
                   soma_unit=sorted(lif_somas)[0] if lif_somas else None, tiles_in_use=tiles_used,
                   hop_directions=dirs, io_tile=min(input_tiles) if input_tiles else 0, notes=notes)

    # nmsim network
    net = Network(_pop_name(nd.get("name", Path(P).stem)))
    groups, core_of, inputs, logged, n_in_steps = {}, {}, {}, {}, 0
    for g, n in sizes.items():
        pop = _pop_name(g)
        if pop in net.populations:
            raise NetworkError(f"{P}: group names {g!r} and another map to the same nmsim name {pop!r}")
        groups[g] = (pop, kind[g])
        logged[g] = np.array([bool(a.get("log_spikes", False)) for a in attrs[g]])
        if kind[g] == "input":
            net.add_input(pop, n)
            trains = [a.get("spikes") or [] for a in attrs[g]]
            for tr in trains:
                if not isinstance(tr, list):
                    raise NetworkError(f"{P}: group {g}: unsupported feature: spikes must be a list of 0/1 per step "
                                       f"(rate or Poisson inputs are not reproduced)")
            T = max((len(tr) for tr in trains), default=0)
            arr = np.zeros((T, n), np.int64)
            for i, tr in enumerate(trains):
                for t, v in enumerate(tr):
                    x = _num(v, f"{P}: {g}.{i} spikes", NetworkError)
                    if x not in (0.0, 1.0):
                        raise NetworkError(f"{P}: {g}.{i}: unsupported feature: spike value {x:g} (0 or 1 per step)")
                    arr[t, i] = int(x)
            inputs[pop] = arr
            n_in_steps = max(n_in_steps, T)
            continue
        thr, bias, decay, reset = [], [], [], []
        for i, a in enumerate(attrs[g]):
            what = f"{P}: {g}.{i}"
            if a.get("force_update") or a.get("force_soma_update"):
                raise NetworkError(f"{what}: unsupported feature: force_update (nmsim updates idle neurons at idle cost)")
            th = _num(a.get("threshold", 0.0), f"{what} threshold", NetworkError)
            bi = _num(a.get("bias", 0.0), f"{what} bias", NetworkError)
            for nm, x in (("threshold", th), ("bias", bi)):
                if x != round(x):
                    raise NetworkError(f"{what}: unsupported feature: non-integer {nm} {x:g} (integer and floating "
                                       f"arithmetic would differ)")
            lk = _num(a.get("leak_decay", 1.0), f"{what} leak_decay", NetworkError)
            if lk not in (0.0, 1.0):
                raise NetworkError(f"{what}: unsupported feature: leak_decay {lk:g} (fractional leak: SANA-FE's "
                                   f"floating leak differs from nmsim's 12-bit integer decay; use 0 or 1)")
            rs = _num(a.get("reset", 0.0), f"{what} reset", NetworkError)
            if rs != 0.0:
                raise NetworkError(f"{what}: unsupported feature: reset potential {rs:g} (nmsim resets to 0)")
            rm = str(a.get("reset_mode", "hard"))
            if rm not in ("hard", "soft"):
                raise NetworkError(f"{what}: unsupported feature: reset_mode {rm!r} (nmsim has hard and soft)")
            thr.append(int(th))
            bias.append(int(bi))
            decay.append(0 if lk == 1.0 else 4096)
            reset.append(1 if rm == "hard" else 0)
        net.add_lif(pop, n, threshold=np.array(thr), decay=np.array(decay), bias=np.array(bias),
                    reset=np.array(reset))
        core_of[pop] = np.array([arch.nmsim_core(*where[g][i]) for i in range(n)], np.int64)
    by_pair = {}
    for sg, a, dg, b, w, _ in edges:
        by_pair.setdefault((sg, dg), []).append((a, b, w))
    for (sg, dg), lst in by_pair.items():
        a, b, w = (np.array(x) for x in zip(*lst))
        W = sp.csr_matrix((w, (a, b)), shape=(sizes[sg], sizes[dg]))
        net.connect(groups[sg][0], groups[dg][0], W)
    return SanafeNet(network=net, chip=chip, core_of=core_of, inputs=inputs, n_input_steps=n_in_steps,
                     groups=groups, logged=logged, tiles_in_use=tiles_used, notes=notes, arch=arch)
