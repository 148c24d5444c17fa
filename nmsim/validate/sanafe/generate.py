"""Random integer LIF networks written in SANA-FE's SNN format (for the side-by-side tests and benchmarks).

The networks are what a SANA-FE user's generator produces: uniform random
connectivity drawn with replacement (so some (source, target) pairs repeat),
integer weights that include 0, integer thresholds, ``leak_decay`` 0 or 1, hard
or soft reset, a few biases.  One edge per line, ``- a.i -> b.j: [weight: w]``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nmsim.validate.sanafe.arch import parse_arch


def write_random_snn(path: Path, arch_path: Path, *, n_in: int, n_lif: int, density: float, n_steps: int,
                     p_in: float, seed: int, tiles: int | None = None, name: str = "random",
                     weights=(-3, -2, -1, 1, 2, 3, 4, 5), thresholds=(2, 9), zero_frac: float = 0.0,
                     dup_frac: float = 0.0, in_density: float | None = None) -> Path:
    """Write a random recurrent LIF network; returns ``path``.

    ``density``: expected edges per (LIF, LIF) pair (drawn uniformly with replacement, so pairs may
    repeat by chance); inputs connect with ``in_density`` (default ``2 * density``).  ``zero_frac``: share
    of edges with weight 0; ``dup_frac``: share of edges written a second time (new weight) right after a
    random earlier edge.  Inputs sit on tile 0 core 0, each on its own ``input`` soma unit of the
    architecture; LIF neurons are dealt round-robin over the cores of the first ``tiles`` tiles.
    """
    arch = parse_arch(arch_path)
    in_units = [u.name for u in arch.units["soma"] if u.model == "input"]
    lif_unit = next(u.name for u in arch.units["soma"] if u.model != "input")
    if len(in_units) < n_in:
        raise ValueError(f"{arch_path}: {len(in_units)} input soma units for {n_in} inputs")
    rng = np.random.default_rng(seed)
    T = tiles or arch.width * arch.height
    cores = [f"{t}.{c}" for t in range(T) for c in range(arch.cores_per_tile)]
    L = ["# Random network in SANA-FE's SNN format, written by nmsim.validate.sanafe.generate.write_random_snn",
         f"# seed {seed}: {n_in} inputs, {n_lif} LIF neurons, density {density}, input rate {p_in}, "
         f"zero weights {zero_frac}, repeated edges {dup_frac}",
         "network:", f"  name: {name}", "  groups:"]
    if n_in:
        L += ["    - name: in", "      attributes: [log_spikes: true]", "      neurons:"]
        spikes = (rng.random((n_steps, n_in)) < p_in).astype(int)
        for i in range(n_in):
            L.append(f"        - {i}: [spikes: [{', '.join(map(str, spikes[:, i]))}]]")
    L += ["    - name: lif", f"      attributes: [log_spikes: true, soma_hw_name: {lif_unit}]", "      neurons:"]
    for i in range(n_lif):
        a = [f"threshold: {int(rng.integers(*thresholds))}.0", f"leak_decay: {rng.choice(['1.0', '1.0', '0.0'])}",
             f"reset_mode: {rng.choice(['hard', 'soft'])}"]
        if rng.random() < 0.05:
            a.append(f"bias: {int(rng.integers(1, 3))}.0")
        L.append(f"        - {i}: [{', '.join(a)}]")
    L.append("  edges:")
    ind = 2 * density if in_density is None else in_density
    for src, n_src, d in (("in", n_in, ind), ("lif", n_lif, density)):
        m = int(rng.binomial(n_src * n_lif, min(d, 1.0))) if n_src else 0
        a, b = rng.integers(0, n_src, m), rng.integers(0, n_lif, m)
        w = rng.choice(np.asarray(weights), m)
        w[rng.random(m) < zero_frac] = 0
        order = np.lexsort((b, a))
        a, b, w = a[order], b[order], w[order]
        dup = rng.random(m) < dup_frac
        w2 = rng.choice(np.asarray(weights), m)
        for k in range(m):
            L.append(f"    - {src}.{a[k]} -> lif.{b[k]}: [weight: {w[k]}.0]")
            if dup[k]:
                L.append(f"    - {src}.{a[k]} -> lif.{b[k]}: [weight: {w2[k]}.0]")
    L.append("mappings:")
    for i in range(n_in):
        L.append(f"  - in.{i}: [core: 0.0, soma: \"{in_units[i]}\"]")
    for i in range(n_lif):
        L.append(f"  - lif.{i}: [core: {cores[i % len(cores)]}]")
    Path(path).write_text("\n".join(L) + "\n")
    return Path(path)
