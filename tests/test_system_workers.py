"""Same inputs, byte-identical outputs at any number of workers, on a 2-D board (docs/systems.md): ``nmsim run
--system loihi-nahuku32`` at ``--workers 1`` and ``--workers 2`` writes the same summary.json (less its
wall-clock keys), tokens.csv, steps.csv, cores.csv and links.csv.  Layers L2 and L3 are pinned to chips
(0, 1) and (1, 1) of the second chip row, so packets take the Y phase and both virtual channels."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from nmsim.paths import models_dir, project_root
from nmsim.replay.outputs import WALL_CLOCK_KEYS


def _run(out, workers):
    cmd = [sys.executable, "-m", "nmsim", "run", "--model", models_dir() / "ptb-egru-small-s90.nmm",
           "--system", "loihi-nahuku32", "--tokens", "3", "--placement", "snake",
           "--set", "map.L2.cores=1024-1055", "--set", "map.L3.cores=1056-1087", "--workers", str(workers),
           "--no-progress", "--no-figures", "--out", out]
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=1200,
                       env={**os.environ, "PYTHONPATH": str(project_root())})
    assert p.returncode == 0, p.stderr


def _drop_wall(d):
    if isinstance(d, dict):
        return {k: _drop_wall(v) for k, v in d.items() if k not in WALL_CLOCK_KEYS}
    return d


@pytest.mark.slow
def test_board_outputs_identical_at_one_and_two_workers(tmp_path):
    one, two = tmp_path / "w1", tmp_path / "w2"
    _run(one, 1)
    _run(two, 2)
    s1, s2 = (_drop_wall(json.loads((d / "summary.json").read_text())) for d in (one, two))
    assert s1 == s2
    assert s1["bit_exact"] and s1["system"]["off_chip_flits"] > 0
    for name in ("tokens.csv", "steps.csv", "cores.csv", "links.csv"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    # the pinned layers sit on the second chip row: chips 8 and 9 (cy * chips_x + cx) hold neurons
    import csv

    with open(one / "cores.csv") as fh:
        chips = {int(r["chip"]) for r in csv.DictReader(fh) if r["core"] != "host" and int(r["neurons"]) > 0}
    assert {0, 8, 9} <= chips
