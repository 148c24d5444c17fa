"""Sweep specifications: parse and validate the TOML file, expand it into points.

A sweep file (format in ``docs/sweeps.md``) names a point *kind* and the
parameters of every point: fixed ones in ``[base]``, a cartesian product in
``[grid]``, lists varied together in ``[[zip]]`` and explicit points in
``[[points]]``.  Expansion turns it into an ordered list of :class:`Point`,
each with a *resolved configuration* ``{"kind": ..., "params": {...}}``
(flat dotted keys, defaults of the kind filled in) and its ``config_hash``,
the sha256 of the configuration's canonical JSON.

The hash, not the point's position, identifies a point in the results store,
so a sweep can be reordered or extended and finished points are still found.
This module imports nothing heavy (no numpy): worker processes import it
before they set their thread limits.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import itertools
import json
import math
import tomllib
from pathlib import Path
from typing import Any, Mapping

from nmsim.errors import SweepError

#: The only spec format version this code reads.
SCHEMA_VERSION = 1

#: Keys allowed at the top level of a sweep file.
TOP_LEVEL_KEYS = ("schema_version", "name", "kind", "description", "base", "grid", "zip", "points", "report")

#: Keys allowed in the optional ``[report]`` table (metric names on the plot axes).
REPORT_KEYS = ("energy", "latency", "quality")

#: Column names of a results row that a parameter may not take.
RESERVED_NAMES = ("config_hash", "point_index", "kind", "nmsim_version", "wall_s", "worker", "finished_at")

#: Refuse to expand sweeps larger than this (a typo in a grid, usually).
MAX_POINTS = 1_000_000


def canonical_json(obj: Any) -> str:
    """The one JSON text of ``obj``: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def config_hash(config: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of a resolved configuration."""
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()


@dataclasses.dataclass(frozen=True)
class Point:
    """One resolved point of a sweep."""

    index: int  #: position in the expansion order of the spec
    config: dict  #: ``{"kind": str, "params": {dotted key: value}}``
    config_hash: str

    @property
    def kind(self) -> str:
        return self.config["kind"]

    @property
    def params(self) -> dict:
        return self.config["params"]


@dataclasses.dataclass
class SweepSpec:
    """A parsed, structurally valid sweep file (parameters not yet resolved)."""

    name: str
    kind: str
    base: dict[str, Any]
    #: axes of the product, in order; the last varies fastest.  Each axis is
    #: a list of partial parameter dicts (one per value).
    axes: list[tuple[str, list[dict[str, Any]]]]
    report: dict[str, str]
    description: str = ""
    source: str = "<sweep>"
    text: str = ""

    def n_points(self) -> int:
        return math.prod(len(values) for _, values in self.axes) if self.axes else 1

    def varied_keys(self) -> list[str]:
        """Parameter keys that the axes set (in axis order)."""
        keys: list[str] = []
        for _, values in self.axes:
            for v in values:
                for k in v:
                    if k not in keys:
                        keys.append(k)
        return keys

    def expand(self) -> list[Point]:
        """All points, resolved and validated, in expansion order."""
        from nmsim.sweep.points import validate_point_params

        n = self.n_points()
        if n > MAX_POINTS:
            raise SweepError(f"{self.source}: sweep has {n} points, more than the limit of {MAX_POINTS}")
        points: list[Point] = []
        seen: dict[str, int] = {}
        value_lists = [values for _, values in self.axes]
        for index, combo in enumerate(itertools.product(*value_lists)):
            params = dict(self.base)
            for part in combo:
                params.update(part)
            try:
                resolved = validate_point_params(self.kind, params)
            except SweepError as exc:
                raise SweepError(f"{self.source}: {exc}") from None
            config = {"kind": self.kind, "params": resolved}
            try:
                h = config_hash(config)
            except ValueError as exc:  # NaN or infinity
                raise SweepError(f"{self.source}: point {index}: {exc}") from None
            if h in seen:
                raise SweepError(
                    f"{self.source}: points {seen[h]} and {index} have the same configuration "
                    f"({canonical_json(resolved)})"
                )
            seen[h] = index
            points.append(Point(index=index, config=config, config_hash=h))
        return points


# --------------------------------------------------------------------------- parsing


def _check_value(where: str, key: str, value: Any, *, allow_list: bool = True) -> Any:
    """Reject TOML values a parameter cannot hold (dates, tables, NaN)."""
    if isinstance(value, bool) or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SweepError(f"{where}: parameter '{key}' is {value}; only finite numbers are allowed")
        return value
    if isinstance(value, list) and allow_list:
        return [_check_value(where, key, v) for v in value]
    if isinstance(value, (_dt.date, _dt.time, _dt.datetime)):
        raise SweepError(f"{where}: parameter '{key}' is a date/time; use a string or a number")
    if isinstance(value, dict):
        raise SweepError(f"{where}: parameter '{key}' holds a table inside an array; not allowed")
    raise SweepError(f"{where}: parameter '{key}' has an unsupported value {value!r}")


def flatten(where: str, table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested TOML tables -> one dict of dotted keys (``a.b.c``).

    ``"chip.noc.hop" = 3`` (a quoted dotted key) and ``[x.chip.noc] hop = 3``
    give the same key; giving both is an error.
    """
    out: dict[str, Any] = {}
    for key, value in table.items():
        if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
            raise SweepError(f"{where}: bad parameter name {key!r}")
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            items = flatten(where, value, prefix=f"{full}.")
        else:
            items = {full: value}
        for k, v in items.items():
            if k in out:
                raise SweepError(f"{where}: parameter '{k}' is given twice")
            out[k] = v
    return out


def _axis_from_lists(where: str, table: Mapping[str, Any], *, zipped: bool) -> dict[str, list]:
    flat = flatten(where, table)
    if not flat:
        raise SweepError(f"{where}: is empty")
    for key, values in flat.items():
        if not isinstance(values, list):
            raise SweepError(f"{where}: '{key}' must be an array of values, got {values!r}")
        if not values:
            raise SweepError(f"{where}: '{key}' is an empty array")
        for v in values:
            _check_value(where, key, v)
    if zipped:
        lengths = {k: len(v) for k, v in flat.items()}
        if len(set(lengths.values())) != 1:
            detail = ", ".join(f"{k}: {n}" for k, n in lengths.items())
            raise SweepError(f"{where}: arrays must have the same length ({detail})")
    return flat


def parse_spec(data: Mapping[str, Any], source: str = "<sweep>", text: str = "") -> SweepSpec:
    """Validate a decoded sweep file and build a :class:`SweepSpec`."""
    unknown = [k for k in data if k not in TOP_LEVEL_KEYS]
    if unknown:
        raise SweepError(
            f"{source}: unknown key '{unknown[0]}' (allowed: {', '.join(TOP_LEVEL_KEYS)})"
        )
    version = data.get("schema_version")
    if version is None:
        raise SweepError(f"{source}: missing 'schema_version' (this nmsim reads schema_version = {SCHEMA_VERSION})")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise SweepError(f"{source}: schema_version {version!r} is not supported (expected {SCHEMA_VERSION})")
    kind = data.get("kind")
    if not isinstance(kind, str) or not kind:
        raise SweepError(f"{source}: 'kind' must name a point kind (e.g. kind = \"replay\")")
    from nmsim.sweep.points import get_kind

    try:
        get_kind(kind)
    except SweepError as exc:
        raise SweepError(f"{source}: {exc}") from None
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str) or not name:
        raise SweepError(f"{source}: 'name' must be a non-empty string")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise SweepError(f"{source}: 'description' must be a string")

    def table(key: str) -> dict:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise SweepError(f"{source}: '{key}' must be a table ([{key}])")
        return value

    def array_of_tables(key: str) -> list:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise SweepError(f"{source}: '{key}' must be an array of tables ([[{key}]])")
        return value

    base = flatten(f"{source} [base]", table("base"))
    for key, value in base.items():
        _check_value(f"{source} [base]", key, value)

    axes: list[tuple[str, list[dict[str, Any]]]] = []
    owner: dict[str, str] = {key: "[base]" for key in base}

    def claim(key: str, where: str) -> None:
        if key in RESERVED_NAMES:
            raise SweepError(f"{source} {where}: '{key}' is a reserved column name, not a parameter")
        if key in owner and owner[key] != where:
            raise SweepError(f"{source}: parameter '{key}' is set in both {owner[key]} and {where}")
        owner[key] = where

    for key in base:
        claim(key, "[base]")

    points_tables = array_of_tables("points")
    if points_tables:
        values = []
        for i, pt in enumerate(points_tables):
            where = f"[[points]] #{i + 1}"
            flat = flatten(f"{source} {where}", pt)
            if not flat:
                raise SweepError(f"{source} {where}: is empty")
            for key, value in flat.items():
                _check_value(f"{source} {where}", key, value)
                claim(key, "[[points]]")
            values.append(flat)
        axes.append(("points", values))

    for i, zt in enumerate(array_of_tables("zip")):
        where = f"[[zip]] #{i + 1}"
        flat = _axis_from_lists(f"{source} {where}", zt, zipped=True)
        for key in flat:
            claim(key, where)
        n = len(next(iter(flat.values())))
        axes.append((f"zip{i + 1}", [{k: v[j] for k, v in flat.items()} for j in range(n)]))

    grid = table("grid")
    if grid:
        flat = _axis_from_lists(f"{source} [grid]", grid, zipped=False)
        for key, values in flat.items():
            claim(key, "[grid]")
            dupes = {canonical_json(v) for v in values}
            if len(dupes) != len(values):
                raise SweepError(f"{source} [grid]: '{key}' lists a value twice")
            axes.append((key, [{key: v} for v in values]))

    report = table("report")
    for key, value in report.items():
        if key not in REPORT_KEYS:
            raise SweepError(f"{source} [report]: unknown key '{key}' (allowed: {', '.join(REPORT_KEYS)})")
        if not isinstance(value, str) or not value:
            raise SweepError(f"{source} [report]: '{key}' must name a metric")

    return SweepSpec(
        name=name, kind=kind, base=base, axes=axes, report=dict(report),
        description=description, source=source, text=text,
    )


def parse_spec_text(text: str, source: str = "<sweep>") -> SweepSpec:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"{source}: not valid TOML: {exc}") from None
    return parse_spec(data, source=source, text=text)


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file (``SweepError`` on any problem)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SweepError(f"sweep file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepError(f"cannot read sweep file {path}: {exc}") from None
    return parse_spec_text(text, source=str(path))
