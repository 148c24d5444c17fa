"""Files of a replay run (``docs/replay.md``): ``summary.json``, ``tokens.csv``, ``steps.csv``, ``cores.csv``,
``links.csv``, ``run.json``, ``trace.json``, and the figures with ``report.md`` (:mod:`nmsim.report.run_report`).

The set is written as a whole (:func:`nmsim.output_files.output_set`: a temporary directory
next to ``--out``, swapped into place at the end), so an error or a kill leaves the previous
complete set or the new one, never a mix and never a stale ``trace.json``.  JSON is strict
(:func:`nmsim.output_files.dumps_json`): a value that is not a finite number is written
``null`` with a ``<key>_note`` giving the reason.  Everything except ``sim_wall_s`` and
``synaptic_events_per_s`` (in ``summary.json``) is byte-identical between runs.
"""

from __future__ import annotations

import platform
from pathlib import Path

from nmsim.replay.metrics import DYNAMIC_CATEGORIES
from nmsim.output_files import check_out_dir, dumps_json, output_set, strict, write_atomic

TOKENS_COLUMNS = ("token", "id", "latency_cycles", "latency_ns", "energy_nj", "events", "packets",
                  "synaptic_ops", "step_cycles", "overrun_steps", "static_active_nj", "static_idle_nj",
                  "static_gated_nj", "static_chip_nj", "wake_nj") + tuple(f"{c}_nj" for c in DYNAMIC_CATEGORIES)
STEPS_COLUMNS = ("step", "token", "cycles", "packets", "hops", "synaptic_ops", "events", "energy_nj")
#: summary keys that hold wall-clock values (the only ones that differ between runs)
WALL_CLOCK_KEYS = ("sim_wall_s", "synaptic_events_per_s")


#: every file a run may write (an existing ``--out`` may hold these and nothing else)
RUN_FILES = ("summary.json", "tokens.csv", "run.json", "trace.json", "steps.csv", "cores.csv", "links.csv",
             "report.md", "*.png", "record.npz")
#: the compressed functional record of a two-pass run, kept with ``nmsim run --keep-record``
RECORD_FILE = "record.npz"
#: why a summary value can be missing (``null``), by key
NO_PREDICTIONS = "fewer than 2 tokens: no predictions"


def check_out(out_dir: str | Path) -> Path:
    """Refuse a ``--out`` the run could not write, before simulating (see :func:`check_out_dir`)."""
    return check_out_dir(out_dir, "--out", own=RUN_FILES)


def strict_summary(summary: dict) -> dict:
    """The summary as written: non-finite values -> ``null`` + ``<key>_note`` (perplexities of a
    run without predictions: :data:`NO_PREDICTIONS`)."""
    notes = {k: NO_PREDICTIONS for k in ("perplexity", "golden_perplexity")} if not summary.get("predictions") \
        else {}
    return strict(summary, notes)


def tokens_csv(rows: list[dict]) -> str:
    from nmsim.replay.percore import csv_text

    return csv_text(rows, TOKENS_COLUMNS)


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


def write_outputs(out_dir: str | Path, result, info: dict, figures: bool = True, moved: dict | None = None) -> dict:
    """Write the run's files as one set into ``out_dir`` (``figures``: with the PNG figures and ``report.md``);
    ``moved``: ``{name: path}`` of finished files moved into the set (the kept functional record);
    returns ``{name: path}``."""
    from nmsim.replay.percore import CORES_COLUMNS, LINKS_COLUMNS, csv_text

    out = Path(out_dir)
    files = {"tokens.csv": tokens_csv(result.tokens_rows), "run.json": dumps_json(info),
             "steps.csv": csv_text(result.steps_rows, STEPS_COLUMNS),
             "cores.csv": csv_text(result.cores_rows, CORES_COLUMNS),
             "links.csv": csv_text(result.links_rows, LINKS_COLUMNS)}
    if result.trace is not None:
        files["trace.json"] = dumps_json(result.trace.to_json(), indent=None, separators=(",", ":"),
                                         sort_keys=True)
    files["summary.json"] = dumps_json(strict_summary(result.summary))
    if figures:  # drawn from the files' text, exactly as `nmsim report` reads them back
        from nmsim.report.run_data import from_texts
        from nmsim.report.run_report import report_files

        files.update(report_files(from_texts(files, out)))
    import shutil

    with output_set(out) as tmp:
        for name, text in files.items():
            write_atomic(tmp / name, text)
        for name, src in (moved or {}).items():
            shutil.move(str(src), str(tmp / name))  # a rename: the record is written next to the output set
    return {name: out / name for name in [*files, *(moved or {})]}
