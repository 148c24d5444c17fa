"""Chip ``range = [lo, hi]`` entries: parsed, validated with one-line errors, listed for the study."""
import tomllib

import pytest

from nmsim.describe.chip import parse_chip
from nmsim.describe.ranges import chip_ranges
from nmsim.paths import chips_dir


def _doc(**entry):
    doc = tomllib.loads((chips_dir() / "test-2x2.toml").read_text())
    doc["timing"]["synapse_read_cycles"] = entry
    return doc


def test_range_accepted_and_checked():
    parse_chip(_doc(value=4, range=[2, 6], source="assumption: test"))
    for bad, msg in (([5, 6], "must hold the value 4"), ([2], "range must be [lo, hi]"),
                     ([2, "x"], "expected a number"), ([2.5, 6], "expected an integer")):
        with pytest.raises(Exception) as ei:
            parse_chip(_doc(value=4, range=bad, source="assumption: test"))
        assert msg in str(ei.value) and "\n" not in str(ei.value)


@pytest.mark.parametrize("chip", ["loihi", "loihi2", "spinnaker2", "truenorth"])
def test_presets_have_ranges_around_assumptions(chip):
    rs = chip_ranges(chip)
    assert rs, chip
    doc = tomllib.loads((chips_dir() / f"{chip}.toml").read_text())
    for r in rs:
        t, k = r.key.split(".")
        raw = doc[t][k]
        assert raw["range"] == [r.lo, r.hi] and r.lo <= r.value <= r.hi
        assert r.source.startswith("assumption")
    # every non-zero numeric assumption in a cost table has a range
    for t in ("timing", "barrier", "energy", "static", "power"):
        for k, raw in doc.get(t, {}).items():
            if isinstance(raw, dict) and str(raw.get("source", "")).startswith("assumption"):
                v = raw.get("value", raw.get("pj"))
                if isinstance(v, (int, float)) and not isinstance(v, bool) and v != 0:
                    assert "range" in raw, f"{chip} {t}.{k}"
