"""Files of a replay run (``docs/replay.md``): ``summary.json``, ``tokens.csv``, ``run.json``, ``trace.json``.

Every file is written atomically (a temporary file in the same directory, then
``os.replace``), so an error never leaves a half-written file and never removes
one already written.  Everything except ``sim_wall_s`` and
``synaptic_events_per_s`` (in ``summary.json``) is byte-identical between runs.
"""

from __future__ import annotations

import io
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

TOKENS_COLUMNS = ("token", "id", "latency_cycles", "latency_ns", "energy_nj", "events", "packets",
                  "synaptic_ops", "step_cycles")
#: summary keys that hold wall-clock values (the only ones that differ between runs)
WALL_CLOCK_KEYS = ("sim_wall_s", "synaptic_events_per_s")


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": "\n"})) as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def dumps(obj) -> str:
    return json.dumps(obj, indent=2, allow_nan=True) + "\n"


def tokens_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    buf.write(",".join(TOKENS_COLUMNS) + "\n")
    for r in rows:
        buf.write(",".join(_fmt(r[c]) for c in TOKENS_COLUMNS) + "\n")
    return buf.getvalue()


def _fmt(v) -> str:
    if isinstance(v, float):
        return repr(v)
    return str(v)


def versions() -> dict:
    import numba
    import numpy
    import scipy

    from nmsim import __version__

    return {"nmsim": __version__, "python": platform.python_version(), "numpy": numpy.__version__,
            "numba": numba.__version__, "scipy": scipy.__version__}


def run_info(cfg, mapped, argv: list[str] | None) -> dict:
    """``run.json``: the resolved chip, the model's provenance, versions and the command line."""
    from dataclasses import asdict

    mf = mapped.golden.mf
    pl = mapped.placement
    return {
        "command": list(argv or []),
        "config": {k: v for k, v in asdict(cfg).items()},
        "chip": mapped.chip.to_dict(),
        "model": {"name": mf.header.get("name"), "path": str(mf.path), "sha256": mf.sha256,
                  "arch": mf.arch, "formats": mf.formats, "sparsity": mf.sparsity,
                  "provenance": mf.provenance},
        "mapping": {"placement": pl.strategy, "seed": pl.seed, "cores_used": int((pl.neurons > 0).sum()),
                    "neurons_per_core": [int(x) for x in pl.neurons],
                    "synapses_per_core": [int(x) for x in pl.synapses],
                    "bytes_per_core": [int(x) for x in pl.bytes],
                    "populations": {p.name: {"model": p.model, "n": p.n, "payload_bits": p.payload_bits,
                                             "to_host": p.to_host}
                                    for p in mapped.lm.net.populations.values()},
                    "synapses": int(mapped.lm.net.nnz),
                    "map_settings": dict(pl.options or {}),
                    "calibration": getattr(mapped, "calibration", None),
                    "search": pl.search},
        "versions": versions(),
    }


def write_outputs(out_dir: str | Path, result, info: dict) -> dict:
    """Write the run's files; returns ``{name: path}``."""
    out = Path(out_dir)
    paths = {}
    paths["tokens.csv"] = write_atomic(out / "tokens.csv", tokens_csv(result.tokens_rows))
    paths["run.json"] = write_atomic(out / "run.json", dumps(info))
    if result.trace is not None:
        paths["trace.json"] = write_atomic(out / "trace.json", json.dumps(result.trace.to_json(),
                                                                         separators=(",", ":"), sort_keys=True))
    paths["summary.json"] = write_atomic(out / "summary.json", dumps(result.summary))
    return paths
