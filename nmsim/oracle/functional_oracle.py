"""The oracle's whole run (:func:`oracle_run`): spec section 1 (``docs/engine-model.md``) in plain Python integers,
step by step, and the SimPy timing of :func:`nmsim.oracle.simpy_chip.oracle_step` for every step.  Recurrent
cells go through the golden NumPy cells of :mod:`nmsim.lm.golden` (reading R11 of :mod:`nmsim.oracle.simpy_chip`).
"""

from __future__ import annotations

import numpy as np

from nmsim.compile.compiled import MODEL_EGRU, MODEL_GRU, MODEL_LIF, MODEL_LSTM, MODEL_READOUT, CompiledModel
from nmsim.describe.actions import N_ACTIONS
from nmsim.oracle.simpy_chip import OracleResult, check_host_is_input, oracle_step


def _cell_oracle(model: CompiledModel, g: int, acc: list, c_prev: int) -> tuple[int, int]:
    """One recurrent-cell unit through the golden NumPy cell (R11): ``(payload, new c)``."""
    from nmsim.describe.neuron_models import cell_params_from_columns
    from nmsim.lm.golden import CELL_FUNCS

    kind = {MODEL_EGRU: "egru", MODEL_GRU: "gru", MODEL_LSTM: "lstm"}[int(model.neuron_model[g])]
    luts = [model.lut[i, :int(model.lut_size[i])] for i in range(model.lut.shape[0])]
    cp = cell_params_from_columns(kind, model.neuron_param[g:g + 1], luts)
    y, c = CELL_FUNCS[kind](np.array(acc[:4], dtype=np.int64).reshape(4, 1), np.array([c_prev], np.int64), cp)
    return int(y[0]), int(c[0])


def _update(model: CompiledModel, g: int, acc: list, state: list, received: bool) -> tuple[int, bool, bool]:
    """Spec section 1 for enabled neuron ``g`` (not an input): ``(payload, fired, active)``; updates ``state``."""
    mdl = int(model.neuron_model[g])
    if mdl == MODEL_READOUT:
        return min(max(acc[0] + int(model.neuron_param[g, 0]), -(2**31)), 2**31 - 1), True, True
    if mdl != MODEL_LIF:
        payload, state[0] = _cell_oracle(model, g, acc, state[0])
        return payload, payload != 0 or mdl != MODEL_EGRU, True  # dense baselines send every step
    threshold, decay, bias, reset_mode, v_min, v_max, on_event = (int(x) for x in model.neuron_param[g, :7])
    u, v = acc[0], state[0]
    v1 = min(max(v - ((v * decay) >> 12) + bias + u, v_min), v_max)
    fired = v1 > threshold
    state[0] = ((v1 - threshold) if reset_mode == 0 else 0) if fired else v1
    return (1 if fired else 0), fired, u != 0 or v != 0 or bias != 0 or (on_event == 1 and received)


def oracle_run(model: CompiledModel, n_steps: int, host_payloads: np.ndarray,
               enable: np.ndarray | None = None, tick_cycles: int = 0, overrun: str = "stretch") -> OracleResult:
    """Run ``n_steps`` timesteps: spec section 1 in plain Python integers, timing by :func:`oracle_step`.

    ``host_payloads`` int64[n_steps, n_host]: payload of each host neuron
    (``core_neuron_ptr[n_cores] .. N-1``, in order) per step; 0 = no event.
    ``enable`` bool[n_steps, N] (default: all enabled): R9.  ``tick_cycles``, ``overrun``: fixed-tick
    mode (:func:`oracle_step`).
    """
    model.check()
    check_host_is_input(model)
    N, C = model.n_neurons, model.n_cores
    host0 = int(model.core_neuron_ptr[C])
    host_payloads = np.asarray(host_payloads, dtype=np.int64).reshape(n_steps, N - host0)
    state = [[int(v) for v in row] for row in model.neuron_state]
    acc = [[0] * model.n_accumulators for _ in range(N)]  # filled during the previous step
    received = [False] * N  # got >= 1 synaptic event during the previous step (zero weights included)
    enable = np.ones((n_steps, N), bool) if enable is None else np.asarray(enable, bool).reshape(n_steps, N)
    fired_out = np.zeros((n_steps, N), dtype=np.uint8)
    payload_out = np.zeros((n_steps, N), dtype=np.int64)
    steps = []
    for t in range(n_steps):
        fired, active, payload = [False] * N, [False] * N, [0] * N
        carry = [[0] * model.n_accumulators for _ in range(N)]
        carry_received = [False] * N
        for g in range(N):
            if g >= host0:  # input neuron: the host gives the event
                payload[g] = int(host_payloads[t, g - host0])
                fired[g] = payload[g] != 0
                continue
            if not enable[t, g]:  # R9: keeps state and accumulated input
                carry[g] = list(acc[g])
                carry_received[g] = received[g]
                continue
            payload[g], fired[g], active[g] = _update(model, g, acc[g], state[g], received[g])
        acc, received = carry, carry_received
        for g in range(N):
            if not fired[g]:
                continue
            for k in range(int(model.route_ptr[g]), int(model.route_ptr[g + 1])):
                row = int(model.route_row[k])
                if row < 0:  # R10: to the host
                    continue
                for j in range(int(model.row_ptr[row]), int(model.row_ptr[row + 1])):
                    acc[int(model.syn_target[j])][int(model.syn_acc[j])] += int(model.syn_weight[j]) * payload[g]
                    received[int(model.syn_target[j])] = True
        fired_out[t], payload_out[t] = fired, payload
        steps.append(oracle_step(model, np.array(fired), np.array(active), enable[t], tick_cycles, overrun))
    return OracleResult(
        fired=fired_out,
        payload=payload_out,
        counters=np.array([s.counters for s in steps], dtype=np.int64).reshape(n_steps, C + 1, N_ACTIONS),
        step_cycles=np.array([s.step_cycles for s in steps], dtype=np.int64),
        link_busy=np.array([s.link_busy for s in steps], dtype=np.int64).reshape(n_steps, model.n_links),
        final_state=np.array(state, dtype=np.int64).reshape(N, 4),
        steps=steps,
        overrun=np.array([s.overrun for s in steps], dtype=bool) if tick_cycles > 0 else None,
    )
