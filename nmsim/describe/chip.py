"""Chip descriptions: a versioned TOML file resolved into frozen dataclasses.

Schema (``schema_version = 1``, documented key by key in ``docs/chip-description.md``)::

    schema_version = 1
    name = "test-2x2"                      # optional; defaults to the file stem
    description = "..."                    # optional free text
    energy_table = "other.toml"            # optional: take [energy] and [static] from this file
    [clock]   frequency_hz
    [mesh]    width, height, cores_per_router, io_router_x, io_router_y, n_cores (optional)
    [core]    max_neurons, synapse_memory_bytes, weight_bits, synapse_index_bits,
              row_pointer_bits, synapses_per_read, n_accumulators, max_fan_in_axons
    [noc]     link_width_bits, header_bits, payload_bits, router_buffer_packets,
              routing = "unicast" | "multicast" (optional), routing_table_entries (optional)
    [timing]  neuron_update_active_cycles ... synapse_read_cycles   (integer cycles)
    [barrier] model = "fixed" | "mesh"; cycles | base_cycles, per_hop_cycles
    [energy]  <action> = { pj = <float>, source = "<citation>" }   one per ACTIONS entry
    [static]  core_power_mw
    [replay.core], [replay.noc]   optional: values that replace [core]/[noc] entries when a
              workload needs graded events and several accumulators (the LM replay); each
              is a sourced assumption (``docs/replay.md``), applied only by
              :func:`load_chip_variant` (``replay_profile=True``)

Every number is written ``key = { value = <number>, source = "<citation>" }``
(energy entries use ``pj`` instead of ``value``): a number without a source is
rejected.  Every problem raises :class:`~nmsim.errors.ChipConfigError` with one
line ``<file>: <table>.<key>: <problem>``.
"""

from __future__ import annotations

import difflib
import math
import numbers
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from nmsim.describe.actions import ACTIONS, DEFAULT_PJ
from nmsim.describe.power_time import (OperatingPoints, PowerSpec, TimestepSpec, power_time_dict,
                                       resolve_power_time)
from nmsim.errors import ChipConfigError
from nmsim.paths import chips_dir

SCHEMA_VERSION = 1
BARRIER_MODELS = ("fixed", "mesh")

# Value kinds: "pos_int" (integer >= 1), "nonneg_int" (integer >= 0),
# "pos_num" (number > 0), "nonneg_num" (number >= 0).


def _sources_field():
    return field(default_factory=lambda: MappingProxyType({}), compare=False, repr=False)


@dataclass(frozen=True)
class ClockSpec:
    """``frequency_hz``: the clock all cycle counts refer to (may be a virtual clock)."""

    frequency_hz: float
    sources: Mapping[str, str] = _sources_field()
    KINDS = {"frequency_hz": "pos_num"}


@dataclass(frozen=True)
class MeshSpec:
    """2-D mesh of ``width x height`` routers with ``cores_per_router`` cores each.

    Cores are numbered router by router (``r = y * width + x``), ``n_cores`` of the
    ``width * height * cores_per_router`` slots are used (default: all), so any
    routers without cores are the last ones.  The host attaches to router
    ``(io_router_x, io_router_y)``.
    """

    width: int
    height: int
    cores_per_router: int
    io_router_x: int
    io_router_y: int
    n_cores: int
    sources: Mapping[str, str] = _sources_field()
    KINDS = {"width": "pos_int", "height": "pos_int", "cores_per_router": "pos_int",
             "io_router_x": "nonneg_int", "io_router_y": "nonneg_int", "n_cores": "pos_int"}
    OPTIONAL = ("n_cores",)

    @property
    def n_routers(self) -> int:
        return self.width * self.height

    @property
    def io_router(self) -> int:
        return self.io_router_y * self.width + self.io_router_x

    def router_of_core(self, core: int) -> int:
        return core // self.cores_per_router

    def router_xy(self, router: int) -> tuple[int, int]:
        return router % self.width, router // self.width


@dataclass(frozen=True)
class CoreSpec:
    """Capacities of one core (all cores are alike)."""

    max_neurons: int
    synapse_memory_bytes: int
    weight_bits: int
    synapse_index_bits: int
    row_pointer_bits: int
    synapses_per_read: int
    n_accumulators: int
    max_fan_in_axons: int
    sources: Mapping[str, str] = _sources_field()
    KINDS = {"max_neurons": "pos_int", "synapse_memory_bytes": "pos_int", "weight_bits": "pos_int",
             "synapse_index_bits": "pos_int", "row_pointer_bits": "pos_int",
             "synapses_per_read": "pos_int", "n_accumulators": "pos_int", "max_fan_in_axons": "pos_int"}

    @property
    def synapse_bits(self) -> int:
        """Bits of one stored synapse: weight + target index."""
        return self.weight_bits + self.synapse_index_bits

    @property
    def weight_min(self) -> int:
        """Smallest storable weight (two's complement, ``weight_bits`` wide)."""
        return -(1 << (self.weight_bits - 1))

    @property
    def weight_max(self) -> int:
        return (1 << (self.weight_bits - 1)) - 1


#: Values of ``[noc].routing``.
ROUTING_MODES: tuple[str, ...] = ("unicast", "multicast")


@dataclass(frozen=True)
class NocSpec:
    """Network-on-chip packet format and buffering."""

    link_width_bits: int
    header_bits: int
    payload_bits: int
    router_buffer_packets: int
    #: ``"unicast"``: one packet per (source event, destination core), each on its XY path; ``"multicast"``: one
    #: packet per source event, replicated where its XY tree branches (``docs/engine-model.md`` §2.6).
    routing: str = "unicast"
    #: Routing-table entries per router (multicast only; 0 = no limit), checked when a model is compiled.
    routing_table_entries: int = 0
    #: Values one packet to the host carries (``docs/engine-model.md`` §2.2): a core's send unit packs the values
    #: of its firing to-host neurons (a readout's logits), ``k`` to a packet of
    #: :attr:`readout_flits_per_packet` flits.  1 (the default, every preset): one value per packet, like a spike.
    readout_values_per_packet: int = 1
    sources: Mapping[str, str] = _sources_field()
    KINDS = {"link_width_bits": "pos_int", "header_bits": "nonneg_int", "payload_bits": "pos_int",
             "router_buffer_packets": "pos_int", "routing_table_entries": "nonneg_int",
             "readout_values_per_packet": "pos_int"}
    CHOICES = {"routing": ROUTING_MODES}
    OPTIONAL = ("routing", "routing_table_entries", "readout_values_per_packet")
    #: Sources recorded when an optional key is left out (the defaults are visible in ``chip.json``).
    DEFAULT_SOURCES = {"routing": "default: unicast (no noc.routing in the chip file)",
                       "routing_table_entries": "default: 0 = no limit (no noc.routing_table_entries in the chip file)",
                       "readout_values_per_packet": "default: 1 = one value per packet to the host, as a spike "
                                                    "(no noc.readout_values_per_packet in the chip file)"}

    @property
    def multicast(self) -> bool:
        return self.routing == "multicast"

    @property
    def flits_per_packet(self) -> int:
        """``ceil((header_bits + payload_bits) / link_width_bits)``."""
        return -(-(self.header_bits + self.payload_bits) // self.link_width_bits)

    @property
    def readout_flits_per_packet(self) -> int:
        """Flits of a packet to the host: ``ceil((header_bits + readout_values_per_packet x payload_bits) /
        link_width_bits)`` (:attr:`flits_per_packet` when it carries one value)."""
        return -(-(self.header_bits + self.readout_values_per_packet * self.payload_bits) // self.link_width_bits)


@dataclass(frozen=True)
class TimingSpec:
    """Latencies and occupancies in integer cycles (semantics: ``docs/engine-model.md`` §2)."""

    neuron_update_active_cycles: int
    neuron_update_idle_cycles: int
    spike_send_cycles: int
    io_packet_cycles: int
    hop_east_west_cycles: int
    hop_north_south_cycles: int
    local_delivery_cycles: int
    packet_receive_cycles: int
    synapse_read_cycles: int
    sources: Mapping[str, str] = _sources_field()
    KINDS = {k: "nonneg_int" for k in __annotations__ if k != "sources"}  # every field above


#: The ``[timing]`` keys of a chip description, in field order: the one list (``TIMING_FIELDS`` derives from it).
TIMING_KEYS: tuple[str, ...] = tuple(TimingSpec.KINDS)


@dataclass(frozen=True)
class BarrierSpec:
    """End-of-timestep barrier: ``fixed`` (``cycles``) or ``mesh``
    (``base_cycles + per_hop_cycles * (width - 1 + height - 1)``)."""

    model: str
    cycles: int = 0
    base_cycles: int = 0
    per_hop_cycles: int = 0
    sources: Mapping[str, str] = _sources_field()
    KINDS = {"cycles": "nonneg_int", "base_cycles": "nonneg_int", "per_hop_cycles": "nonneg_int"}

    def resolve_cycles(self, mesh: MeshSpec) -> int:
        if self.model == "fixed":
            return self.cycles
        return self.base_cycles + self.per_hop_cycles * (mesh.width - 1 + mesh.height - 1)


@dataclass(frozen=True)
class EnergySpec:
    """Energy per action in pJ, one entry per :data:`~nmsim.describe.actions.ACTIONS` name."""

    pj: Mapping[str, float]
    sources: Mapping[str, str] = _sources_field()

    def vector_pj(self) -> tuple[float, ...]:
        """Energies in ``ACTIONS`` order (pJ)."""
        return tuple(self.pj[a] if a in self.pj else DEFAULT_PJ[a][0] for a in ACTIONS)


@dataclass(frozen=True)
class StaticSpec:
    """Static (leakage + clock) power per core in mW."""

    core_power_mw: float
    sources: Mapping[str, str] = _sources_field()
    KINDS = {"core_power_mw": "nonneg_num"}



@dataclass(frozen=True)
class ChipSpec:
    """A fully resolved chip description.  Derived values are properties."""

    name: str
    description: str
    path: str
    schema_version: int
    clock: ClockSpec
    mesh: MeshSpec
    core: CoreSpec
    noc: NocSpec
    timing: TimingSpec
    barrier: BarrierSpec
    energy: EnergySpec
    static: StaticSpec
    power: PowerSpec | None = None          #: ``None``: no ``[power]`` table (see :attr:`power_states`)
    timestep: TimestepSpec = field(default_factory=TimestepSpec)
    operating_points: OperatingPoints | None = None
    #: a board of chips seen as this one wide chip (``nmsim.describe.system.board_chip``): the geometry of
    #: :meth:`nmsim.describe.system.SystemSpec.geometry`; ``None`` for a single chip
    board: Mapping[str, int] | None = None

    @property
    def power_states(self) -> PowerSpec:
        """``[power]``, or without one: every core pays ``core_power_mw`` always (idle = in use)."""
        if self.power is not None:
            return self.power
        return PowerSpec(idle_core_mw=self.static.core_power_mw, sources=MappingProxyType({
            "idle_core_mw": "no [power] table: idle cores pay static.core_power_mw",
            "gated_core_mw": "no [power] table", "chip_mw": "no [power] table",
            "unused_cores": "no [power] table: unused cores stay on",
            "idle_step_gating": "no [power] table"}))

    def __post_init__(self) -> None:
        validate(self)

    @property
    def n_cores(self) -> int:
        return self.mesh.n_cores

    @property
    def flits_per_packet(self) -> int:
        return self.noc.flits_per_packet

    @property
    def readout_flits_per_packet(self) -> int:
        return self.noc.readout_flits_per_packet

    @property
    def barrier_cycles(self) -> int:
        return self.barrier.resolve_cycles(self.mesh)

    def timing_cycles(self) -> dict[str, int]:
        """Every ``TIMING_FIELDS`` entry of ``nmsim.compile.compiled``, resolved."""
        out = {k: getattr(self.timing, k) for k in TIMING_KEYS}
        out["synapses_per_read"] = self.core.synapses_per_read
        out["flits_per_packet"] = self.flits_per_packet
        out["readout_values_per_packet"] = self.noc.readout_values_per_packet
        out["readout_flits_per_packet"] = self.readout_flits_per_packet
        out["router_buffer_packets"] = self.noc.router_buffer_packets
        out["barrier_cycles"] = self.barrier_cycles
        return out

    def to_dict(self) -> dict[str, Any]:
        """Resolved description, every number as ``{"value", "source"}`` (energies ``pj``)."""
        out: dict[str, Any] = {"schema_version": self.schema_version, "name": self.name,
                               "description": self.description, "path": self.path}
        for sec in ("clock", "mesh", "core", "noc", "timing", "barrier", "static"):
            spec = getattr(self, sec)
            tbl: dict[str, Any] = {}
            for f in fields(spec):
                if f.name == "sources":
                    continue
                v = getattr(spec, f.name)
                if f.name in spec.sources:
                    tbl[f.name] = {"value": v, "source": spec.sources[f.name]}
                elif f.name == "model":
                    tbl[f.name] = v
            out[sec] = tbl
        out["energy"] = {a: {"pj": self.energy.vector_pj()[i],
                             "source": self.energy.sources.get(a, DEFAULT_PJ.get(a, (0, ""))[1])}
                         for i, a in enumerate(ACTIONS)}
        out.update(power_time_dict(self))
        out["derived"] = {
            "n_routers": self.mesh.n_routers, "n_cores": self.n_cores, "io_router": self.mesh.io_router,
            "flits_per_packet": self.flits_per_packet, "readout_flits_per_packet": self.readout_flits_per_packet,
            "barrier_cycles": self.barrier_cycles,
            "cycle_ns": 1e9 / self.clock.frequency_hz,
        }
        if self.board is not None:
            out["board"] = dict(self.board)
        return out


# --------------------------------------------------------------------------- loading


class ChipValueError(ChipConfigError):
    """A chip value is out of range; ``where`` is ``table.key`` (or a table), ``problem`` the rest."""

    def __init__(self, message: str, where: str, problem: str):
        super().__init__(message)
        self.where, self.problem = where, problem


class _Ctx:
    """Error helper: every message is one line naming the file and ``table.key``.

    ``blame``: ``{"table.key": label}`` of values that came from an override (``--set``); a
    problem with one of them names the override instead of the file."""

    def __init__(self, path: str, blame: Mapping[str, str] | None = None):
        self.path = path
        self.blame = dict(blame or {})

    def fail(self, where: str, problem: str):
        if where in self.blame:
            raise ChipValueError(f"{self.blame[where]}: {problem}", where, problem)
        table = [label for key, label in self.blame.items() if key.split(".")[0] == where.split(".")[0]]
        if table:
            raise ChipValueError(f"{' '.join(table)}: {where}: {problem}", where, problem)
        raise ChipValueError(f"{self.path}: {where}: {problem}", where, problem)

    def unknown(self, where: str, key: str, allowed) -> None:
        close = difflib.get_close_matches(key, list(allowed), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(sorted(allowed))}"
        self.fail(f"{where}.{key}" if where else key, f"unknown key{hint}")


def _check_number(ctx: _Ctx, where: str, v: Any, kind: str):
    if isinstance(v, bool) or not isinstance(v, (numbers.Integral, numbers.Real)):
        ctx.fail(where, f"expected a number, got {type(v).__name__} {v!r}")
    if kind.endswith("_int") and not isinstance(v, numbers.Integral):
        ctx.fail(where, f"expected an integer, got {v!r}")
    if isinstance(v, float) and not math.isfinite(v):
        ctx.fail(where, f"must be finite, got {v!r}")
    if kind.startswith("pos") and v <= 0:
        ctx.fail(where, f"must be positive, got {v!r}")
    if kind.startswith("nonneg") and v < 0:
        ctx.fail(where, f"must not be negative, got {v!r}")
    return float(v) if kind.endswith("_num") else v


def _sourced(ctx: _Ctx, where: str, raw: Any, kind: str, value_key: str = "value"):
    """Parse ``{ value = <number>, source = "<citation>" }`` -> (number, source)."""
    if not isinstance(raw, dict):
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            ctx.fail(where, f"number {raw!r} has no source; write {{ {value_key} = {raw!r}, source = \"...\" }}")
        ctx.fail(where, f"expected {{ {value_key} = <number>, source = \"...\" }}, got {type(raw).__name__} {raw!r}")
    for k in raw:
        if k not in (value_key, "source", "range"):
            ctx.unknown(where, k, (value_key, "source", "range"))
    if value_key not in raw:
        ctx.fail(where, f"missing {value_key!r}")
    src = raw.get("source")
    if not isinstance(src, str) or not src.strip():
        ctx.fail(where, "missing source: every number needs a non-empty 'source' string")
    v = _check_number(ctx, where, raw[value_key], kind)
    if "range" in raw:
        _check_range(ctx, where, raw["range"], v, kind)
    return v, src.strip()


def _check_range(ctx: _Ctx, where: str, rng: Any, v, kind: str) -> None:
    """An optional ``range = [lo, hi]`` (the span a sensitivity study varies the value over):
    two numbers of the value's kind with ``lo <= value <= hi``."""
    if not isinstance(rng, list) or len(rng) != 2:
        ctx.fail(where, f"range must be [lo, hi], got {rng!r}")
    lo, hi = (_check_number(ctx, where + ".range", x, kind) for x in rng)
    if not lo <= v <= hi:
        ctx.fail(where, f"range [{rng[0]}, {rng[1]}] must hold the value {v!r} (lo <= value <= hi)")


def _table(ctx: _Ctx, doc: dict, name: str) -> dict:
    if name not in doc:
        ctx.fail(name, "missing table")
    if not isinstance(doc[name], dict):
        ctx.fail(name, f"expected a table, got {type(doc[name]).__name__}")
    return doc[name]


def _section(ctx: _Ctx, doc: dict, name: str, cls, extra: dict | None = None):
    tbl = _table(ctx, doc, name)
    kinds = cls.KINDS
    optional = getattr(cls, "OPTIONAL", ())
    for k in tbl:
        if k not in kinds:
            ctx.unknown(name, k, kinds)
    values, sources = {}, {}
    for k, kind in kinds.items():
        if k not in tbl:
            if k in optional:
                continue
            ctx.fail(f"{name}.{k}", "missing key")
        values[k], sources[k] = _sourced(ctx, f"{name}.{k}", tbl[k], kind)
    values.update(extra or {})
    return values, MappingProxyType(sources)


def _noc(ctx: _Ctx, doc: dict) -> NocSpec:
    """``[noc]``: numbers, the ``routing`` choice; optional keys take :attr:`NocSpec.DEFAULT_SOURCES`."""
    from nmsim.describe.power_time import _typed

    _table(ctx, doc, "noc")
    values, sources = _typed(ctx, doc, "noc", NocSpec)
    for k, src in NocSpec.DEFAULT_SOURCES.items():
        sources.setdefault(k, src)
    return NocSpec(sources=MappingProxyType(sources), **values)


def _barrier(ctx: _Ctx, doc: dict) -> BarrierSpec:
    tbl = _table(ctx, doc, "barrier")
    model = tbl.get("model")
    if model is None:
        ctx.fail("barrier.model", f"missing key; choices: {', '.join(BARRIER_MODELS)}")
    if model not in BARRIER_MODELS:
        ctx.fail("barrier.model", f"unknown model {model!r}; choices: {', '.join(BARRIER_MODELS)}")
    need = ("cycles",) if model == "fixed" else ("base_cycles", "per_hop_cycles")
    for k in tbl:
        if k != "model" and k not in need:
            ctx.unknown("barrier", k, ("model",) + need)
    values, sources = {}, {}
    for k in need:
        if k not in tbl:
            ctx.fail(f"barrier.{k}", f"missing key (required by model {model!r})")
        values[k], sources[k] = _sourced(ctx, f"barrier.{k}", tbl[k], "nonneg_int")
    return BarrierSpec(model=model, sources=MappingProxyType(sources), **values)


def _energy(ctx: _Ctx, doc: dict) -> tuple[EnergySpec, StaticSpec]:
    tbl = _table(ctx, doc, "energy")
    for k in tbl:
        if k not in ACTIONS:
            ctx.unknown("energy", k, ACTIONS)
    pj, sources = {}, {}
    for a in ACTIONS:
        if a not in tbl and a in DEFAULT_PJ:
            pj[a], sources[a] = DEFAULT_PJ[a]
            continue
        if a not in tbl:
            ctx.fail(f"energy.{a}", "missing entry (one { pj = ..., source = ... } per action)")
        pj[a], sources[a] = _sourced(ctx, f"energy.{a}", tbl[a], "nonneg_num", value_key="pj")
    sv, ss = _section(ctx, doc, "static", StaticSpec)
    return (EnergySpec(pj=MappingProxyType(pj), sources=MappingProxyType(sources)),
            StaticSpec(sources=ss, **sv))


TOP_KEYS = ("schema_version", "name", "description", "energy_table",
            "clock", "mesh", "core", "noc", "timing", "barrier", "energy", "static", "replay",
            "power", "timestep", "operating_points", "operating_point")
#: Sections a ``[replay]`` profile may override.
REPLAY_SECTIONS = ("core", "noc")


def _read_toml(path: Path, shown: str) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ChipConfigError(f"{shown}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ChipConfigError(f"{shown}: TOML syntax error: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ChipConfigError(f"{shown}: not UTF-8 text: byte 0x{exc.object[exc.start]:02x} at offset {exc.start} "
                              "(TOML files must be UTF-8, comments included)") from None
    except IsADirectoryError:
        raise ChipConfigError(f"{shown}: is a directory, not a chip file") from None
    except OSError as exc:
        raise ChipConfigError(f"{shown}: cannot read: {exc.strerror}") from None


def _document_header(ctx: "_Ctx", doc: dict, top_keys, path) -> tuple[str, str]:
    """The checks every description file (chip or system) starts with: only ``top_keys`` at the top,
    ``schema_version`` = :data:`SCHEMA_VERSION`, string ``name`` (default: the file stem) and
    ``description``; returns ``(name, description)``."""
    for k in doc:
        if k not in top_keys:
            ctx.unknown("", k, top_keys)
    ver = doc.get("schema_version")
    if ver is None:
        ctx.fail("schema_version", f"missing key (this nmsim reads schema_version = {SCHEMA_VERSION})")
    if isinstance(ver, bool) or ver != SCHEMA_VERSION:
        ctx.fail("schema_version", f"unsupported version {ver!r}; this nmsim reads {SCHEMA_VERSION}")
    name, desc = doc.get("name", Path(str(path)).stem), doc.get("description", "")
    for key, v in (("name", name), ("description", desc)):
        if not isinstance(v, str):
            ctx.fail(key, f"expected a string, got {type(v).__name__} {v!r}")
    return name, desc


def parse_chip(doc: dict, path: str | Path = "<string>", blame: Mapping[str, str] | None = None) -> ChipSpec:
    """Resolve an already-parsed TOML document (``tomllib.loads``) into a :class:`ChipSpec`.

    Relative paths inside (``energy_table``) resolve against the directory of ``path``.
    ``blame``: ``{"table.key": label}`` of overridden values (see :class:`_Ctx`).
    """
    ctx = _Ctx(str(path), blame)
    name, desc = _document_header(ctx, doc, TOP_KEYS, path)

    _check_replay_profile(ctx, doc)
    clock = ClockSpec(**_with_sources(*_section(ctx, doc, "clock", ClockSpec)))
    mv, ms = _section(ctx, doc, "mesh", MeshSpec)
    slots = mv["width"] * mv["height"] * mv["cores_per_router"]
    mv.setdefault("n_cores", slots)
    if "n_cores" not in ms:
        ms = MappingProxyType({**ms, "n_cores": "derived: width x height x cores_per_router"})
    mesh = MeshSpec(sources=ms, **mv)
    core = CoreSpec(**_with_sources(*_section(ctx, doc, "core", CoreSpec)))
    noc = _noc(ctx, doc)
    timing = TimingSpec(**_with_sources(*_section(ctx, doc, "timing", TimingSpec)))
    barrier = _barrier(ctx, doc)

    if "energy_table" in doc:
        ref = doc["energy_table"]
        if not isinstance(ref, str):
            ctx.fail("energy_table", f"expected a path string, got {type(ref).__name__} {ref!r}")
        for sec in ("energy", "static"):
            if sec in doc:
                ctx.fail(sec, "given both inline and through energy_table; keep one")
        epath = (Path(str(path)).parent / ref)
        edoc = _read_toml(epath, str(epath))
        ectx = _Ctx(str(epath))
        for k in edoc:
            if k not in ("schema_version", "energy", "static"):
                ectx.unknown("", k, ("schema_version", "energy", "static"))
        if edoc.get("schema_version") != SCHEMA_VERSION:
            ectx.fail("schema_version", f"unsupported version {edoc.get('schema_version')!r}; this nmsim reads {SCHEMA_VERSION}")
        energy, static = _energy(ectx, edoc)
    else:
        energy, static = _energy(ctx, doc)

    try:
        chip = ChipSpec(name=name, description=desc, path=str(path), schema_version=SCHEMA_VERSION, clock=clock, mesh=mesh,
                        core=core, noc=noc, timing=timing, barrier=barrier, energy=energy, static=static)
        return resolve_power_time(ctx, doc, chip)
    except ChipValueError as exc:  # re-raised through ctx: a value from an override is blamed on it
        ctx.fail(exc.where, exc.problem)


#: Sections of a :class:`ChipSpec` whose values have ``KINDS``.
_SECTIONS = ("clock", "mesh", "core", "noc", "timing", "barrier", "static")


def validate(chip: "ChipSpec") -> None:
    """Every check of a resolved chip: value kinds, consistency between values and the engine
    limits of :mod:`nmsim.describe.limits`.  Run by ``ChipSpec`` itself, so every way of
    building one (loader, overrides, importers, ``dataclasses.replace``) is checked.
    Raises :class:`ChipValueError` (``<path>: <table>.<key>: <problem>``)."""
    from nmsim.describe import limits

    ctx = _Ctx(chip.path)
    for sec in _SECTIONS:
        spec = getattr(chip, sec)
        for k, kind in spec.KINDS.items():
            _check_number(ctx, f"{sec}.{k}", getattr(spec, k), kind)
    if chip.barrier.model not in BARRIER_MODELS:
        ctx.fail("barrier.model", f"unknown model {chip.barrier.model!r}; choices: {', '.join(BARRIER_MODELS)}")
    missing = [a for a in ACTIONS if a not in chip.energy.pj and a not in DEFAULT_PJ]
    if missing:
        ctx.fail(f"energy.{missing[0]}", "missing entry (one { pj = ..., source = ... } per action)")
    for a in ACTIONS:
        if a in chip.energy.pj:
            _check_number(ctx, f"energy.{a}", chip.energy.pj[a], "nonneg_num")
    mesh, core, noc = chip.mesh, chip.core, chip.noc
    slots = mesh.width * mesh.height * mesh.cores_per_router
    if mesh.n_cores > slots:
        ctx.fail("mesh.n_cores", f"{mesh.n_cores} cores do not fit {mesh.width} x {mesh.height} routers "
                 f"x {mesh.cores_per_router} cores = {slots}")
    if mesh.io_router_x >= mesh.width:
        ctx.fail("mesh.io_router_x", f"{mesh.io_router_x} is outside the mesh (width {mesh.width})")
    if mesh.io_router_y >= mesh.height:
        ctx.fail("mesh.io_router_y", f"{mesh.io_router_y} is outside the mesh (height {mesh.height})")
    for where, problem in limits.check(chip):
        ctx.fail(where, problem)
    if core.n_accumulators > 127:
        ctx.fail("core.n_accumulators", f"at most 127 accumulators per neuron (int8 index), got {core.n_accumulators}")
    if core.weight_bits > 32:
        ctx.fail("core.weight_bits", f"at most 32 bits (int32 weights), got {core.weight_bits}")
    if noc.routing not in ROUTING_MODES:
        ctx.fail("noc.routing", f"unknown value {noc.routing!r}; choices: {', '.join(ROUTING_MODES)}")
    if noc.readout_values_per_packet > 1 and noc.multicast:
        ctx.fail("noc.readout_values_per_packet", f"{noc.readout_values_per_packet} values per packet to the host "
                 "needs unicast routing (noc.routing = \"unicast\"); multicast packets carry one value")
    if noc.payload_bits > 63:
        ctx.fail("noc.payload_bits", f"at most 63 bits (int64 payloads), got {noc.payload_bits}")
    targets = core.max_neurons * core.n_accumulators
    if (1 << core.synapse_index_bits) < targets:
        ctx.fail("core.synapse_index_bits", f"{core.synapse_index_bits} bits address {1 << core.synapse_index_bits} "
                 f"targets, but max_neurons x n_accumulators = {targets}")
    max_syn = core.synapse_memory_bytes * 8 // core.synapse_bits
    if (1 << core.row_pointer_bits) <= max_syn:
        ctx.fail("core.row_pointer_bits", f"{core.row_pointer_bits} bits cannot point past {max_syn} synapses "
                 f"(synapse_memory_bytes x 8 / (weight_bits + synapse_index_bits))")


def _check_replay_profile(ctx: _Ctx, doc: dict) -> None:
    prof = doc.get("replay")
    if prof is None:
        return
    if not isinstance(prof, dict):
        ctx.fail("replay", f"expected a table, got {type(prof).__name__}")
    for sec, tbl in prof.items():
        if sec not in REPLAY_SECTIONS:
            ctx.unknown("replay", sec, REPLAY_SECTIONS)
        if not isinstance(tbl, dict):
            ctx.fail(f"replay.{sec}", f"expected a table, got {type(tbl).__name__}")
        kinds = {"core": CoreSpec, "noc": NocSpec}[sec].KINDS
        for k, raw in tbl.items():
            if k not in kinds:
                ctx.unknown(f"replay.{sec}", k, kinds)
            _sourced(ctx, f"replay.{sec}.{k}", raw, kinds[k])


def read_chip_doc(name_or_path: str | Path) -> tuple[dict, Path]:
    """The raw TOML document of a preset name or path, and its path."""
    path = chip_path(name_or_path)
    return _read_toml(path, str(path)), path


def load_chip_variant(name_or_path: str | Path, *, replay_profile: bool = False,
                      overrides: Mapping[str, Any] | None = None, override_option: str = "--set") -> ChipSpec:
    """Load a chip, optionally applying its ``[replay]`` profile and then ``overrides``.

    ``overrides``: ``{"<table>.<key>": value}`` (e.g. ``"timing.hop_east_west_cycles": 41``,
    ``"energy.synaptic_op": 20.0``, ``"barrier.base_cycles": 0``); each replaces the value (the
    source becomes ``"override"``).  A problem with an overridden value (unknown table or key,
    bad value, an engine limit) raises :class:`ChipConfigError` blamed on the override:
    ``<override_option> chip.<table>.<key>=<value>: <problem>``.
    """
    import copy

    doc, path = read_chip_doc(name_or_path)
    doc = copy.deepcopy(doc)
    if replay_profile and isinstance(doc.get("replay"), dict):
        for sec, tbl in doc["replay"].items():
            if isinstance(doc.get(sec), dict) and isinstance(tbl, dict):
                for k, raw in tbl.items():
                    doc[sec][k] = dict(raw, source=f"replay profile: {raw.get('source', '')}") \
                        if isinstance(raw, dict) else raw
    blame = {}
    for key, value in (overrides or {}).items():
        label = f"{override_option} chip.{key}={value}"
        if key == "operating_point":  # the one top-level setting (a point name)
            doc[key] = value
            blame[key] = label
            continue
        parts = str(key).split(".")
        if len(parts) != 2 or not all(parts):
            raise ChipConfigError(f"{label}: expected chip.<table>.<key>=<value>")
        sec, k = parts
        blame[f"{sec}.{k}"] = label
        if sec not in TOP_KEYS or sec in ("schema_version", "name", "description", "energy_table", "replay"):
            tables = [t for t in TOP_KEYS if t not in ("schema_version", "name", "description", "energy_table",
                                                       "replay")]
            _Ctx(str(path), {sec: label}).unknown("", sec, tables)
        tbl = doc.setdefault(sec, {})
        if sec == "barrier" and k == "model":
            tbl[k] = value
        elif sec == "energy":
            tbl[k] = {"pj": value, "source": "override"}
        else:
            tbl[k] = {"value": value, "source": "override"}
    return parse_chip(doc, path, blame)


def _with_sources(values: dict, sources) -> dict:
    return {**values, "sources": sources}


def list_chips() -> list[str]:
    """Names of the presets shipped in ``chips/`` (sorted)."""
    d = chips_dir()
    return sorted(p.stem for p in d.glob("*.toml") if not p.stem.endswith("-energy")) if d.is_dir() else []


def preset_path(name_or_path: str | Path, directory: Path, names: list[str], kind: str) -> Path:
    """A preset name -> ``directory/<name>.toml``; anything path-like (``.toml``, a ``/``, an existing
    file) is used as is.  An unknown name raises one line with the closest preset of this ``kind``."""
    s = str(name_or_path)
    p = Path(s)
    if s.endswith(".toml") or "/" in s or p.exists():
        return p
    cand = directory / f"{s}.toml"
    if not cand.exists():
        close = difflib.get_close_matches(s, names, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ChipConfigError(f"unknown {kind} {s!r}; {hint}presets: {', '.join(names) or '(none)'}")
    return cand


def chip_path(name_or_path: str | Path) -> Path:
    """A preset name (``loihi``) -> ``chips/loihi.toml``; anything path-like is used as is."""
    return preset_path(name_or_path, chips_dir(), list_chips(), "chip")


def load_chip(name_or_path: str | Path) -> ChipSpec:
    """Load a chip by preset name (looked up in ``chips/``) or by path to a TOML file."""
    if isinstance(name_or_path, ChipSpec):
        return name_or_path
    path = chip_path(name_or_path)
    return parse_chip(_read_toml(path, str(path)), path)
