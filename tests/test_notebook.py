"""examples/quickstart.ipynb runs from top to bottom (nbclient) and leaves what it promises."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"


def test_quickstart_notebook_runs(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("NMSIM_QUICKSTART_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("NMSIM_QUICKSTART_TOKENS", "8")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}},
                            env=dict(os.environ)).execute()
    out = tmp_path / "out"
    for run in ("loihi", "loihi-32", "spinnaker2"):
        s = json.loads((out / run / "summary.json").read_text())
        assert s["bit_exact"] and s["tokens"] == 8
        assert (out / run / "core_busy.png").is_file() and (out / run / "report.md").is_file()
    assert (out / "compare" / "compare.png").is_file()
    assert len((out / "sweep.csv").read_text().splitlines()) == 4  # header + 3 points
    images = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {}))
    assert images >= 5
