"""Two-pass replay benchmark: the timing pass on a Dask ``LocalCluster`` with 1 vs 2 worker processes.

The default model (``ptb-egru-small-s90``) on the default chip (``loihi``, balanced placement, decoder on
the chip, pipelined), ``--tokens`` tokens (default 1000).  The functional pass runs once (in this process)
and writes the compressed functional record; then the timing pass (``nmsim.replay.twopass.time_steps``)
times that record on a ``LocalCluster(n_workers=k, processes=True, threads_per_worker=1)`` for each ``k``
in ``--workers`` (default ``1 2``), after the workers have compiled / loaded their kernels (the worker
plugin of ``nmsim sweep``, untimed).  Wall time of a timing pass covers handing the model to the workers,
reading the record chunk by chunk, the workers' timing and the transfer of the results.

Prints each time, the ratio (time with 1 worker / time with k) and checks that every timed chunk (cycles,
per-core counters, link busy cycles, core end and synapse-free cycles of every step) is identical across
the worker counts and to the timing pass in this process (``--workers 1`` of ``nmsim run``).

    nice -n 10 python benchmarks/twopass_dask_benchmark.py [--tokens 1000] [--workers 1 2]
"""

from __future__ import annotations

import os

for _v in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402


def _timed(model, path: Path, workers: int | None, client=None) -> tuple[float, list]:
    from nmsim.replay.twopass import RecordFile, time_steps

    t0 = time.perf_counter()
    with RecordFile(path) as rec:
        chunks = list(time_steps(model, rec, workers or 1, scheduler=client))
    return time.perf_counter() - t0, chunks


def _cpu_s() -> float:
    """This process's CPU seconds (user + system), run on each Dask worker."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(x[0] == y[0] and all(np.array_equal(u, v) for u, v in zip(x[1:], y[1:]))
                                    for x, y in zip(a, b))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=1000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Dask worker processes to compare")
    a = ap.parse_args(argv)

    from distributed import Client, LocalCluster

    from nmsim.lm.golden import GoldenModel
    from nmsim.lm.modelfile import load_model
    from nmsim.replay import (DEFAULT_MODEL, ReplayConfig, build_replay, load_replay_chip, load_tokens, replay,
                              resolve_model_path)
    from nmsim.replay.sweep_point import warm
    from nmsim.sweep._dask import NmsimWorkerSetup

    cfg = ReplayConfig(tokens=str(a.tokens))
    mf = load_model(resolve_model_path(DEFAULT_MODEL))
    toks, _ = load_tokens(mf, cfg.dataset, cfg.split, cfg.tokens)
    t0 = time.perf_counter()
    mapped = build_replay(GoldenModel(mf), load_replay_chip(cfg.chip), cfg.placement, cfg.decoder, cfg.seed)
    t_map = time.perf_counter() - t0
    warm()
    with tempfile.TemporaryDirectory() as td:
        path = Path(td) / "record.npz"
        t0 = time.perf_counter()
        res = replay(cfg, mapped=mapped, tokens=toks, workers=1, record_path=path)  # both passes, in-process
        t_both = time.perf_counter() - t0
        fr = res.functional_record
        t_local, ref = _timed(mapped.model, path, 1)
        print(f"{res.summary['model']} on {res.summary['chip']}: {len(toks)} tokens, {fr['steps']} steps in "
              f"{len(ref)} chunks of {fr['chunk_steps']}; record {fr['bytes']} bytes; bit_exact "
              f"{res.summary['bit_exact']}; mapping {t_map:.1f} s", flush=True)
        print(f"  both passes in this process: {t_both:.2f} s; timing pass alone in this process: {t_local:.2f} s",
              flush=True)
        times = {}
        identical = True
        for k in a.workers:
            with LocalCluster(n_workers=k, threads_per_worker=1, processes=True, dashboard_address=None,
                              silence_logs=logging.ERROR) as lc, Client(lc) as client:
                client.register_plugin(NmsimWorkerSetup("replay"), name="nmsim-sweep-setup")  # warm, untimed
                cpu0 = client.run(_cpu_s)
                times[k], chunks = _timed(mapped.model, path, None, client)
                cpu = sum(v - cpu0[w] for w, v in client.run(_cpu_s).items())
            same = _same(chunks, ref)
            identical &= same
            print(f"  Dask LocalCluster, {k} worker process(es): timing pass {times[k]:.2f} s; workers' CPU "
                  f"{cpu:.2f} s (= {cpu / times[k]:.2f} cores busy on average); chunks identical to the "
                  f"in-process timing pass: {same}", flush=True)
    base = min(a.workers)
    for k in a.workers:
        if k != base:
            print(f"ratio {base} -> {k} workers: {times[base] / times[k]:.2f}x (time with {base} / time with {k})")
    print(f"outputs identical: {identical}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs "
          "(other processes share the cores: the ratio is bounded by the CPU time left to the workers)")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
