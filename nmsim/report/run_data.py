"""A replay run read back from its files (``summary.json``, ``tokens.csv``, ``steps.csv``, ``cores.csv``,
``links.csv``, ``run.json``) as plain columns, for figures, ``report.md`` and ``nmsim compare``.

The figures written by ``nmsim run`` are drawn from the text of these files exactly as ``nmsim report``
reads them back, so both give byte-identical PNGs.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nmsim.errors import NmsimError

#: files a run directory must hold for figures and reports
REQUIRED = ("summary.json", "tokens.csv", "steps.csv", "cores.csv", "links.csv", "run.json")


@dataclass
class RunData:
    """``summary``/``info`` (parsed JSON); ``tokens``, ``steps``, ``cores``, ``links``: ``{column: array}``
    (numeric columns float64 or int64, text columns str arrays); ``width``, ``height`` (routers)."""

    summary: dict
    info: dict
    tokens: dict
    steps: dict
    cores: dict
    links: dict
    width: int
    height: int
    path: Path | None = None


def parse_csv(text: str) -> dict[str, np.ndarray]:
    """``{column: array}`` of a CSV with a header: int64 where every value is an integer, float64 where every
    value is a number, else str."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return {}
    head, body = rows[0], rows[1:]
    out = {}
    for j, name in enumerate(head):
        vals = [r[j] for r in body]
        for conv, dt in ((int, np.int64), (float, np.float64)):
            try:
                out[name] = np.array([conv(v) for v in vals], dt)
                break
            except ValueError:
                continue
        else:
            out[name] = np.array(vals, dtype=str)
    return out


def from_texts(texts: dict[str, str], path: Path | None = None) -> RunData:
    """A :class:`RunData` from ``{file name: text}`` (the files of :data:`REQUIRED`)."""
    try:
        summary = json.loads(texts["summary.json"])
        info = json.loads(texts["run.json"])
    except json.JSONDecodeError as exc:
        raise NmsimError(f"{path or 'run'}: malformed JSON ({exc})") from None
    mesh = info.get("chip", {}).get("mesh", {})
    try:
        width, height = int(mesh["width"]["value"]), int(mesh["height"]["value"])
    except (KeyError, TypeError, ValueError):
        raise NmsimError(f"{path or 'run'}: run.json has no chip.mesh width/height") from None
    return RunData(summary, info, parse_csv(texts["tokens.csv"]), parse_csv(texts["steps.csv"]),
                   parse_csv(texts["cores.csv"]), parse_csv(texts["links.csv"]), width, height, path)


def load_run(run_dir: str | Path) -> RunData:
    """Read a run directory; a missing directory or file is one :class:`NmsimError` naming it."""
    d = Path(run_dir)
    if not d.is_dir():
        raise NmsimError(f"run directory {str(d)!r} does not exist")
    missing = [n for n in REQUIRED if not (d / n).is_file()]
    if missing:
        raise NmsimError(f"{d}: not a complete run directory (missing {', '.join(missing)}; "
                         f"rerun it with this nmsim version)")
    return from_texts({n: (d / n).read_text(encoding="utf-8") for n in REQUIRED}, d)
