"""The sensitivity ranges of a chip preset: every value written with ``range = [lo, hi]``.

Read from the chip file itself (the loader has already checked ``lo <= value <= hi``).  Keys
are ``<table>.<key>`` as ``load_chip_variant(overrides=...)`` and the sweep's ``chip.*``
parameters take them.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Range:
    key: str  #: ``<table>.<key>``
    value: float | int
    lo: float | int
    hi: float | int
    source: str


def chip_ranges(chip: str | Path) -> list[Range]:
    """All ranged values of a chip (by preset name or path), in file order."""
    from nmsim.describe.chip import load_chip
    from nmsim.paths import chips_dir

    load_chip(chip)  # validates the file, ranges included
    p = Path(chip)
    if not p.suffix:
        p = chips_dir() / f"{chip}.toml"
    doc = tomllib.loads(p.read_text(encoding="utf-8"))
    out: list[Range] = []

    def walk(tbl: dict, prefix: str) -> None:
        for k, v in tbl.items():
            if isinstance(v, dict) and "range" in v:
                val = v.get("value", v.get("pj"))
                out.append(Range(f"{prefix}{k}", val, v["range"][0], v["range"][1], v.get("source", "")))
            elif isinstance(v, dict) and "source" not in v and prefix.count(".") < 2:
                walk(v, f"{prefix}{k}.")

    walk(doc, "")
    return out
