"""Step schedules of the token replay (``docs/replay.md``).

A schedule says, per simulated timestep, which token the host sends (if any) and
which populations are enabled.  Stage ``0`` is the host (embedding), stages
``1..L`` the layers, stage ``L+1`` the readout (or, with the decoder on the host,
the host's decode of the last layer's events, which needs no enabled population).

``pipelined``
    token ``τ`` enters at step ``τ``; stage ``l`` handles it at step ``τ + l``;
    stage ``l`` is enabled at steps ``l .. N-1+l`` (not before its first token:
    it starts from zero state like the golden model).  ``N + L + 1`` steps.
``serial``
    token ``τ`` occupies steps ``τ(L+2) .. τ(L+2) + L + 1``, with only the stage
    that handles it enabled; the next token enters after the readout.  A layer's
    recurrent input is accumulated while it is disabled and carried over.

``latency(τ)`` = the cycles of the steps ``entry(τ) .. entry(τ) + L + 1``
(token in -> logits at the host, the readout's packets included).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MODES = ("pipelined", "serial")


@dataclass(frozen=True)
class Schedule:
    mode: str
    n_tokens: int
    n_layers: int
    n_steps: int
    entry: np.ndarray        #: int64[N] step at which token τ enters (host sends its embedding)
    token_at: np.ndarray     #: int64[n_steps] token sent by the host at each step (-1: none)
    stage_on: np.ndarray     #: bool[n_steps, L+2] stage s enabled at step (stage 0: host sends)

    @property
    def depth(self) -> int:
        """Steps from a token's entry to its logits (inclusive): ``L + 2`` (``L + 1``, decoder on the host)."""
        return self.stage_on.shape[1]

    def handles(self, stage: int, step: int) -> int:
        """Token handled by ``stage`` at ``step`` (-1 if none)."""
        s = step - stage
        if self.mode == "pipelined":
            return s if 0 <= s < self.n_tokens and self.stage_on[step, stage] else -1
        tau, r = divmod(step, self.depth)
        return tau if r == stage and tau < self.n_tokens else -1

    def token_steps(self, tau: int) -> range:
        return range(int(self.entry[tau]), int(self.entry[tau]) + self.depth)


def make_schedule(mode: str, n_tokens: int, n_layers: int, readout: bool = True) -> Schedule:
    """``readout=False`` (decoder on the host): no readout stage; the host decodes the last
    layer's events as they arrive, so a token takes ``L + 1`` steps."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r}; choices: {', '.join(MODES)}")
    N, L = int(n_tokens), int(n_layers)
    D = L + 2 if readout else L + 1
    if mode == "pipelined":
        n_steps = N + D - 1
        entry = np.arange(N, dtype=np.int64)
        stage_on = np.zeros((n_steps, D), bool)
        for s in range(D):
            stage_on[s:s + N, s] = True
    else:
        n_steps = N * D
        entry = np.arange(N, dtype=np.int64) * D
        stage_on = np.zeros((n_steps, D), bool)
        for s in range(D):
            stage_on[entry + s, s] = True
    token_at = np.full(n_steps, -1, np.int64)
    token_at[entry] = np.arange(N)
    return Schedule(mode, N, L, n_steps, entry, token_at, stage_on)
