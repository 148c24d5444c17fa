"""Stage 3, *compile*: a placed network on a chip becomes flat NumPy arrays."""

from nmsim.compile.compiled import CompiledModel, T, TIMING_FIELDS, PORT_E, PORT_W, PORT_N, PORT_S  # noqa: F401
