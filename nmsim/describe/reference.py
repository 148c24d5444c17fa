"""Plain NumPy integer reference of ``docs/engine-model.md`` §1, straight from a :class:`Network`.

No chip, no placement: whole populations are updated with their model's NumPy
update and events are delivered with sparse products.  Mapping and compilation
must never change these results (``tests/test_compile.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nmsim.describe.network import Network
from nmsim.errors import NetworkError


@dataclass(frozen=True)
class ReferenceRun:
    """Per population: ``fired uint8[n_steps, n]``, ``payload int64[n_steps, n]``,
    ``final_state int64[n, n_state]`` (empty for host models), ``active bool[n_steps, n]`` (the update's
    cost class, ``docs/engine-model.md`` §1; False for host models)."""

    fired: dict
    payload: dict
    final_state: dict
    active: dict | None = None


def _inputs(net: Network, inputs: dict | None, n_steps: int) -> dict:
    inputs = dict(inputs or {})
    out = {}
    for name in inputs:
        if name not in net.populations:
            raise NetworkError(f"inputs: unknown population {name!r}")
        if not net.populations[name].is_host:
            raise NetworkError(f"inputs: population {name!r} is not an input population")
    for p in net.populations.values():
        if not p.is_host:
            continue
        arr = np.asarray(inputs.get(p.name, np.zeros((n_steps, p.n), dtype=np.int64)))
        if arr.shape != (n_steps, p.n) or not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
            raise NetworkError(f"inputs[{p.name!r}]: expected integers of shape ({n_steps}, {p.n}), "
                               f"got {arr.dtype} {arr.shape}")
        out[p.name] = arr.astype(np.int64)
    return out


def run_reference_full(net: Network, inputs: dict | None, n_steps: int) -> ReferenceRun:
    """Run ``n_steps`` timesteps; ``inputs[pop]`` is ``int[n_steps, n]`` payloads (0 = no event)."""
    ins = _inputs(net, inputs, n_steps)
    pops = list(net.populations.values())
    models = {p.name: p.neuron_model for p in pops}
    param = {p.name: np.stack([p.params[k] for k in models[p.name].params], axis=1)
             if models[p.name].params else np.zeros((p.n, 0), np.int64) for p in pops}
    state = {p.name: np.stack([p.params[f"{s}_init"] for s in models[p.name].state], axis=1)
             if models[p.name].state else np.zeros((p.n, 0), np.int64) for p in pops}
    acc = {p.name: np.zeros((p.n, max(models[p.name].n_inputs, 1)), np.int64) for p in pops}
    fired = {p.name: np.zeros((n_steps, p.n), np.uint8) for p in pops}
    payload = {p.name: np.zeros((n_steps, p.n), np.int64) for p in pops}
    active = {p.name: np.zeros((n_steps, p.n), bool) for p in pops}
    received = {p.name: np.zeros(p.n, bool) for p in pops}  # >= 1 synaptic event in the previous step
    # transposed weights, (n_dst, n_src), so that acc += W^T @ payload; and their pattern (every stored
    # synapse, a weight of 0 included, counts 1), so that a target's event count is pattern @ fired
    wt = [(q, q.weights.T.tocsr()) for q in net.projections]
    pattern = [w.copy() for _, w in wt]
    for pt in pattern:
        pt.data = np.ones_like(pt.data)
    for t in range(n_steps):
        for p in pops:  # 1-2: update from the accumulators of step t-1, then emit events
            m = models[p.name]
            if m.host:
                pay = ins[p.name][t]
                f = pay != 0
            else:
                extra = {"luts": net.luts} if m.needs_luts else {}
                if m.reads_received:
                    extra["received"] = received[p.name]
                f, pay, state[p.name], active[p.name][t] = m.update(param[p.name], state[p.name], acc[p.name],
                                                                    **extra)
            fired[p.name][t] = f
            payload[p.name][t] = np.where(f, pay, 0)
        nxt = {p.name: np.zeros_like(acc[p.name]) for p in pops}
        received = {p.name: np.zeros(p.n, bool) for p in pops}
        for (q, w), pt in zip(wt, pattern):  # 3: deliver into the buffer read at t+1
            nxt[q.dst][:, q.accumulator] += w @ payload[q.src][t]
            received[q.dst] |= (pt @ fired[q.src][t].astype(np.int64)) > 0
        acc = nxt
    return ReferenceRun(fired, payload, state, active)


def run_reference(net: Network, inputs: dict | None, n_steps: int) -> dict:
    """``{population: fired uint8[n_steps, n]}``; see :func:`run_reference_full`."""
    return run_reference_full(net, inputs, n_steps).fired
