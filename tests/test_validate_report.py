"""``nmsim validate --quick``: runs without sanafe, every oracle case agrees, published figures recovered."""

from __future__ import annotations

import csv
import sys

import pytest

from nmsim.cli import main
from nmsim.validate import microbench


@pytest.fixture
def no_sanafe(monkeypatch):
    """Make ``import sanafe`` fail, as in CI (which installs ``.[test]`` only)."""
    monkeypatch.setitem(sys.modules, "sanafe", None)
    monkeypatch.setitem(sys.modules, "sanafe.examples", None)


def test_quick_report_without_sanafe(tmp_path, no_sanafe, capsys):
    out = tmp_path / "v"
    assert main(["validate", "--quick", "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    assert "nmsim validate" in text.splitlines()[2]  # regenerate command at the top
    assert "skipped: install nmsim[compare]" in text
    # oracle: every case identical, and the count is in the report
    with open(out / "oracle.csv") as fh:
        (row,) = list(csv.DictReader(fh))
    assert int(row["cases"]) >= 40 and row["identical"] == row["cases"]
    assert f"{row['identical']} of {row['cases']} random cases identical" in text
    # micro-benchmarks: every published figure recovered
    with open(out / "microbench.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["action"] for r in rows} >= {"synaptic op", "neuron update (active)", "neuron update (inactive)",
                                           "spike within a tile", "east-west hop", "north-south hop",
                                           "barrier, 1 tile", "barrier, 32 tiles", "synaptic event"}
    assert all(r["agrees"] == "True" for r in rows), rows
    assert "| loihi | synaptic op (energy) | 23.6 pJ | 23.6 pJ | yes |" in text
    for f in ("microbench.png", "oracle.csv"):
        assert (out / f).stat().st_size > 0
    # unsupported SANA-FE features are still demonstrated (pyyaml only)
    assert "12 of 12 refused" in text
    assert "SANA-FE: skipped" in capsys.readouterr().out
    assert "## 4. Lava: bit-accurate Loihi LIF" in text  # skipped or agreeing (tests/test_validate_lava.py)


# published figures (value, unit) per (chip, action, quantity): the micro-benchmarks must recover them
PUBLISHED = {
    ("loihi", "synaptic op", "energy"): 23.6, ("loihi", "synaptic op", "time"): 3.5,
    ("loihi", "neuron update (active)", "energy"): 81.0, ("loihi", "neuron update (active)", "time"): 8.4,
    ("loihi", "neuron update (inactive)", "energy"): 52.0, ("loihi", "neuron update (inactive)", "time"): 5.3,
    ("loihi", "spike within a tile", "energy"): 1.7, ("loihi", "spike within a tile", "time"): 2.1,
    ("loihi", "east-west hop", "energy"): 3.0, ("loihi", "east-west hop", "time"): 4.1,
    ("loihi", "north-south hop", "energy"): 4.0, ("loihi", "north-south hop", "time"): 6.5,
    ("loihi", "barrier, 1 tile", "time"): 113.0, ("loihi", "barrier, 32 tiles", "time"): 465.0,
    ("truenorth", "synaptic event", "energy"): 26.0,
    ("spinnaker2", "NoC hop (east-west)", "time"): 5.0, ("spinnaker2", "NoC hop (north-south)", "time"): 5.0,
}


def test_microbench_recovers_published_figures():
    rows = microbench.run_all()
    got = {(r.chip, r.action, r.quantity): r.measured for r in rows}
    assert set(got) == set(PUBLISHED)
    for key, want in PUBLISHED.items():
        assert got[key] == pytest.approx(want, abs=0.05), key


def test_microbench_measures_rather_than_reads(monkeypatch):
    """A changed cost table changes the measured figure (the benchmark does not echo the published one)."""
    import dataclasses
    from types import MappingProxyType

    from nmsim.describe.chip import load_chip

    chip = load_chip("loihi")
    pj = dict(chip.energy.pj)
    pj["flit_hop_east_west"] = 7.0
    chip2 = dataclasses.replace(chip, energy=dataclasses.replace(chip.energy, pj=MappingProxyType(pj)))
    e, t = microbench.hop(chip2, "ew")
    assert e == pytest.approx(7.0) and t == pytest.approx(4.1)
