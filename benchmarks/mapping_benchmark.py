"""Mapping benchmark: wall time of the ``balanced`` placement of the paper-size model.

The paper-size model (embedding 750, layers 1350/1350/750, 90 % sparsity, PTB vocabulary) with
**untrained random integer weights** (``nmsim.replay.synth``, as ``benchmarks/replay_benchmark.py``)
is placed with ``balanced``:

``host``  decoder on the host, on the Loihi preset (128 cores);
``chip``  tied decoder on the chip (10,000 x 750 more synapses), on a 4-chip Loihi-like mesh
          (16 x 8 tiles = 512 cores, ``--set``-style overrides), as the replay benchmark.

Printed per case: calibration (200 PTB valid tokens through the golden reference), the candidate
search (fills, METIS, predictions), the trial replays of the best candidates on calibration tokens,
and the total (wall and CPU time: on a shared machine the wall time includes waiting for a core).
The target is at most 30 s in total.  One thread.

    python benchmarks/mapping_benchmark.py [--which host|chip|both]
"""

from __future__ import annotations

import os

for _v in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from replay_benchmark import _synthetic  # noqa: E402

from nmsim.lm.golden import GoldenModel  # noqa: E402
from nmsim.lm.modelfile import load_model  # noqa: E402
from nmsim.map.placement import place  # noqa: E402
from nmsim.replay import load_replay_chip  # noqa: E402
from nmsim.replay.calibration import calibrate  # noqa: E402
from nmsim.replay.mapped import SIM_CANDIDATES, SIM_TOKENS, _select_by_replay  # noqa: E402
from nmsim.replay.network import build_lm_network  # noqa: E402


def bench(golden, decoder: str, overrides: dict | None) -> float:
    chip = load_replay_chip("loihi", overrides)
    c0 = time.process_time()
    t0 = time.perf_counter()
    lm = build_lm_network(golden, decoder=decoder)
    wl, ids = calibrate(golden, lm, "ptb", "test", 200)
    t1 = time.perf_counter()
    cands = place(chip, lm.net, "balanced", workload=wl, candidates=SIM_CANDIDATES)
    t2 = time.perf_counter()
    pl, _ = _select_by_replay(golden, lm, chip, cands, ids[:SIM_TOKENS])
    t3 = time.perf_counter()
    cpu = time.process_time() - c0
    s = pl.search
    print(f"decoder on {decoder}: {lm.net.n_neurons - lm.emb_dim} neurons, {lm.net.nnz:,} synapses on "
          f"{chip.n_cores} cores -> {int((pl.neurons > 0).sum())} used ('{s['chosen']}', {s['candidates']} "
          f"candidates, {len(s.get('calibration_replay', [])) or 1} replayed)", flush=True)
    print(f"    calibration {t1 - t0:.1f} s, search {t2 - t1:.1f} s, trial replays {t3 - t2:.1f} s: "
          f"total {t3 - t0:.1f} s wall, {cpu:.1f} s CPU (target <= 30 s); predicted step {s['predicted_step_cycles']:.0f} cycles",
          flush=True)
    return t3 - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--which", choices=["host", "chip", "both"], default="both")
    a = ap.parse_args(argv)
    model = _synthetic(Path(tempfile.gettempdir()) / "nmsim-bench-paper-s90.nmm", 750, (1350, 1350, 750),
                       "synthetic-paper-s90")
    golden = GoldenModel(load_model(model))
    # warm-up: compile the kernels (fill, engine) on the small shipped model's first layers
    from nmsim.replay import build_replay
    from replay_benchmark import models_dir

    build_replay(GoldenModel(load_model(models_dir() / "ptb-egru-tiny.nmm")), load_replay_chip("loihi"),
                 "balanced", "host")
    if a.which in ("host", "both"):
        bench(golden, "host", None)
    if a.which in ("chip", "both"):
        bench(golden, "chip", {"mesh.width": 16, "mesh.height": 8})
    return 0


if __name__ == "__main__":
    sys.exit(main())
