"""Set-up benchmark: what a run spends before its first step (issue 12's speed work on the set-up).

Prints, in wall seconds (best of ``--repeat``, after one warm-up call that loads the compiled kernels):

- per board preset (``systems/*.toml``): ``load_system`` (the deadlock check included), and the three
  ``R x R`` routing tables of ``nmsim.sim.board_routes`` (``next_links``, ``hop_tables``, ``topo_rank``);
- the ``balanced`` placement of the shipped ``ptb-egru-small-s90`` on Loihi (``build_replay``: calibration,
  candidate search, calibration replays, compile), placed afresh and stored in an empty temporary placement cache,
  then taken from it (``nmsim.replay.placement_cache``), and whether both give the same placement.

Speed is never asserted.

    python benchmarks/setup_benchmark.py [--repeat 3] [--no-placement]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np


def best(fn, repeat: int) -> float:
    fn()  # warm-up: compiled kernels loaded (or compiled) once
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def boards(repeat: int) -> None:
    from nmsim.describe.system import board_chip, load_system
    from nmsim.paths import systems_dir
    from nmsim.sim import board_routes as br

    print(f"{'system':<16} {'routers':>7} {'load_system':>12} {'next_links':>11} {'hop_tables':>11} {'topo_rank':>10}"
          "   (wall s)")
    for path in sorted(systems_dir().glob("*.toml")):
        name = path.stem
        t_load = best(lambda: load_system(name), repeat)
        g = board_chip(load_system(name)).board
        nxt = br.next_links(g)
        vc = br.vc_classes(g)
        key = np.zeros((4 * nxt.shape[0], 3), np.int64)
        print(f"{name:<16} {nxt.shape[0]:>7} {t_load:>12.3f} {best(lambda: br.next_links(g), repeat):>11.3f} "
              f"{best(lambda: br.hop_tables(g, nxt), repeat):>11.3f} "
              f"{best(lambda: br.topo_rank(g, nxt, key, vc), repeat):>10.3f}")


def placement() -> None:
    from nmsim.lm.golden import GoldenModel
    from nmsim.lm.modelfile import load_model
    from nmsim.paths import models_dir
    from nmsim.replay import build_replay, load_replay_chip

    golden = GoldenModel(load_model(models_dir() / "ptb-egru-small-s90.nmm"))
    chip = load_replay_chip("loihi")
    build_replay(golden, chip, "snake", "chip")  # warm-up: kernels, corpus
    with tempfile.TemporaryDirectory() as d:
        os.environ["NMSIM_CACHE_DIR"] = d
        t = time.perf_counter()
        fresh = build_replay(golden, chip, "balanced", "chip")
        t_fresh = time.perf_counter() - t
        t = time.perf_counter()
        hit = build_replay(golden, chip, "balanced", "chip")
        t_hit = time.perf_counter() - t
    same = all(np.array_equal(fresh.placement.core_of[p], hit.placement.core_of[p]) for p in fresh.placement.core_of)
    same = same and fresh.placement.search == hit.placement.search
    print(f"balanced placement of ptb-egru-small-s90 on loihi (build_replay): placed afresh ({fresh.placement_cache}) "
          f"{t_fresh:.2f} s; from the cache ({hit.placement_cache}) {t_hit:.2f} s; ratio {t_fresh / t_hit:.1f}x; "
          f"same placement: {same}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-placement", action="store_true", help="only the board tables")
    a = ap.parse_args()
    boards(a.repeat)
    if not a.no_placement:
        placement()


if __name__ == "__main__":
    main()
