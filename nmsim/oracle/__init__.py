"""Independent SimPy oracle of ``docs/engine-model.md`` and random small test cases.

:func:`oracle_run` (``functional_oracle``) / :func:`oracle_step` (``simpy_chip``; packet paths and link
ranks in ``oracle_paths``) re-implement the specification without sharing timing code with ``nmsim.sim``;
:func:`random_case` (``random_cases``) builds seeded random small chips and
networks on which both are compared.
"""

from nmsim.oracle.oracle_paths import xy_path  # noqa: F401
from nmsim.oracle.simpy_chip import OracleResult, OracleStep, PacketRecord, oracle_step  # noqa: F401
from nmsim.oracle.functional_oracle import oracle_run  # noqa: F401
from nmsim.oracle.random_cases import RandomCase, RandomLMCase, build_model, random_case, random_lm_case  # noqa: F401
