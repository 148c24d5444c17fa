"""``nmsim run``: outputs, determinism, and one-line input errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nmsim.cli import main
from replay_helpers import ptb_model_file

SUMMARY_KEYS = {"tokens", "perplexity", "bit_exact", "logits_sha256", "latency_ns", "throughput_tokens_per_s",
                "energy_nj_per_token", "traffic", "synaptic_ops_per_token", "activity", "chip", "model", "sim_wall_s",
                "synaptic_events_per_s"}


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return ptb_model_file(tmp_path_factory.mktemp("models") / "synthetic-ptb-egru.nmm")


def _run(args, capsys=None):
    rc = main(["run", "--no-progress"] + [str(a) for a in args])
    return rc


def test_outputs_and_determinism(model, tmp_path, capsys):
    out = tmp_path / "run"
    first = {}
    for i in range(2):  # the same command twice, into the same directory
        assert _run(["--model", model, "--tokens", 40, "--out", out, "--trace", "--trace-steps", 3]) == 0
        if i == 0:
            first = {p.name: p.read_bytes() for p in out.iterdir()}
    outs = [None, out]
    text = capsys.readouterr().out
    assert "bit_exact       true" in text
    s = json.loads(first["summary.json"])
    assert SUMMARY_KEYS <= set(s)
    assert s["bit_exact"] is True and s["tokens"] == 40 and s["chip"] == "loihi"
    assert set(s["energy_nj_per_token"]) == {"total", "synapse", "neuron", "noc", "io", "barrier", "static", "wake"}
    assert set(s["static_nj_per_token"]) == {"static_active", "static_idle", "static_gated", "static_chip"}
    assert s["static_nj_per_token"]["static_active"] + s["static_nj_per_token"]["static_idle"] \
        + s["static_nj_per_token"]["static_gated"] + s["static_nj_per_token"]["static_chip"] \
        == pytest.approx(s["energy_nj_per_token"]["static"], rel=1e-5)
    assert s["timestep"]["mode"] == "barrier" and s["timestep"]["overrun_steps"] == 0  # loihi: self-timed
    assert s["power"]["unused_cores"] == "on" and s["power"]["cores_in_use"] == s["cores_used"]
    assert {"packets", "flits", "hops", "max_link_utilization"} <= set(s["traffic"])
    assert set(s["latency_ns"]) >= {"mean", "p50", "p99"}
    assert sorted(first) == ["run.json", "summary.json", "tokens.csv", "trace.json"]  # no temp files left
    for name in ("tokens.csv", "run.json", "trace.json"):
        assert first[name] == (out / name).read_bytes(), name
    s2 = json.loads((outs[1] / "summary.json").read_text())
    for k in ("sim_wall_s", "synaptic_events_per_s"):
        s.pop(k), s2.pop(k)
    assert s == s2
    rows = first["tokens.csv"].decode().splitlines()
    assert len(rows) == 41 and rows[0].startswith("token,id,latency_cycles,latency_ns,energy_nj")
    info = json.loads(first["run.json"])
    assert info["chip"]["noc"]["payload_bits"]["value"] == 24  # the replay profile is recorded (Loihi 2 width)
    assert info["command"][:2] == ["nmsim", "run"] and "numba" in info["versions"]
    tr = json.loads(first["trace.json"])
    names = {e["args"]["name"] for e in tr["traceEvents"] if e.get("name") == "process_name"}
    assert {"links", "cores"} <= names


def _cli(args):
    p = subprocess.run([sys.executable, "-m", "nmsim", "run", "--no-progress"] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


@pytest.mark.parametrize("args,message", [
    (["--dataset", "imdb"], "unknown dataset 'imdb'"),
    (["--split", "dev"], "unknown split 'dev'"),
    (["--tokens", "0"], "tokens 0: must be at least 1"),
    (["--tokens", "-5"], "tokens -5: must be at least 1"),
    (["--tokens", "1.5"], "expected a positive integer or 'all'"),
    (["--tokens", "999999999"], "has only 82430 tokens"),
    (["--chip", "test-2x2"], "does not fit chip 'test-2x2'"),
    (["--chip", "no-such-chip"], "unknown chip 'no-such-chip'"),
])
def test_input_errors_exit_2_with_one_line(model, args, message):
    rc, out, err = _cli(["--model", model, "--out", "/nonexistent-not-written"] + args)
    assert rc == 2, err
    assert err.startswith("nmsim: error: ") and message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_corrupted_and_missing_model_exit_2(model, tmp_path):
    bad = tmp_path / "bad.nmm"
    data = bytearray(model.read_bytes())
    data[100] ^= 0xFF
    bad.write_bytes(bytes(data))
    for path, message in ((bad, "checksum mismatch"), (tmp_path / "none.nmm", "no such model file")):
        rc, _, err = _cli(["--model", path])
        assert rc == 2 and message in err and err.count("\n") == 1, err


def test_model_too_large_names_sizes(model):
    rc, _, err = _cli(["--model", model, "--chip", "test-2x2"])
    assert rc == 2 and "10000" in err and "neurons" in err, err
