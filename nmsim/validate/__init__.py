"""Validation studies (``nmsim validate``): engine vs SimPy oracle, published per-operation
figures, and SANA-FE import and side-by-side comparison.  See ``docs/validation.md``."""
