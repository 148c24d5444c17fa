"""The replay's output files (nmsim.replay.outputs): exact bytes of tokens.csv and the JSON files, atomic writes,
and run.json's fields, from hand-made inputs."""

from __future__ import annotations

import json
import os
import platform
import stat
from dataclasses import dataclass
from importlib.metadata import version
from types import SimpleNamespace

import numpy as np
import pytest

from nmsim.replay import outputs
from nmsim.replay.outputs import TOKENS_COLUMNS, dumps, run_info, tokens_csv, versions, write_atomic, write_outputs

ROW = {"token": 0, "id": 7, "latency_cycles": 12, "latency_ns": 0.1, "energy_nj": 2.5, "events": 3,
       "packets": 1, "synaptic_ops": 4, "step_cycles": 6}


def test_tokens_csv_bytes():
    row2 = dict(ROW, token=1, id=9, latency_ns=1e-07, energy_nj=3.0)
    assert tokens_csv([ROW, row2]) == ("token,id,latency_cycles,latency_ns,energy_nj,events,packets,synaptic_ops,"
                                       "step_cycles\n0,7,12,0.1,2.5,3,1,4,6\n1,9,12,1e-07,3.0,3,1,4,6\n")
    assert tokens_csv([]) == ",".join(TOKENS_COLUMNS) + "\n"


def test_dumps_is_indented_json_with_a_final_newline():
    assert dumps({"a": 1, "b": [1.5, "x"]}) == '{\n  "a": 1,\n  "b": [\n    1.5,\n    "x"\n  ]\n}\n'


@pytest.mark.parametrize("data", ["a\nb\u00e9\n", b"\x00\xff\r\n"])
def test_write_atomic_creates_the_directory_and_writes_exact_bytes(tmp_path, data):
    p = tmp_path / "new" / "dir" / "f.txt"
    assert write_atomic(p, data) == p
    want = data if isinstance(data, bytes) else data.encode("utf-8")
    assert p.read_bytes() == want
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o644
    assert sorted(os.listdir(p.parent)) == ["f.txt"]      # no temporary file left
    write_atomic(str(p), "second")                        # a str path, replacing the file
    assert p.read_text() == "second"


def test_write_atomic_uses_a_hidden_temporary_beside_the_target(tmp_path, monkeypatch):
    seen = []
    real = os.replace

    def spy(src, dst):
        seen.append((os.path.dirname(src), os.path.basename(src), os.path.exists(src)))
        real(src, dst)

    monkeypatch.setattr(outputs.os, "replace", spy)
    write_atomic(tmp_path / "summary.json", "{}")
    (d, name, existed), = seen
    assert d == str(tmp_path) and existed
    assert name.startswith(".summary.json.") and name.endswith(".tmp")


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    p = tmp_path / "tokens.csv"
    p.write_text("old\n")
    with pytest.raises(TypeError):
        write_atomic(p, 12345)                            # neither str nor bytes: write() fails
    assert p.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["tokens.csv"]


def test_a_failed_cleanup_still_raises_the_write_error(tmp_path, monkeypatch):
    def no_unlink(path):
        raise OSError("read-only")

    monkeypatch.setattr(outputs.os, "unlink", no_unlink)
    with pytest.raises(TypeError):
        write_atomic(tmp_path / "x", 1.5)


def test_versions_are_the_installed_ones():
    v = versions()
    assert v == {"nmsim": version("nmsim"), "python": platform.python_version(), "numpy": version("numpy"),
                 "numba": version("numba"), "scipy": version("scipy")}


@dataclass
class _Cfg:
    chip: str = "test-2x2"
    tokens: int = 5


def _mapped():
    pops = {"L1": SimpleNamespace(name="L1", model="egru", n=8, payload_bits=12, to_host=False),
            "out": SimpleNamespace(name="out", model="readout", n=20, payload_bits=32, to_host=True)}
    mf = SimpleNamespace(header={"name": "tiny"}, path="/m/tiny.nmsim", sha256="f" * 64, arch={"kind": "egru"},
                         formats={"payload_bits": 12}, sparsity={"L1": 0.5}, provenance={"seed": 1})
    return SimpleNamespace(
        golden=SimpleNamespace(mf=mf), chip=SimpleNamespace(to_dict=lambda: {"name": "test-2x2"}),
        placement=SimpleNamespace(strategy="snake", seed=3, neurons=np.array([1, 0, 5]),
                                  synapses=np.array([10, 0, 7]), bytes=np.array([40, 0, 28])),
        lm=SimpleNamespace(net=SimpleNamespace(populations=pops, nnz=17)))


def test_run_info_fields():
    info = run_info(_Cfg(), _mapped(), ["run", "--tokens", "5"])
    assert info["command"] == ["run", "--tokens", "5"]
    assert info["config"] == {"chip": "test-2x2", "tokens": 5}
    assert info["chip"] == {"name": "test-2x2"}
    assert info["model"] == {"name": "tiny", "path": "/m/tiny.nmsim", "sha256": "f" * 64, "arch": {"kind": "egru"},
                             "formats": {"payload_bits": 12}, "sparsity": {"L1": 0.5}, "provenance": {"seed": 1}}
    assert info["mapping"] == {
        "placement": "snake", "seed": 3, "cores_used": 2, "neurons_per_core": [1, 0, 5],
        "synapses_per_core": [10, 0, 7], "bytes_per_core": [40, 0, 28],
        "populations": {"L1": {"model": "egru", "n": 8, "payload_bits": 12, "to_host": False},
                        "out": {"model": "readout", "n": 20, "payload_bits": 32, "to_host": True}},
        "synapses": 17}
    assert info["versions"] == versions()
    assert run_info(_Cfg(), _mapped(), None)["command"] == []
    json.dumps(info, allow_nan=False)                    # plain JSON types only


class _Trace:
    def to_json(self):
        return {"traceEvents": [{"name": "b", "ts": 1}], "a": 1}


def test_write_outputs_writes_every_file(tmp_path):
    res = SimpleNamespace(tokens_rows=[ROW], summary={"tokens": 1}, trace=_Trace())
    paths = write_outputs(tmp_path / "out", res, {"command": []})
    out = tmp_path / "out"
    for name in ("tokens.csv", "run.json", "trace.json", "summary.json"):
        assert paths[name] == out / name
    assert (out / "tokens.csv").read_text() == tokens_csv([ROW])
    assert json.loads((out / "run.json").read_text()) == {"command": []}
    assert json.loads((out / "summary.json").read_text()) == {"tokens": 1}
    assert (out / "trace.json").read_text() == '{"a":1,"traceEvents":[{"name":"b","ts":1}]}'


def test_write_outputs_without_a_trace(tmp_path):
    res = SimpleNamespace(tokens_rows=[], summary={}, trace=None)
    paths = write_outputs(str(tmp_path), res, {})
    assert "trace.json" not in paths and not (tmp_path / "trace.json").exists()
    assert (tmp_path / "summary.json").read_text() == "{}\n"
