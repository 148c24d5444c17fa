"""SANA-FE SNN import speed: a ~20 MB random integer LIF network (20k neurons, uniform connectivity, zero
weights and repeated edges) read by ``nmsim.validate.sanafe_import.import_snn``; prints seconds and peak memory.

    python benchmarks/sanafe_import_benchmark.py [--neurons 20000] [--edges-per-neuron 30] [--keep DIR]

Peak memory: ``tracemalloc`` (Python allocations, numpy included) and the process's peak RSS growth
(``resource.getrusage``, the whole process: interpreter, numpy, the file text).  Time: wall and CPU seconds
(on a shared machine the CPU figure is the import's own cost).  With ``sanafe``
installed it also times ``sanafe.load_net`` on the same file, for reference.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--neurons", type=int, default=20000, help="LIF neurons (default 20000)")
    ap.add_argument("--edges-per-neuron", type=float, default=22.0, help="mean fan-out (default 22: ~20 MB)")
    ap.add_argument("--keep", type=Path, default=None, help="write the YAML here instead of a temporary folder")
    ap.add_argument("--no-sanafe", action="store_true", help="do not time SANA-FE's own loader")
    args = ap.parse_args(argv)

    from nmsim.validate.sanafe.generate import write_random_snn
    from nmsim.validate.sanafe_compare import sanafe_loihi_file
    from nmsim.validate.sanafe_import import import_snn

    arch = sanafe_loihi_file()
    if arch is None:  # without sanafe: nmsim's own example mesh (fewer cores; import cost is the same)
        from nmsim.validate.sanafe_compare import examples_dir
        arch = examples_dir() / "mesh_arch.yaml"
    with tempfile.TemporaryDirectory() as td:
        out = (args.keep or Path(td)) / "random_20k_snn.yaml"
        out.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        n = args.neurons
        write_random_snn(out, arch, n_in=16, n_lif=n, density=args.edges_per_neuron / n, in_density=0.0,
                         n_steps=10, p_in=0.2, seed=1, weights=(-3, -2, -1, 0, 1, 2, 3, 4, 5), zero_frac=0.05,
                         dup_frac=0.01)
        mb = out.stat().st_size / 2**20
        print(f"wrote {out.name}: {mb:.1f} MB, {n} LIF neurons, in {time.perf_counter() - t0:.1f} s", flush=True)

        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        t0 = time.perf_counter()
        s = import_snn(out, arch)
        dt = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"nmsim import_snn: {dt:.2f} s (under tracemalloc), peak traced {peak / 2**20:.0f} MB, peak RSS "
              f"growth {(rss1 - rss0) / 1024:.0f} MB (RSS peak {rss1 / 1024:.0f} MB); "
              f"{s.network.n_neurons} neurons, {s.network.nnz} synapses")
        for _ in range(2):
            t0, c0 = time.perf_counter(), time.process_time()
            import_snn(out, arch)
            print(f"nmsim import_snn, without tracemalloc: {time.perf_counter() - t0:.2f} s wall, "
                  f"{time.process_time() - c0:.2f} s CPU (wall > CPU: other processes share the cores)")
        if not args.no_sanafe:
            try:
                import sanafe
            except ImportError:
                print("sanafe not installed: SANA-FE's loader not timed")
            else:
                t0, c0 = time.perf_counter(), time.process_time()
                a = sanafe.load_arch(str(arch))
                sanafe.load_net(str(out), a)
                print(f"SANA-FE load_arch + load_net: {time.perf_counter() - t0:.2f} s wall, "
                      f"{time.process_time() - c0:.2f} s CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
