"""Engine benchmark: a random integer LIF network on a Loihi-like chip.

About 64k neurons, fan-out 128 (uniform random targets), about 10 % of the
neurons firing per step, placed in index order on an 8x4 mesh with 4 cores
per router and up to 1024 neurons per core.  The ``CompiledModel`` is built
directly by :func:`nmsim.compile.lif.lif_model` (random connectivity at this size is faster to lay out
that way than through the mapper), with every timing value taken from the Loihi preset
``chips/loihi.toml`` (Davies et al. 2018 Table 2 at a 10 GHz virtual clock;
see the file for the source of each number), including its 8-packet router
buffers (an assumption; ``--buffer-depth`` overrides it).  A packet holds
its slot from its grant until its next grant, at least one hop latency (41/65
cycles), so D slots carry at most D packets per ~42 cycles per link: with this
traffic the mesh saturates and stalls back to the send units.

Dynamics: every neuron has a bias of ``threshold / 10`` and no leak, and a
random initial potential, so each fires about once every 10 steps; the
synaptic weights are small (+-2) noise around that.

Prints synaptic events per second (wall, one thread, timing model included,
JIT compilation excluded by a warm-up step), microseconds per step, packets
per step and peak RSS.  Speed is never asserted.

    python benchmarks/engine_benchmark.py [--steps 10] [--neurons 65536] [--per-core 1024]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

from nmsim.compile.compiled import CompiledModel
from nmsim.compile.lif import lif_model, lif_params
from nmsim.describe.actions import A
from nmsim.sim import Engine


def loihi_timing() -> dict:
    """Every ``TIMING_FIELDS`` value of the Loihi preset (``chips/loihi.toml``), in cycles of its 10 GHz clock."""
    from nmsim.describe.chip import load_chip

    return dict(load_chip("loihi").timing_cycles())


LOIHI_TIMING = loihi_timing()


def random_lif_model(n: int, fan_out: int, per_core: int, *, width=8, height=4, cores_per_router=4, seed=0) -> CompiledModel:
    """A random LIF network of ``n`` neurons placed in index order, ``per_core`` per core."""
    rng = np.random.default_rng(seed)
    C = width * height * cores_per_router
    n_used = -(-n // per_core)
    assert n_used <= C, f"{n} neurons need {n_used} cores > {C}"
    tgt = rng.integers(0, n, size=(n, fan_out)).astype(np.int32)
    tgt.sort(axis=1)
    w = rng.integers(-2, 3, size=(n, fan_out)).astype(np.int32)
    threshold = 1000
    v0 = rng.integers(0, threshold, size=n)
    return lif_model(width=width, height=height, core_router=np.arange(C) // cores_per_router,
                     neuron_core=np.minimum(np.arange(n) // per_core, n_used - 1), io_router=0,
                     edges=(np.repeat(np.arange(n, dtype=np.int32), fan_out), tgt.ravel(), w.ravel()), timing=LOIHI_TIMING,
                     lif=lif_params(n, threshold=threshold, bias=threshold // 10), v0=v0)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--neurons", type=int, default=65536)
    ap.add_argument("--fan-out", type=int, default=128)
    ap.add_argument("--per-core", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--buffer-depth", type=int, default=LOIHI_TIMING["router_buffer_packets"],
                    help="router_buffer_packets (not in Table 2; 4 saturates the mesh links of this workload)")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    LOIHI_TIMING["router_buffer_packets"] = a.buffer_depth
    model = random_lif_model(a.neurons, a.fan_out, a.per_core, seed=a.seed)
    t1 = time.perf_counter()
    eng = Engine(model)
    eng.step()  # warm-up: JIT compilation (or cache load)
    t2 = time.perf_counter()
    n_ev = n_pk = n_fired = 0
    cycles = []
    wall = cpu = 0.0
    for _ in range(a.steps):
        s0, c0 = time.perf_counter(), time.process_time()
        r = eng.step()
        wall += time.perf_counter() - s0
        cpu += time.process_time() - c0
        n_fired += int(r.fired.sum())
        n_ev += int(r.counters[:, A["synaptic_op"]].sum())
        n_pk += int(r.counters[:, A["packet_send"]].sum())
        cycles.append(r.step_cycles)
    print(f"model: {a.neurons} neurons on {int((np.diff(model.core_neuron_ptr)[:-1] > 0).sum())} cores, "
          f"{int(model.row_ptr[-1])} synapses, {int(model.route_ptr[-1])} routes; build {t1 - t0:.1f} s, "
          f"engine init + warm-up {t2 - t1:.1f} s")
    print(f"router buffer depth {a.buffer_depth}; steps: {a.steps}; firing {n_fired / a.steps / a.neurons:.1%} per step; "
          f"packets/step {n_pk / a.steps:,.0f}; synaptic events/step {n_ev / a.steps:,.0f}; "
          f"simulated cycles/step {np.mean(cycles):,.0f}")
    print(f"wall {wall / a.steps * 1e6:,.0f} us/step; {n_ev / wall / 1e6:.2f} M synaptic events/s; "
          f"{n_pk / wall / 1e6:.2f} M packets/s; peak RSS {peak_rss_mib():,.0f} MiB")
    print(f"cpu  {cpu / a.steps * 1e6:,.0f} us/step; {n_ev / cpu / 1e6:.2f} M synaptic events/s per CPU-second "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
