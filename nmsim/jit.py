"""Numba flags for every kernel, in one place (as PySDM's ``conf.py``).

- ``cache=True``: compiled kernels are cached next to the sources, so a
  second process starts fast.  The cache is invalidated only by the
  defining file's timestamp.
- ``fastmath=False``: kernels are integer-only and must be bit-exact; no
  reassociation.
- ``error_model="numpy"``: integer division by zero does not raise inside
  kernels; kernels never divide by a value that can be zero.
"""

JIT = {"cache": True, "fastmath": False, "nogil": True, "error_model": "numpy"}
