"""Multicast benchmark: the engine benchmark's random LIF network under unicast and multicast routing.

The network of ``engine_benchmark.py`` (random fan-out on the Loihi-like 8x4 x 4-core mesh, Loihi timing),
simulated twice from the same state: ``CompiledModel.multicast = False`` and ``True``.  Prints, per mode,
wall microseconds per step (JIT excluded by a warm-up step), packets, flit-hops, replications and table
look-ups per step and simulated cycles per step.  Speed is never asserted.

    python benchmarks/multicast_benchmark.py [--steps 5] [--neurons 16384] [--fan-out 64] [--per-core 512]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from engine_benchmark import random_lif_model  # noqa: E402

from nmsim.describe.actions import A  # noqa: E402
from nmsim.sim.engine import Engine  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--neurons", type=int, default=16384)
    ap.add_argument("--fan-out", type=int, default=64)
    ap.add_argument("--per-core", type=int, default=512)
    a = ap.parse_args(argv)
    base = random_lif_model(a.neurons, a.fan_out, a.per_core)
    for mc in (False, True):
        t0 = time.perf_counter()
        eng = Engine(dataclasses.replace(base, multicast=mc))
        t_init = time.perf_counter() - t0
        eng.step()  # warm-up: JIT compilation (or cache load)
        wall, tot, cyc = 0.0, np.zeros(len(A), np.int64), []
        for _ in range(a.steps):
            s0 = time.perf_counter()
            r = eng.step()
            wall += time.perf_counter() - s0
            tot += r.counters.sum(axis=0)
            cyc.append(r.step_cycles)
        per = lambda name: tot[A[name]] / a.steps  # noqa: E731
        hops = per("flit_hop_east_west") + per("flit_hop_north_south")
        print(f"{'multicast' if mc else 'unicast':9s}: wall {wall / a.steps * 1e6:,.0f} us/step (engine init "
              f"{t_init:.2f} s); per step {per('packet_send'):,.0f} packets, {hops:,.0f} flit-hops, "
              f"{per('multicast_replication'):,.0f} replications, {per('routing_table_lookup'):,.0f} look-ups; "
              f"simulated {np.mean(cyc):,.0f} cycles/step")


if __name__ == "__main__":
    main()
