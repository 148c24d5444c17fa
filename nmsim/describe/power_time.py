"""Power states, operating points (DVFS) and timestep modes of a chip description.

The ``[power]``, ``[operating_points]`` and ``[timestep]`` tables of a chip file and the top-level
``operating_point`` key (``docs/power-and-time.md``, keys in ``docs/chip-description.md``).  All three
tables are optional; without them a chip behaves as before they existed (every core pays
``[static].core_power_mw`` all the time, one operating point, self-timed barrier steps).
:func:`resolve_power_time` parses them and resolves the description at the selected operating point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Mapping


def _sources_field():
    return field(default_factory=lambda: MappingProxyType({}), compare=False, repr=False)


UNUSED_CORES = ("on", "gated")
ON_OFF = ("off", "on")
TIMESTEP_MODES = ("barrier", "fixed")
OVERRUN_POLICIES = ("stretch", "violation")


@dataclass(frozen=True)
class PowerSpec:
    """Power states of the cores and chip-level static power (``docs/power-and-time.md``).

    ``[static].core_power_mw`` is a core that is powered and working (clocked); ``idle_core_mw`` a
    powered core with nothing to do (clock-gated); ``gated_core_mw`` a power-gated core (mW each).
    ``unused_cores``: ``"on"`` (cores holding no neurons stay powered, clock-gated) or ``"gated"``.
    ``idle_step_gating``: ``"on"`` power-gates an in-use core for every step in which it does no work;
    waking it costs ``wake_cycles`` (added to the step) and ``wake_pj``.  ``chip_mw``: chip-level
    static power (I/O, clocking, host interface), paid for the whole simulated time.
    Without a ``[power]`` table every core pays ``core_power_mw`` all the time (``idle_core_mw`` =
    ``core_power_mw``, unused cores on, no chip line), as before power states existed.
    """

    idle_core_mw: float
    gated_core_mw: float = 0.0
    chip_mw: float = 0.0
    unused_cores: str = "on"
    idle_step_gating: str = "off"
    wake_cycles: int = 0
    wake_pj: float = 0.0
    sources: Mapping[str, str] = _sources_field()
    KINDS = {"idle_core_mw": "nonneg_num", "gated_core_mw": "nonneg_num", "chip_mw": "nonneg_num",
             "wake_cycles": "nonneg_int", "wake_pj": "nonneg_num"}
    CHOICES = {"unused_cores": UNUSED_CORES, "idle_step_gating": ON_OFF}
    OPTIONAL = ("wake_cycles", "wake_pj")


@dataclass(frozen=True)
class TimestepSpec:
    """How a timestep ends: ``"barrier"`` (self-timed: when the work and the barrier are done) or
    ``"fixed"`` (a tick every ``period_ns``: a step lasts ``max(work, period)``; a step whose work
    exceeds the period is an overrun, which ``overrun = "stretch"`` lets last until its work is done
    and ``"violation"`` counts as a real-time violation while the tick keeps its period)."""

    mode: str = "barrier"
    period_ns: float = 0.0
    overrun: str = "stretch"
    sources: Mapping[str, str] = _sources_field()
    KINDS = {"period_ns": "pos_num"}
    CHOICES = {"mode": TIMESTEP_MODES, "overrun": OVERRUN_POLICIES}
    OPTIONAL = ("period_ns", "overrun")

    def period_cycles(self, clock_hz: float) -> int:
        """The period in whole cycles of ``clock_hz`` (rounded up; 0 in barrier mode)."""
        if self.mode != "fixed":
            return 0
        return max(1, math.ceil(self.period_ns * clock_hz / 1e9 - 1e-6))


@dataclass(frozen=True)
class OperatingPoint:
    """One DVFS point: supply ``voltage_v`` (V), ``frequency_hz`` and the static power figures stated
    for it (mW; per core: in use, idle, gated; and chip-level)."""

    name: str
    voltage_v: float
    frequency_hz: float
    core_power_mw: float
    idle_core_mw: float
    gated_core_mw: float
    chip_mw: float
    sources: Mapping[str, str] = _sources_field()
    KINDS = {"voltage_v": "pos_num", "frequency_hz": "pos_num", "core_power_mw": "nonneg_num",
             "idle_core_mw": "nonneg_num", "gated_core_mw": "nonneg_num", "chip_mw": "nonneg_num"}


@dataclass(frozen=True)
class OperatingPoints:
    """The DVFS table: ``points`` by name, the ``nominal`` one (at which ``[clock]``, ``[energy]``,
    ``[static]`` and ``[power]`` are stated) and the ``selected`` one the description is resolved at.
    Dynamic energy scales as ``(V / V_nominal)**2``; cycle counts stay, the cycle time follows f."""

    nominal: str
    selected: str
    points: Mapping[str, OperatingPoint]
    sources: Mapping[str, str] = _sources_field()

    @property
    def energy_scale(self) -> float:
        """``(V_selected / V_nominal)**2``: the factor on every dynamic (per-action) energy."""
        return (self.points[self.selected].voltage_v / self.points[self.nominal].voltage_v) ** 2


#: Top-level keys of a chip file owned by this module.
TOP_KEYS = ("power", "timestep", "operating_points", "operating_point")
#: Keys an operating point gives; at the nominal point only ``voltage_v`` is required (the rest, if
#: given, must equal the ``[clock]``/``[static]``/``[power]`` figures it restates).
POINT_KEYS = tuple(OperatingPoint.KINDS)


def _choice(ctx, where: str, raw: Any, choices: tuple[str, ...]) -> tuple[str, str]:
    """Parse ``{ value = "<choice>", source = "<citation>" }`` -> (choice, source)."""
    if not isinstance(raw, dict):
        ctx.fail(where, f"expected {{ value = \"{choices[0]}\", source = \"...\" }}; choices: {', '.join(choices)}")
    for k in raw:
        if k not in ("value", "source"):
            ctx.unknown(where, k, ("value", "source"))
    v, src = raw.get("value"), raw.get("source")
    if v not in choices:
        ctx.fail(where, f"unknown value {v!r}; choices: {', '.join(choices)}")
    if not isinstance(src, str) or not src.strip():
        ctx.fail(where, "missing source: every setting needs a non-empty 'source' string")
    return v, src.strip()


def _typed(ctx, doc: dict, name: str, cls, required_if: dict | None = None) -> tuple[dict, dict]:
    """Numbers (``cls.KINDS``) and choices (``cls.CHOICES``) of table ``name``; keys in ``cls.OPTIONAL``
    may be left out (then the dataclass default applies) unless ``required_if`` names them."""
    from nmsim.describe.chip import _sourced

    tbl = doc[name]
    if not isinstance(tbl, dict):
        ctx.fail(name, f"expected a table, got {type(tbl).__name__}")
    kinds, choices = cls.KINDS, getattr(cls, "CHOICES", {})
    allowed = tuple(choices) + tuple(kinds)
    for k in tbl:
        if k not in allowed:
            ctx.unknown(name, k, allowed)
    values, sources = {}, {}
    for k, ch in choices.items():
        if k in tbl:
            values[k], sources[k] = _choice(ctx, f"{name}.{k}", tbl[k], ch)
        elif k not in cls.OPTIONAL:
            ctx.fail(f"{name}.{k}", f"missing key; choices: {', '.join(ch)}")
    need = set((required_if or {}).get("need", ()))
    for k, kind in kinds.items():
        if k in tbl:
            values[k], sources[k] = _sourced(ctx, f"{name}.{k}", tbl[k], kind)
        elif k in need:
            ctx.fail(f"{name}.{k}", f"missing key ({required_if['why']})")
        elif k not in getattr(cls, "OPTIONAL", ()):
            ctx.fail(f"{name}.{k}", "missing key")
    return values, sources


def _power(ctx, doc: dict) -> PowerSpec | None:
    if "power" not in doc:
        return None
    tbl = doc["power"]
    gating = tbl.get("idle_step_gating", {}).get("value") if isinstance(tbl, dict) else None
    req = {"need": ("wake_cycles", "wake_pj"), "why": "required by idle_step_gating = \"on\""} \
        if gating == "on" else None
    v, s = _typed(ctx, doc, "power", PowerSpec, req)
    for k in ("wake_cycles", "wake_pj"):
        s.setdefault(k, "not used (idle_step_gating = \"off\")")
    return PowerSpec(sources=MappingProxyType(s), **v)


def _timestep(ctx, doc: dict) -> TimestepSpec:
    if "timestep" not in doc:
        return TimestepSpec(sources=MappingProxyType({"mode": "no [timestep] table: self-timed barrier"}))
    tbl = doc["timestep"]
    mode = tbl.get("mode", {}).get("value") if isinstance(tbl, dict) else None
    req = {"need": ("period_ns",), "why": "required by mode = \"fixed\""} if mode == "fixed" else None
    v, s = _typed(ctx, doc, "timestep", TimestepSpec, req)
    if v["mode"] == "barrier":  # a period may stay in the file (e.g. --set chip.timestep.mode=barrier); unused
        for k in ("period_ns", "overrun"):
            if k in v:
                s[k] = f"not used with mode = \"barrier\" ({s[k]})"
    s.setdefault("overrun", "default: stretch (a step lasts until its work is done)")
    return TimestepSpec(sources=MappingProxyType(s), **v)


def _operating_points(ctx, doc: dict, clock, static, power: PowerSpec) -> OperatingPoints | None:
    from nmsim.describe.chip import _sourced

    sel = doc.get("operating_point")
    if "operating_points" not in doc:
        if sel is not None:
            ctx.fail("operating_point", f"{sel!r} selected, but the chip has no [operating_points] table")
        return None
    tbl = doc["operating_points"]
    if not isinstance(tbl, dict):
        ctx.fail("operating_points", f"expected a table, got {type(tbl).__name__}")
    names = [k for k, v in tbl.items() if k != "nominal"]
    if "nominal" not in tbl:
        ctx.fail("operating_points.nominal", f"missing key: {{ value = \"<point>\", source = \"...\" }}; "
                 f"points: {', '.join(names) or '(none)'}")
    if not names:
        ctx.fail("operating_points", "no points; add [operating_points.<name>] tables")
    nominal, nom_src = _choice(ctx, "operating_points.nominal", tbl["nominal"], tuple(names))
    base = {"frequency_hz": clock.frequency_hz, "core_power_mw": static.core_power_mw,
            "idle_core_mw": power.idle_core_mw, "gated_core_mw": power.gated_core_mw, "chip_mw": power.chip_mw}
    points = {}
    for name in names:
        where = f"operating_points.{name}"
        pt = tbl[name]
        if not isinstance(pt, dict):
            ctx.fail(where, f"expected a table, got {type(pt).__name__}")
        for k in pt:
            if k not in POINT_KEYS:
                ctx.unknown(where, k, POINT_KEYS)
        vals, srcs = {}, {}
        for k in POINT_KEYS:
            if k in pt:
                vals[k], srcs[k] = _sourced(ctx, f"{where}.{k}", pt[k], OperatingPoint.KINDS[k])
                if name == nominal and k in base and not math.isclose(vals[k], base[k], rel_tol=1e-12):
                    ctx.fail(f"{where}.{k}", f"{vals[k]!r} disagrees with the nominal figure {base[k]!r} "
                             f"stated in [clock]/[static]/[power]; leave it out or make them equal")
            elif name == nominal and k in base:
                vals[k], srcs[k] = base[k], "nominal point: as stated in [clock]/[static]/[power]"
            else:
                ctx.fail(f"{where}.{k}", "missing key" + (" (only the nominal point may leave it out)"
                                                          if k in base else ""))
        points[name] = OperatingPoint(name=name, sources=MappingProxyType(srcs), **vals)
    if sel is None:
        sel, sel_src = nominal, "default: the nominal point"
    else:
        if sel not in points:
            ctx.fail("operating_point", f"unknown point {sel!r}; choices: {', '.join(names)}")
        sel_src = "selected"
    return OperatingPoints(nominal=nominal, selected=sel, points=MappingProxyType(points),
                           sources=MappingProxyType({"nominal": nom_src, "selected": sel_src}))


def resolve_power_time(ctx, doc: dict, chip):
    """Parse ``[power]``, ``[timestep]``, ``[operating_points]`` of ``doc`` into ``chip`` (a ``ChipSpec``
    with its other tables resolved) and return it resolved at the selected operating point: the clock
    is the point's frequency (cycle counts unchanged), every per-action energy and ``wake_pj`` are
    multiplied by ``(V / V_nominal)**2``, and the static figures are the point's."""
    if not isinstance(doc.get("operating_point", ""), str):
        ctx.fail("operating_point", f"expected a point name (string), got {doc['operating_point']!r}")
    power = _power(ctx, doc)
    timestep = _timestep(ctx, doc)
    chip = replace(chip, power=power, timestep=timestep)
    ops = _operating_points(ctx, doc, chip.clock, chip.static, chip.power_states)
    if ops is None:
        return chip
    chip = replace(chip, operating_points=ops)
    if ops.selected == ops.nominal:
        return chip
    pt, k = ops.points[ops.selected], ops.energy_scale
    tag = f"operating point {pt.name!r}"
    vs = f"({pt.voltage_v:g} V / {ops.points[ops.nominal].voltage_v:g} V)^2 = {k:.6g}"
    clock = replace(chip.clock, frequency_hz=pt.frequency_hz,
                    sources=MappingProxyType({"frequency_hz": f"{tag}: {pt.sources['frequency_hz']}"}))
    energy = replace(chip.energy, pj=MappingProxyType({a: v * k for a, v in chip.energy.pj.items()}),
                     sources=MappingProxyType({a: f"{s} x {vs} ({tag})" for a, s in chip.energy.sources.items()}))
    static = replace(chip.static, core_power_mw=pt.core_power_mw,
                     sources=MappingProxyType({"core_power_mw": f"{tag}: {pt.sources['core_power_mw']}"}))
    ps = chip.power_states
    psrc = dict(ps.sources)
    for key in ("idle_core_mw", "gated_core_mw", "chip_mw"):
        psrc[key] = f"{tag}: {pt.sources[key]}"
    psrc["wake_pj"] = f"{psrc.get('wake_pj', '')} x {vs} ({tag})"
    power = replace(ps, idle_core_mw=pt.idle_core_mw, gated_core_mw=pt.gated_core_mw, chip_mw=pt.chip_mw,
                    wake_pj=ps.wake_pj * k, sources=MappingProxyType(psrc))
    return replace(chip, clock=clock, energy=energy, static=static, power=power)


def power_time_dict(chip) -> dict[str, Any]:
    """The ``power``, ``timestep`` and ``operating_points`` sections of ``ChipSpec.to_dict()``."""
    out: dict[str, Any] = {}
    for sec, spec in (("power", chip.power_states), ("timestep", chip.timestep)):
        tbl = {}
        for f in spec.__dataclass_fields__:
            if f in ("sources",) or (sec == "timestep" and spec.mode == "barrier" and f != "mode"):
                continue
            tbl[f] = {"value": getattr(spec, f), "source": spec.sources.get(f, "default")}
        out[sec] = tbl
    ops = chip.operating_points
    if ops is not None:
        out["operating_points"] = {
            "nominal": {"value": ops.nominal, "source": ops.sources["nominal"]},
            "selected": {"value": ops.selected, "source": ops.sources["selected"]},
            "energy_scale": {"value": ops.energy_scale, "source": "derived: (V_selected / V_nominal)^2"},
            "points": {n: {k: {"value": getattr(p, k), "source": p.sources[k]} for k in POINT_KEYS}
                       for n, p in ops.points.items()}}
    return out
