"""Unstructured magnitude pruning with a gradual (Zhu & Gupta 2017) schedule.

Sparsity at optimizer step ``t`` (``t0 <= t <= t0 + n``)::

    s(t) = s_f + (s_i - s_f) * (1 - (t - t0) / n) ** 3

Every ``freq`` steps the mask of each matrix is recomputed by magnitude
(already-pruned weights are zero, so masks only ever shrink); after every
optimizer step the weights are multiplied by their masks, so pruned weights
stay exactly zero through fine-tuning.  Thresholds are **per matrix** by
default (W and R of each layer, all gates jointly); ``include_embedding``
also prunes the tied embedding/decoder matrix.
"""

from __future__ import annotations

import torch

from workloads.model import LanguageModel, prunable_matrices


def zhu_gupta(step: int, target: float, start: int, n_steps: int, initial: float = 0.0) -> float:
    if step <= start:
        return initial
    if n_steps <= 0 or step >= start + n_steps:
        return target
    frac = (step - start) / n_steps
    return target + (initial - target) * (1.0 - frac) ** 3


def magnitude_mask(w: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Mask keeping the largest-magnitude ``(1 - sparsity)`` fraction of ``w``."""
    n = w.numel()
    k = int(round(sparsity * n))
    if k <= 0:
        return torch.ones_like(w, dtype=torch.bool)
    flat = w.detach().abs().flatten()
    # ties broken by index (stable sort) so the result is deterministic
    order = torch.argsort(flat, stable=True)
    mask = torch.ones(n, dtype=torch.bool)
    mask[order[:k]] = False
    return mask.view_as(w)


class GradualPruner:
    def __init__(self, model: LanguageModel, target: float, start_step: int, n_steps: int,
                 freq: int = 50, include_embedding: bool = False, masks: dict | None = None):
        self.model = model
        self.target, self.start, self.n_steps, self.freq = target, start_step, n_steps, freq
        self.params = prunable_matrices(model, include_embedding)
        self.masks = {k: torch.ones_like(p, dtype=torch.bool) for k, p in self.params.items()}
        if masks:
            for k, m in masks.items():
                if k in self.masks:
                    self.masks[k] = m.clone().bool()
        self.current = 0.0

    def update(self, step: int) -> None:
        """Recompute masks if the schedule says so (call before the optimizer step)."""
        if step < self.start:
            return
        if step < self.start + self.n_steps and (step - self.start) % self.freq != 0:
            return
        s = zhu_gupta(step, self.target, self.start, self.n_steps)
        if s <= self.current + 1e-12:
            return
        self.current = s
        for k, p in self.params.items():
            self.masks[k] = magnitude_mask(p * self.masks[k], s)
        self.apply()

    @torch.no_grad()
    def apply(self) -> None:
        for k, p in self.params.items():
            p.mul_(self.masks[k])

    def sparsity(self) -> dict:
        return {k: 1.0 - m.float().mean().item() for k, m in self.masks.items()}
