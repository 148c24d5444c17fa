"""A cache on disk of ``balanced`` placements (``docs/mapping.md``, "The placement cache").

``balanced`` measures activity on calibration tokens, builds and ranks candidates (METIS included) and replays
the shortlist: about 15 s of CPU for the shipped small model, every time the same model is placed on the same
chip.  The result is a pure function of its inputs, so :func:`nmsim.replay.mapped.build_replay` keeps it here,
under the sha256 of everything it depends on (:func:`placement_key`):

- the model file's sha256 and the decoder (which give the network), the resolved chip (every value, ``--set``
  overrides included), the strategy, seed and ``map.*`` settings;
- the calibration tokens themselves (so a changed dataset file, split or ``map.calibration_tokens`` misses);
- the source of every ``nmsim`` module and the versions of Python, numpy, scipy, numba and pymetis (so an edited mapper,
  engine or cost model, or another METIS, misses: a hit is always what this code would compute).

A hit returns the same :class:`nmsim.map.placement.Placement` and calibration record, so every output file is
byte-identical to a run that placed afresh (``tests/test_placement_cache.py``).  Entries are written whole
(a temporary file, then a rename); one that cannot be read is ignored and written again; a cache directory that
cannot be written is skipped.  Where: ``$NMSIM_CACHE_DIR`` (``off`` turns the cache off), else
``$XDG_CACHE_HOME/nmsim`` or ``~/.cache/nmsim``; entries are ``placements/<key>.pkl``, about 50 KB each for the
shipped small model.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
import platform
import tempfile
from pathlib import Path

import numpy as np

#: Environment variable naming the cache directory (``off``: no cache).
CACHE_ENV = "NMSIM_CACHE_DIR"
#: Bumped when the entry's layout changes.
FORMAT = 1


def cache_root() -> Path | None:
    """The cache directory (not created here), or ``None`` when ``$NMSIM_CACHE_DIR`` is ``off`` (empty or unset:
    the default location)."""
    env = os.environ.get(CACHE_ENV, "").strip()
    if env.lower() == "off":
        return None
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nmsim"


@functools.lru_cache(maxsize=4)
def code_fingerprint(root: Path | None = None) -> str:
    """sha256 of every module's source under ``root`` (default: the ``nmsim`` package; path and bytes, sorted by
    path) and of the versions of Python and of the libraries a placement's numbers come from."""
    import numba
    import scipy

    try:
        from importlib.metadata import version
        metis = version("pymetis")
    except Exception:  # pragma: no cover - pymetis is a dependency
        metis = "absent"
    root = Path(__file__).resolve().parents[1] if root is None else Path(root)
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    h.update(json.dumps([platform.python_version(), np.__version__, scipy.__version__, numba.__version__,
                         metis]).encode())
    return h.hexdigest()


def placement_key(model_sha256: str, decoder: str, chip, placement: str, seed: int, map_settings: dict | None,
                  dataset: str, split: str, calibration_ids: np.ndarray) -> str:
    """The cache key (hex sha256) of one ``balanced`` placement; ``chip``: the resolved
    :class:`nmsim.describe.chip.ChipSpec`; ``calibration_ids``: the calibration tokens it measures on."""
    ids = np.ascontiguousarray(calibration_ids, dtype="<i8")
    doc = {"format": FORMAT, "code": code_fingerprint(), "model": model_sha256, "decoder": decoder,
           "chip": chip.to_dict(), "chip_repr": repr(chip), "placement": placement, "seed": int(seed),
           "map": {str(k): v for k, v in sorted((map_settings or {}).items())}, "dataset": dataset, "split": split,
           "calibration": hashlib.sha256(ids.tobytes()).hexdigest(), "n_calibration": int(ids.size)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=repr).encode()).hexdigest()


def _path(key: str) -> Path | None:
    root = cache_root()
    return None if root is None else root / "placements" / f"{key}.pkl"


def _to_plain(placement) -> dict:
    """The :class:`nmsim.map.placement.Placement`'s fields, its read-only ``core_of`` as a plain dict."""
    import dataclasses

    d = {f.name: getattr(placement, f.name) for f in dataclasses.fields(placement)}
    d["core_of"] = dict(d["core_of"])
    return d


def _from_plain(d: dict):
    from types import MappingProxyType

    from nmsim.map.placement import Placement

    return Placement(**{**d, "core_of": MappingProxyType(dict(d["core_of"]))})


def load(key: str):
    """``(placement, calibration)`` stored under ``key``, or ``None`` (absent, unreadable, cache off)."""
    path = _path(key)
    if path is None or not path.is_file():
        return None
    try:
        with open(path, "rb") as f:
            entry = pickle.load(f)
        if entry.get("format") != FORMAT or entry.get("key") != key:
            return None
        return _from_plain(entry["placement"]), entry["calibration"]
    except Exception:  # a damaged entry is a miss; it is written again
        return None


def store(key: str, placement, calibration) -> bool:
    """Write the entry (whole or not at all); ``False`` when the cache is off or cannot be written."""
    path = _path(key)
    if path is None:
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key[:16]}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump({"format": FORMAT, "key": key, "placement": _to_plain(placement),
                             "calibration": calibration}, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except Exception:  # a cache that cannot be written (read-only, full disk) never fails the run
        return False
    return True
