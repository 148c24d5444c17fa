"""Numba flags for every kernel, in one place (as PySDM's ``conf.py``), and the cache location.

- ``cache=True``: compiled kernels are cached next to the sources, so a
  second process starts fast.  Numba itself invalidates a kernel's cache only
  when the defining file changes; :mod:`nmsim.jit_cache` extends that stamp to
  every ``nmsim`` module the file imports (the layouts a kernel bakes in), so an
  edit to ``ACTIONS`` or ``TIMING_FIELDS`` recompiles.  Where that cannot be
  installed, kernels are compiled without an on-disk cache (never a stale one).
- ``fastmath=False``: kernels are integer-only and must be bit-exact; no
  reassociation.
- ``error_model="numpy"``: integer division by zero does not raise inside
  kernels; kernels never divide by a value that can be zero.

:func:`ensure_cache_dir` runs at ``import nmsim`` (before numba is imported): when
neither the package directories nor the user cache (``~/.cache/numba``) are
writable, as in a read-only container image, it points ``NUMBA_CACHE_DIR`` at a
writable temporary directory instead of letting every kernel fail with
"cannot cache function".
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def __getattr__(name: str):
    """``JIT`` is built on first use (by a kernel module, after it imported numba), so that ``import nmsim``
    neither imports numba nor installs the layout-stamped cache before :func:`ensure_cache_dir` has run."""
    if name == "JIT":
        from nmsim.jit_cache import install

        value = {"cache": install(), "fastmath": False, "nogil": True, "error_model": "numpy"}
        globals()["JIT"] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: sub-packages whose modules define cached kernels (numba caches next to each source file)
KERNEL_PACKAGES = ("sim", "replay", "sweep")


def _writable(directory: str | Path) -> bool:
    try:
        os.makedirs(directory, exist_ok=True)
        tempfile.TemporaryFile(dir=directory).close()
        return True
    except OSError:
        return False


def fallback_cache_dir() -> str:
    """The temporary cache used when no other location is writable (one per user)."""
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return os.path.join(tempfile.gettempdir(), f"nmsim-numba-cache-{uid}")


def ensure_cache_dir() -> str | None:
    """Set ``NUMBA_CACHE_DIR`` to :func:`fallback_cache_dir` if numba could not cache otherwise
    (an unwritable ``NUMBA_CACHE_DIR`` included); returns the directory set, or ``None``."""
    given = os.environ.get("NUMBA_CACHE_DIR")
    if given:
        if _writable(given):
            return None
    else:
        pkg = Path(__file__).parent
        if all(_writable(pkg / sub / "__pycache__") for sub in KERNEL_PACKAGES):
            return None
        user = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "numba")
        if _writable(user):
            return None
    try:
        path = fallback_cache_dir()
    except OSError:  # not even a temporary directory: numba reports it
        return None
    if not _writable(path):
        return None
    os.environ["NUMBA_CACHE_DIR"] = path
    if "numba" in sys.modules:  # imported before nmsim: make it re-read the environment
        from numba.core import config

        config.reload_config()
    return path
