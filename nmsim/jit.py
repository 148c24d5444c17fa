"""Numba flags for every kernel, in one place (as PySDM's ``conf.py``).

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
"""

from nmsim.jit_cache import install as _install_layout_cache

JIT = {"cache": _install_layout_cache(), "fastmath": False, "nogil": True, "error_model": "numpy"}
