"""Batch sweeps and design-space exploration (``nmsim sweep``).

- :mod:`~nmsim.sweep.spec`: the TOML sweep file -> resolved points + ``config_hash``
- :mod:`~nmsim.sweep.points`: point kinds (``replay``, ``synthetic``) and ``run_point``
- :mod:`~nmsim.sweep.executors`: local processes, in-process, Dask
- :mod:`~nmsim.sweep.store`: the SQLite results store of a sweep directory
- :mod:`~nmsim.sweep.runner`: ``run_sweep`` (resumable)
- :mod:`~nmsim.sweep.export` / :mod:`~nmsim.sweep.report`: CSV, Pareto + sensitivity

Nothing here imports numpy, numba or matplotlib at import time: worker
processes import this package before they cap their thread pools.
"""

from nmsim.sweep.export import export_csv
from nmsim.sweep.points import (
    PointKind,
    get_kind,
    register_point_kind,
    run_point,
    validate_point_params,
)
from nmsim.sweep.report import pareto_front, write_report
from nmsim.sweep.runner import SweepSummary, run_sweep
from nmsim.sweep.spec import Point, SweepSpec, canonical_json, config_hash, load_spec, parse_spec_text

__all__ = [
    "Point",
    "PointKind",
    "SweepSpec",
    "SweepSummary",
    "canonical_json",
    "config_hash",
    "export_csv",
    "get_kind",
    "load_spec",
    "pareto_front",
    "parse_spec_text",
    "register_point_kind",
    "run_point",
    "run_sweep",
    "validate_point_params",
    "write_report",
]
