"""Export a sweep's rows: one row per finished point, deterministic bytes."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from nmsim.errors import SweepError
from nmsim.sweep.store import ResultStore

#: Leading columns of every exported row.
ID_COLUMNS = ("config_hash", "point_index", "kind", "nmsim_version")
#: Columns that differ run to run; exported only with ``with_timing``.
TIMING_COLUMNS = ("wall_s", "worker", "finished_at")


def cell(value: Any) -> str:
    """One CSV cell: ints as digits, floats by ``repr`` (shortest exact),
    booleans as ``true``/``false``, arrays as canonical JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def table(out_dir: str | Path, with_timing: bool = False) -> tuple[list[str], list[list[str]], list[str], list[str]]:
    """``(header, rows, param_columns, metric_columns)`` of a sweep directory,
    rows in point order; params and metrics each sorted by name."""
    with ResultStore.open_existing(out_dir) as store:
        rows = store.rows()
    params = sorted({k for r in rows for k in r["params"]})
    metrics = sorted({k for r in rows for k in r["metrics"]})
    clash = (set(params) & set(metrics)) | ((set(params) | set(metrics)) & set(ID_COLUMNS + TIMING_COLUMNS))
    if clash:
        raise SweepError(f"column name(s) {', '.join(sorted(clash))} used by both a parameter and a metric")
    header = list(ID_COLUMNS) + params + metrics + (list(TIMING_COLUMNS) if with_timing else [])
    body = []
    for r in rows:
        line = [r["config_hash"], str(r["point_index"]), r["kind"], r["nmsim_version"]]
        line += [cell(r["params"].get(k)) for k in params]
        line += [cell(r["metrics"].get(k)) for k in metrics]
        if with_timing:
            line += [cell(r[k]) for k in TIMING_COLUMNS]
        body.append(line)
    return header, body, params, metrics


def export_csv(out_dir: str | Path, csv_path: str | Path, with_timing: bool = False) -> int:
    """Write the CSV (atomically: temp file + rename; ``-`` = stdout).
    Returns the number of rows."""
    header, body, _, _ = table(out_dir, with_timing=with_timing)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(body)
    text = buf.getvalue()
    if str(csv_path) == "-":
        sys.stdout.write(text)
        return len(body)
    path = Path(csv_path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise SweepError(f"cannot write {csv_path}: {exc}") from None
    return len(body)
