"""Engine vs SimPy oracle on randomized small cases (``nmsim.oracle``).

Every case is drawn by :func:`nmsim.oracle.random_case` from its seed; the
engine (``nmsim.sim.simulate``) and the independent SimPy re-implementation of
``docs/engine-model.md`` (``nmsim.oracle.oracle_run``) must agree exactly on
every timestep's ``step_cycles``, every counter, ``link_busy``, ``fired``,
``payload`` and the final neuron state (:func:`nmsim.oracle.compare.check_case`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from nmsim.oracle import random_case
from nmsim.oracle.compare import check_case

#: Sizes as in ``tests/test_oracle_agreement.py``.
SIZES = dict(max_lif=80, max_host=12, max_steps=6)
#: Seeds of the cases with every link latency >= 1 start here (as in the test).
NONZERO_LATENCY_SEED0 = 10_000


@dataclass
class OracleStudy:
    cases: int = 0
    identical: int = 0
    steps: int = 0
    compared_values: int = 0
    failures: list = field(default_factory=list)  # (seed, first disagreement lines)
    seconds: float = 0.0

    @property
    def all_agree(self) -> bool:
        return self.cases > 0 and self.identical == self.cases


def _simulate(model, n_steps, host_payloads):
    from nmsim.sim import simulate

    return simulate(model, n_steps, host_payloads, record=("fired", "payload", "link_busy"))


def run(n_cases: int = 300, n_nonzero_latency: int | None = None, progress=None) -> OracleStudy:
    """``n_cases`` seeds ``0..n_cases-1`` plus ``n_nonzero_latency`` (default ``n_cases // 10``)
    seeds from :data:`NONZERO_LATENCY_SEED0` with every link latency >= 1."""
    from nmsim.describe.actions import N_ACTIONS

    if n_nonzero_latency is None:
        n_nonzero_latency = n_cases // 10
    seeds = [(s, True) for s in range(n_cases)]
    seeds += [(NONZERO_LATENCY_SEED0 + s, False) for s in range(n_nonzero_latency)]
    st = OracleStudy()
    t0 = time.perf_counter()
    for i, (seed, zero) in enumerate(seeds):
        case = random_case(seed, zero_latency=zero, **SIZES)
        problems = check_case(case, _simulate)
        m = case.model
        st.cases += 1
        st.steps += case.n_steps
        st.compared_values += case.n_steps * (1 + (m.n_cores + 1) * N_ACTIONS + m.n_links + 2 * m.n_neurons) \
            + m.n_neurons * 4
        if problems:
            st.failures.append((seed, problems[:5]))
        else:
            st.identical += 1
        if progress:
            progress(i + 1, len(seeds))
    st.seconds = time.perf_counter() - t0
    return st
