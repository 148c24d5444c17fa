"""The readout-packing page of the paper study (``validation/paper_readout.py``) on hand-made rows: ratios and
changes by hand, the agreement check with the main study's rows, the flit counts from the chip file."""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "validation"))

import paper_readout as pr  # noqa: E402


def _row(model, kv, energy, latency, noc=10.0, io=5.0, packets=100.0, sha="ab" * 32):
    return {"chip": "loihi", "model": model, pr.KV: str(kv), "tokens": "200", "energy_per_token_nj": str(energy),
            "latency_per_token_us": str(latency), "energy_noc_nj": str(noc), "energy_io_nj": str(io),
            "packets_per_token": str(packets), "bit_exact": "1", "logits_sha256": sha}


def test_page_ratios_changes_and_agreement():
    rows = [_row(pr.EGRU, 1, 300.0, 10.0), _row(pr.LSTM, 1, 1000.0, 40.0),
            _row(pr.EGRU, 16, 240.0, 10.0, noc=4.0, io=1.0), _row(pr.LSTM, 16, 960.0, 40.0)]
    main = {("loihi", pr.EGRU): {**rows[0]}, ("loihi", pr.LSTM): {**rows[1], "energy_per_token_nj": "999.0"}}
    text = pr.page(rows, main)
    assert "| 1 | 2 | 300 | 1,000 | 0.300 | 15 | 100 | 10.0 | 40.0 | 0.250 | yes |" in text
    assert "| 16 | 13 | 240 | 960 | 0.250 | 5 | 100 | 10.0 | 40.0 | 0.250 | yes |" in text
    # 240/300 - 1 = -20.0%, 960/1000 - 1 = -4.0%, 0.25/0.30 - 1 = -16.7%
    assert ("from 1 to 16 logits per packet the EGRU's energy per token changes by -20.0%, the LSTM's by -4.0%; "
            "the energy ratio goes from 0.300 to 0.250 (-16.7%), the latency ratio from 0.250 to 0.250.") in text
    assert f"loihi, {pr.EGRU}, kv = 1: energy 300.0 nJ/token" in text and "the same." in text
    assert "energy 999.0, latency 40.000" in text and "(differs)" in text


@pytest.mark.parametrize("chip,kv,flits", [("loihi", 1, 2), ("loihi", 4, 4), ("loihi", 16, 13), ("loihi2", 16, 13)])
def test_flits_of_a_packet_to_the_host(chip, kv, flits):
    """ceil((31 + kv x 24) / 32) on the Loihi replay profiles (31-bit header, 24-bit payload, 32-bit flits)."""
    assert pr.readout_flits(chip, kv) == flits
