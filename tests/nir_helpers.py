"""Shared builders for the NIR tests: small snnTorch networks, their own simulation, NIR export."""

from __future__ import annotations

import numpy as np


def snntorch_net(seed: int, sizes=(6, 8, 4), beta=1.0, thresholds=(4.0, 3.0), w_range=(-3, 6), bias=True):
    """A Linear -> Leaky -> Linear -> Leaky snnTorch network with integer weights (reset to zero, as NIR)."""
    import snntorch as snn
    import torch

    rng = np.random.default_rng(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = torch.nn.Linear(a, b, bias=bias)
        with torch.no_grad():
            lin.weight[:] = torch.tensor(rng.integers(w_range[0], w_range[1] + 1, (b, a)), dtype=torch.float32)
            if bias:
                lin.bias[:] = torch.tensor(rng.integers(-1, 2, b), dtype=torch.float32)
        layers += [lin, snn.Leaky(beta=torch.full((b,), float(beta)), threshold=torch.full((b,), thresholds[i]),
                                  init_hidden=True, reset_mechanism="zero")]
    return torch.nn.Sequential(*layers)


def snntorch_run(net, x: np.ndarray) -> list[np.ndarray]:
    """snnTorch's own simulation: spikes ``int[T, n]`` of every Leaky layer for inputs ``x [T, n_in]``."""
    import snntorch as snn
    import torch
    from snntorch import utils

    utils.reset(net)
    leaky = [m for m in net if isinstance(m, snn.Leaky)]
    out = [[] for _ in leaky]
    with torch.no_grad():
        for t in range(x.shape[0]):
            h = torch.tensor(x[t], dtype=torch.float32)
            k = 0
            for m in net:
                h = m(h)
                if isinstance(m, snn.Leaky):
                    out[k].append(h.numpy().astype(np.int64).copy())
                    k += 1
    return [np.array(o) for o in out]


def export(net, n_in: int, path):
    """snnTorch's NIR export of ``net`` written to ``path``."""
    import nir
    import torch
    import warnings
    from snntorch.export_nir import export_to_nir

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # beta = 1: snnTorch divides by zero (tau = inf)
        warnings.simplefilter("ignore", DeprecationWarning)  # nirtorch: extract_nir_graph deprecation notice
        g = export_to_nir(net, torch.zeros(n_in))
    nir.write(str(path), g)
    return g
