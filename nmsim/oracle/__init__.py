"""Independent SimPy oracle of ``docs/engine-model.md`` and random small test cases.

:func:`oracle_run` / :func:`oracle_step` (``simpy_chip``) re-implement the
specification without sharing timing code with ``nmsim.sim``;
:func:`random_case` (``random_cases``) builds seeded random small chips and
networks on which both are compared.
"""

from nmsim.oracle.simpy_chip import OracleResult, OracleStep, PacketRecord, oracle_run, oracle_step, xy_path  # noqa: F401
from nmsim.oracle.random_cases import RandomCase, RandomLMCase, build_model, random_case, random_lm_case  # noqa: F401
