"""nmsim: a cycle-level neuromorphic chip simulator.

Data flows one way through one package per stage:
describe (chip + network) -> map (onto cores) -> compile (flat arrays)
-> sim (Numba kernels) -> account (counts x cost tables) -> report.
"""

__version__ = "0.1.0"

from nmsim.jit import ensure_cache_dir as _ensure_cache_dir  # noqa: E402

_ensure_cache_dir()  # before any kernel module imports numba
