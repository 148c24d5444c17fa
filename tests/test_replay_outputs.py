"""The replay's output files (nmsim.replay.outputs): exact bytes of tokens.csv and the JSON files, atomic writes,
and run.json's fields, from hand-made inputs."""

from __future__ import annotations

import json
import math
import platform
from dataclasses import dataclass
from importlib.metadata import version
from types import SimpleNamespace

import numpy as np
import pytest

from nmsim.errors import NmsimError
from nmsim.replay.metrics import DYNAMIC_CATEGORIES
from nmsim.replay.outputs import (NO_PREDICTIONS, RUN_FILES, STEPS_COLUMNS, TOKENS_COLUMNS, check_out, run_info, strict_summary,
                                  tokens_csv, versions, write_outputs)

ROW = {"token": 0, "id": 7, "latency_cycles": 12, "latency_ns": 0.1, "energy_nj": 2.5, "events": 3,
       "packets": 1, "synaptic_ops": 4, "step_cycles": 6, "overrun_steps": 0, "static_active_nj": 0.5,
       "static_idle_nj": 0.25, "static_gated_nj": 0.0, "static_chip_nj": 1e-05, "wake_nj": 2.0,
       **{f"{c}_nj": 0.125 for c in DYNAMIC_CATEGORIES}}


def test_tokens_csv_bytes():
    row2 = dict(ROW, token=1, id=9, latency_ns=1e-07, energy_nj=3.0)
    assert tokens_csv([ROW, row2]) == (
        "token,id,latency_cycles,latency_ns,energy_nj,events,packets,synaptic_ops,step_cycles,overrun_steps,"
        "static_active_nj,static_idle_nj,static_gated_nj,static_chip_nj,wake_nj"
        + "".join(f",{c}_nj" for c in DYNAMIC_CATEGORIES) + "\n"
        "0,7,12,0.1,2.5,3,1,4,6,0,0.5,0.25,0.0,1e-05,2.0" + ",0.125" * len(DYNAMIC_CATEGORIES) + "\n"
        "1,9,12,1e-07,3.0,3,1,4,6,0,0.5,0.25,0.0,1e-05,2.0" + ",0.125" * len(DYNAMIC_CATEGORIES) + "\n")
    assert tokens_csv([]) == ",".join(TOKENS_COLUMNS) + "\n"


def test_summary_without_predictions_is_strict_json_with_reasons():
    s = strict_summary({"predictions": 0, "perplexity": math.nan, "golden_perplexity": math.nan, "x": 1.5})
    assert s == {"predictions": 0, "perplexity": None, "perplexity_note": NO_PREDICTIONS,
                 "golden_perplexity": None, "golden_perplexity_note": NO_PREDICTIONS, "x": 1.5}
    s = strict_summary({"predictions": 3, "perplexity": math.inf, "golden_perplexity": 2.0})
    assert s == {"predictions": 3, "perplexity": None, "perplexity_note": "not a finite number (inf)",
                 "golden_perplexity": 2.0}
    assert NO_PREDICTIONS == "fewer than 2 tokens: no predictions"


def test_out_may_hold_only_an_earlier_run(tmp_path):
    assert check_out(tmp_path / "new") == tmp_path / "new"
    for name in RUN_FILES:
        (tmp_path / name).write_text("")
    assert check_out(tmp_path) == tmp_path
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(NmsimError) as exc:
        check_out(tmp_path)
    assert str(exc.value) == (f"--out {tmp_path}: holds files that are not outputs of this command (notes.txt); "
                              "give a new or empty directory")
    assert set(RUN_FILES) == {"summary.json", "tokens.csv", "run.json", "trace.json", "steps.csv", "cores.csv",
                              "links.csv", "report.md", "*.png", "record.npz"}


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
                                  synapses=np.array([10, 0, 7]), bytes=np.array([40, 0, 28]),
                                  options={"balance": 1}, search={"tries": 2}),
        calibration={"tokens": 4},
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
        "synapses": 17, "map_settings": {"balance": 1}, "calibration": {"tokens": 4}, "search": {"tries": 2}}
    assert info["versions"] == versions()
    assert run_info(_Cfg(), _mapped(), None)["command"] == []
    bare = _mapped()
    del bare.calibration                                 # a mapping run without calibration tokens
    assert run_info(_Cfg(), bare, [])["mapping"]["calibration"] is None
    json.dumps(info, allow_nan=False)                    # plain JSON types only


class _Trace:
    def to_json(self):
        return {"traceEvents": [{"name": "b", "ts": 1}], "a": 1}


def test_write_outputs_writes_every_file(tmp_path):
    res = SimpleNamespace(tokens_rows=[ROW], summary={"tokens": 1, "predictions": 0, "perplexity": math.nan},
                          trace=_Trace(), steps_rows=[], cores_rows=[], links_rows=[])
    paths = write_outputs(tmp_path / "out", res, {"command": []}, figures=False)
    out = tmp_path / "out"
    for name in ("tokens.csv", "run.json", "trace.json", "summary.json"):
        assert paths[name] == out / name
    assert (out / "tokens.csv").read_text() == tokens_csv([ROW])
    assert json.loads((out / "run.json").read_text()) == {"command": []}
    assert (out / "summary.json").read_text() == ('{\n  "tokens": 1,\n  "predictions": 0,\n  "perplexity": null,\n'
                                                  f'  "perplexity_note": "{NO_PREDICTIONS}"\n}}\n')
    assert sorted(p.name for p in out.iterdir()) == ["cores.csv", "links.csv", "run.json", "steps.csv", "summary.json",
                                                     "tokens.csv", "trace.json"]
    assert (out / "steps.csv").read_text() == ",".join(STEPS_COLUMNS) + "\n"
    assert (out / "trace.json").read_text() == '{"a":1,"traceEvents":[{"name":"b","ts":1}]}'


def test_write_outputs_without_a_trace_removes_the_old_one(tmp_path):
    E = dict(steps_rows=[], cores_rows=[], links_rows=[])
    write_outputs(tmp_path / "o", SimpleNamespace(tokens_rows=[], summary={}, trace=_Trace(), **E), {}, figures=False)
    res = SimpleNamespace(tokens_rows=[], summary={"predictions": 2}, trace=None, **E)
    paths = write_outputs(str(tmp_path / "o"), res, {}, figures=False)
    assert "trace.json" not in paths and not (tmp_path / "o" / "trace.json").exists()
    assert (tmp_path / "o" / "summary.json").read_text() == '{\n  "predictions": 2\n}\n'
    assert paths == {n: tmp_path / "o" / n for n in ("tokens.csv", "run.json", "steps.csv", "cores.csv",
                                                                 "links.csv", "summary.json")}


def test_write_outputs_draws_the_figures_from_the_files_text_by_default(tmp_path, monkeypatch):
    """Figures and report.md are on by default and drawn from the texts about to be written (and the run's
    --out, for messages); rendering is stubbed here (tests of nmsim.report draw the real ones)."""
    import nmsim.report.run_data as rd
    import nmsim.report.run_report as rr

    seen = {}
    monkeypatch.setattr(rd, "from_texts", lambda texts, path=None: seen.update(texts=dict(texts), path=path)
                        or "the run")
    monkeypatch.setattr(rr, "report_files", lambda run: seen.update(run=run)
                        or {"report.md": "# report\n", "fig.png": b"\x89PNG"})
    res = SimpleNamespace(tokens_rows=[ROW], summary={"predictions": 2}, trace=None, steps_rows=[],
                          cores_rows=[], links_rows=[])
    out = tmp_path / "out"
    paths = write_outputs(out, res, {"command": ["x"]})
    assert seen["run"] == "the run" and seen["path"] == out
    assert sorted(seen["texts"]) == ["cores.csv", "links.csv", "run.json", "steps.csv", "summary.json", "tokens.csv"]
    assert seen["texts"]["tokens.csv"] == tokens_csv([ROW]) and seen["texts"]["summary.json"] == \
        '{\n  "predictions": 2\n}\n'
    assert (out / "report.md").read_text() == "# report\n" and (out / "fig.png").read_bytes() == b"\x89PNG"
    assert paths["report.md"] == out / "report.md" and paths["fig.png"] == out / "fig.png"
