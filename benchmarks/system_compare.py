"""Paper-size model on a 4-chip Loihi board vs the single wide-mesh approximation (issue 16).

The paper-size PTB EGRU (embedding 750, layers 1350/1350/750, 90 % sparsity) with **untrained random
integer weights** (``nmsim.replay.synth``, as ``benchmarks/replay_benchmark.py``) and its tied decoder on
the chip is replayed with ``nmsim run`` (``--placement`` given) on:

``board``      ``--system loihi-4chip``: 4 x 1 Loihi chips, chip-to-chip links (systems/loihi-4chip.toml);
``wide``       ``--chip loihi --set chip.mesh.width=32``: the same 32 x 4 routers as one chip (every
               boundary crossing costs an on-chip hop) -- the approximation the board replaces;
``wide16x8``   ``--set chip.mesh.width=16 --set chip.mesh.height=8``: the 4-chip-like mesh of
               ``benchmarks/replay_benchmark.py``.

Printed per case: bit-exactness, logits_sha256, cores used, mean latency (ns), energy per token (nJ) by
category, and for the board the off-chip hops/flits/energy and the zero-load latency share.

    python benchmarks/system_compare.py [--tokens 20] [--placement balanced]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from replay_benchmark import _synthetic  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "board": ["--system", "loihi-4chip"],
    "wide": ["--chip", "loihi", "--set", "chip.mesh.width=32"],
    "wide16x8": ["--chip", "loihi", "--set", "chip.mesh.width=16", "--set", "chip.mesh.height=8"],
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=20)
    ap.add_argument("--placement", default="balanced")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--out", default=None, help="keep the runs here (default: a temporary directory)")
    a = ap.parse_args(argv)
    model = _synthetic(Path(tempfile.gettempdir()) / "nmsim-bench-paper-s90.nmm", 750, (1350, 1350, 750),
                       "synthetic-paper-s90")
    out = Path(a.out or tempfile.mkdtemp(prefix="nmsim-system-compare-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in a.cases.split(","):
        d = out / name
        cmd = [sys.executable, "-m", "nmsim", "run", "--model", str(model), *CASES[name], "--decoder", "chip",
               "--tokens", str(a.tokens), "--placement", a.placement, "--no-progress", "--no-figures",
               "--out", str(d)]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if p.returncode not in (0, 1):
            print(f"{name}: failed: {p.stderr.strip()}", flush=True)
            continue
        s = json.loads((d / "summary.json").read_text())
        e = s["energy_nj_per_token"]
        print(f"{name:9s} bit_exact={s['bit_exact']} sha={s['logits_sha256'][:12]} cores={s['cores_used']} "
              f"latency_mean={s['latency_ns']['mean']:.0f} ns energy={e['total']:.1f} nJ/token "
              f"(synapse {e['synapse']:.1f}, neuron {e['neuron']:.1f}, noc {e['noc']:.1f}, static "
              f"{e['static']:.1f}, barrier {e['barrier']:.1f})", flush=True)
        if "system" in s:
            b = s["system"]
            print(f"          off-chip: {b['off_chip_packet_hops']} packet hops, {b['off_chip_flits']} flits, "
                  f"{b['off_chip_energy_nj'] / s['tokens']:.1f} nJ/token ({100 * b['off_chip_energy_share']:.2f} % "
                  f"of energy), zero-load latency share {100 * b['zero_load_latency_share']:.1f} %", flush=True)
    print(f"runs in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
