"""Paper-size replay of the whole PTB test set: wall time, peak memory and functional-record size.

The paper-size 90 % EGRU (embedding 750, layers 1350/1350/750, PTB vocabulary) with **untrained random
integer weights** (no trained one exists; ``nmsim.replay.synth``, the model of
``benchmarks/replay_benchmark.py --which paper``), decoder on the chip: its tied decoder (10,000 x 750
synapses) needs more than one Loihi, so the chip is the Loihi preset on a 16 x 8 mesh (512 cores, the
``--paper-decoder chip`` setting of ``replay_benchmark.py``), ``snake`` placement (``--placement``),
pipelined.  The replay runs in two passes (``nmsim.replay.replay(..., workers=N)``, the path of
``nmsim run --workers N``): the functional pass in this process and the timing pass on ``--workers`` local
processes beside it.

By default every token of the PTB test split (82,430); ``--tokens N`` replays the first ``N`` and
extrapolates the wall time and record size to the whole split linearly in steps (printed as such).

Printed: mapping time, the replay's wall time and CPU time (this process and its workers), tokens per
second, peak memory (the largest PSS of this process and its worker processes together, sampled every
0.2 s, and each process's peak RSS), the functional record's size on disk, and ``bit_exact``.

    nice -n 10 python benchmarks/paper_fulltest_benchmark.py [--tokens all] [--workers 2] [--placement snake]
"""

from __future__ import annotations

import os

for _v in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

#: tokens of the PTB test split (``data/ptb``, with the end-of-sentence tokens)
PTB_TEST_TOKENS = 82430
#: targets of issue 12 (two local workers)
TARGET_S, TARGET_MIB, TARGET_RECORD = 15 * 60, 2048, 10**9


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    out = []
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


class PeakPss:
    """Samples the PSS of this process and its descendants (the timing workers) every ``interval`` s."""

    def __init__(self, interval: float = 0.2):
        self.peak_kib = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._t.start()

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            pids, todo = [], [os.getpid()]
            while todo:
                p = todo.pop()
                pids.append(p)
                todo += _children(p)
            self.peak_kib = max(self.peak_kib, sum(_pss_kib(p) for p in pids))
            self._stop.wait(interval)

    def stop(self) -> float:
        self._stop.set()
        self._t.join()
        return self.peak_kib / 1024.0


def _cpu() -> tuple[float, float]:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime, c.ru_utime + c.ru_stime


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", default="all", help="tokens of the PTB test split to replay (default: all)")
    ap.add_argument("--workers", type=int, default=2, help="local timing processes (default 2)")
    ap.add_argument("--placement", default="snake")
    ap.add_argument("--model", default=None, help="model file (default: the synthetic paper-size model)")
    ap.add_argument("--readout-values", type=int, default=1, metavar="K",
                    help="noc.readout_values_per_packet: logits per packet to the host (default 1, the preset's)")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from replay_benchmark import _synthetic

    from nmsim.lm.golden import GoldenModel
    from nmsim.lm.modelfile import load_model
    from nmsim.replay import ReplayConfig, build_replay, load_replay_chip, load_tokens, replay

    mem = PeakPss()
    t0 = time.perf_counter()
    model = Path(a.model) if a.model else _synthetic(Path(tempfile.gettempdir()) / "nmsim-bench-paper-s90.nmm",
                                                     750, (1350, 1350, 750), "synthetic-paper-s90")
    ov = {"mesh.width": 16, "mesh.height": 8}
    if a.readout_values != 1:
        ov["noc.readout_values_per_packet"] = a.readout_values
    mf = load_model(model)
    toks, _ = load_tokens(mf, "ptb", "test", a.tokens)
    full = len(load_tokens(mf, "ptb", "test", "all")[0])
    mapped = build_replay(GoldenModel(mf), load_replay_chip("loihi", ov), a.placement, "chip")
    t_map = time.perf_counter() - t0
    cfg = ReplayConfig(model=str(model), chip="loihi", decoder="chip", chip_overrides=ov, placement=a.placement)
    print(f"{mf.header.get('name')} (random integer weights) on loihi 16x8 ({mapped.model.n_cores} cores, "
          f"{a.readout_values} logit(s) per packet to the host, "
          f"{mapped.model.syn_weight.size:,} synapses), decoder on chip, {a.placement} placement: mapping "
          f"{t_map:.1f} s; replaying {len(toks)} of {full} PTB test tokens on {a.workers} worker(s)", flush=True)
    with tempfile.TemporaryDirectory() as td:
        rec_path = Path(td) / "record.npz"
        c0, w0 = _cpu()
        t1 = time.perf_counter()
        res = replay(cfg, mapped=mapped, tokens=toks, workers=a.workers, record_path=rec_path, keep_record=True)
        wall = time.perf_counter() - t1
        c1, w1 = _cpu()
        size = rec_path.stat().st_size
    peak = mem.stop()
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    rss_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    s = res.summary
    steps = res.functional_record["steps"]
    full_steps = full + steps - len(toks)  # the pipeline's fill adds the same steps to any token count
    scale = full_steps / steps
    print(f"  replay wall {wall:.1f} s = {len(toks) / wall:.1f} tokens/s; CPU {c1 - c0:.1f} s here + "
          f"{w1 - w0:.1f} s in the workers; bit_exact {s['bit_exact']}", flush=True)
    print(f"  peak memory {peak:.0f} MiB (PSS, this process + workers; peak RSS {rss_self:.0f} MiB here, "
          f"{rss_child:.0f} MiB largest worker); target <= {TARGET_MIB} MiB", flush=True)
    print(f"  functional record {size:,} bytes for {steps} steps", flush=True)
    if len(toks) < full:
        print(f"  extrapolated to the whole test set ({full} tokens, {full_steps} steps, x{scale:.1f}, linear in "
              f"steps): replay wall {wall * scale / 60:.1f} min (+ mapping {t_map:.0f} s; target <= "
              f"{TARGET_S // 60} min), record {size * scale / 1e6:.0f} MB (target <= {TARGET_RECORD / 1e9:g} GB)")
    else:
        print(f"  whole test set: {(wall + t_map) / 60:.1f} min with mapping (target <= {TARGET_S // 60} min), "
              f"record {size / 1e6:.0f} MB (target <= {TARGET_RECORD / 1e9:g} GB)")
    return 0 if s["bit_exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
