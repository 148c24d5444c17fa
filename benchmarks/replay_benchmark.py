"""Replay benchmark: tokens per second and synaptic events per second of ``nmsim.replay``.

Two configurations (``--which small|paper|both``):

``small``
    the shipped small PTB EGRU at 90 % sparsity (``workloads/models/ptb-egru-small-s90.nmm``;
    if it is not there yet, a synthetic random-weight model of the same size:
    embedding 200, layers 256/256/200, 90 % sparsity, PTB vocabulary) on the Loihi
    preset, decoder on the chip, pipelined.
``paper``
    a paper-size model (embedding 750, layers 1350/1350/750, 90 % sparsity, PTB
    vocabulary) with **untrained random integer weights** (no GPU to train one;
    ``nmsim.replay.synth``).  Its tied decoder (10,000 x 750 synapses) does not fit one
    Loihi (6.7 M synapses of 128 KB cores), so by default it runs with the decoder on
    the host (``--paper-decoder host``); ``--paper-decoder chip`` uses a 4-chip Loihi-like
    mesh (16 x 8 tiles, ``--set``-style overrides of the preset).

Wall time covers the replay loop (engine, golden check, accounting); mapping and JIT
compilation are excluded by a warm-up run and reported separately.  Peak memory is the
process's peak RSS.  One thread (``NUMBA_NUM_THREADS=1``, BLAS 1 thread).

    python benchmarks/replay_benchmark.py [--which both] [--tokens 300] [--paper-tokens 100]
"""

from __future__ import annotations

import os

for _v in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from nmsim.lm.golden import GoldenModel  # noqa: E402
from nmsim.lm.modelfile import load_model  # noqa: E402
from nmsim.paths import models_dir  # noqa: E402
from nmsim.replay import ReplayConfig, build_replay, load_replay_chip, load_tokens, replay  # noqa: E402


def _synthetic(path: Path, emb: int, hidden: tuple, name: str) -> Path:
    from nmsim.lm.data import load_corpus
    from nmsim.replay.synth import save_synthetic

    if not path.exists():
        save_synthetic(path, kind="egru", vocab=load_corpus("ptb").vocab.itos, emb=emb, hidden=hidden,
                       sparsity=0.9, seed=0, theta=0.35, name=name)
    return path


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench(label: str, model: Path, chip: str, tokens: int, decoder: str, overrides: dict | None = None) -> dict:
    t0 = time.perf_counter()
    mf = load_model(model)
    golden = GoldenModel(mf)
    toks, _ = load_tokens(mf, "ptb", "test", tokens + 8)
    mapped = build_replay(golden, load_replay_chip(chip, overrides), "snake", decoder)
    t_map = time.perf_counter() - t0
    cfg = ReplayConfig(model=str(model), chip=chip, decoder=decoder, chip_overrides=overrides or {})
    t1 = time.perf_counter()
    replay(cfg, mapped=mapped, tokens=toks[:8])  # warm-up: JIT compilation, caches
    t_warm = time.perf_counter() - t1
    t2 = time.perf_counter()
    r = replay(cfg, mapped=mapped, tokens=toks[8:8 + tokens])
    wall = time.perf_counter() - t2
    s = r.summary
    synops = s["synaptic_ops_per_token"] * tokens
    out = {"label": label, "model": s["model"], "chip": s["chip"], "decoder": decoder, "tokens": tokens,
           "cores": s["cores_used"], "synapses": int(mapped.lm.net.nnz), "bit_exact": s["bit_exact"],
           "tokens_per_s": tokens / wall, "synaptic_events_per_s": synops / wall,
           "synaptic_ops_per_token": s["synaptic_ops_per_token"], "activity": s["activity"],
           "map_s": t_map, "warmup_s": t_warm, "wall_s": wall, "peak_rss_mib": peak_rss_mib(),
           "sim_latency_us": s["latency_ns"]["mean"] / 1e3, "sim_energy_nj_per_token": s["energy_nj_per_token"]["total"]}
    print(f"{label}: {s['model']} on {s['chip']} (decoder {decoder}, {s['cores_used']} cores, "
          f"{out['synapses']:,} synapses): {tokens} tokens in {wall:.2f} s = {out['tokens_per_s']:.1f} tokens/s, "
          f"{out['synaptic_events_per_s']:.3g} synaptic events/s; bit_exact {s['bit_exact']}; "
          f"mapping {t_map:.1f} s, warm-up {t_warm:.1f} s; peak RSS {out['peak_rss_mib']:.0f} MiB", flush=True)
    print(f"    activity {s['activity']}, synaptic ops/token {s['synaptic_ops_per_token']:.0f}, "
          f"simulated latency {out['sim_latency_us']:.1f} us/token, energy {out['sim_energy_nj_per_token']:.0f} nJ/token",
          flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--which", choices=["small", "paper", "both"], default="both")
    ap.add_argument("--tokens", type=int, default=300)
    ap.add_argument("--paper-tokens", type=int, default=100)
    ap.add_argument("--paper-decoder", choices=["host", "chip"], default="host")
    ap.add_argument("--small-decoder", choices=["host", "chip"], default="chip")
    ap.add_argument("--model", default=None, help="small model file (default: the shipped s90 model)")
    ap.add_argument("--readout-values", type=int, default=1, metavar="K",
                    help="noc.readout_values_per_packet of the chip: logits per packet to the host (default 1, "
                         "the preset's; docs/engine-model.md 2.2)")
    a = ap.parse_args(argv)
    packed = {"noc.readout_values_per_packet": a.readout_values} if a.readout_values != 1 else {}
    tmp = Path(tempfile.gettempdir())
    if a.which in ("small", "both"):
        shipped = models_dir() / "ptb-egru-small-s90.nmm"
        model = Path(a.model) if a.model else shipped if shipped.exists() else \
            _synthetic(tmp / "nmsim-bench-small-s90.nmm", 200, (256, 256, 200), "synthetic-small-s90")
        if model != shipped and not a.model:
            print(f"(shipped model {shipped} not found: using an untrained random-weight model of the same size)")
        bench("small", model, "loihi", a.tokens, a.small_decoder, packed or None)
    if a.which in ("paper", "both"):
        model = _synthetic(tmp / "nmsim-bench-paper-s90.nmm", 750, (1350, 1350, 750), "synthetic-paper-s90")
        ov = {"mesh.width": 16, "mesh.height": 8} if a.paper_decoder == "chip" else {}
        bench("paper (random weights)", model, "loihi", a.paper_tokens, a.paper_decoder, {**ov, **packed} or None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
