"""Stage 4, *sim*: the Numba discrete-event engine (``docs/engine-model.md``).

:func:`simulate` runs a :class:`~nmsim.compile.compiled.CompiledModel` for some steps;
:class:`Engine` steps it one timestep at a time.  Kernels: :mod:`.functional`
(neuron models, accumulation) and :mod:`.timing` (model-agnostic cycle costs).
"""

from nmsim.sim.engine import Engine, host_inputs, link_tables, simulate  # noqa: F401
from nmsim.sim.result import PacketTrace, SimResult, StepResult  # noqa: F401
