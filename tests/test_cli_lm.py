"""``nmsim lm`` command line: errors are one clear line + exit status 2."""

import json

import numpy as np
import pytest

from nmsim.cli import main
from nmsim.paths import models_dir

TINY = models_dir() / "ptb-egru-tiny.nmm"
needs_tiny = pytest.mark.skipif(not TINY.is_file(), reason="shipped tiny model missing")


def _one_line_error(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("nmsim: error: ")
    return err[0]


@needs_tiny
def test_corrupted_model_file(tmp_path, capsys):
    data = bytearray(TINY.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / "bad.nmm"
    bad.write_bytes(bytes(data))
    assert main(["lm", "eval", str(bad)]) == 2
    line = _one_line_error(capsys)
    assert "bad.nmm" in line and "checksum mismatch" in line


@needs_tiny
def test_truncated_model_file(tmp_path, capsys):
    bad = tmp_path / "short.nmm"
    bad.write_bytes(TINY.read_bytes()[:5000])
    assert main(["lm", "eval", str(bad), "--json"]) == 2
    assert "truncated" in _one_line_error(capsys)


def test_not_a_model_file(tmp_path, capsys):
    bad = tmp_path / "x.nmm"
    bad.write_text("hello")
    assert main(["lm", "info", str(bad)]) == 2
    assert "not an nmsim model file" in _one_line_error(capsys)
    assert main(["lm", "eval", "no-such-model"]) == 2
    assert "no such model file" in _one_line_error(capsys)


def test_unknown_dataset(capsys):
    pytest.importorskip("torch")
    assert main(["lm", "train", "--dataset", "imdb", "--preset", "tiny", "--epochs", "1"]) == 2
    assert "unknown dataset 'imdb'" in _one_line_error(capsys)


@needs_tiny
def test_eval_json(capsys):
    assert main(["lm", "eval", "ptb-egru-tiny", "--tokens", "300", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    d = json.loads(out[0])
    for k in ("float_perplexity", "int_perplexity", "activity", "synaptic_ops_per_token",
              "dense_ops_per_token"):
        assert k in d, k
    assert d["tokens"] == 300 and len(d["activity"]) == 3
    assert d["dense_ops_per_token"] == 3 * 24 * 40 + 3 * 24 * 48 + 3 * 16 * 40 + 10_000 * 16
    # independent check of the integer perplexity from the golden logits
    from nmsim.lm.data import load_corpus
    from nmsim.lm.golden import GoldenModel
    from nmsim.lm.modelfile import load_model

    mf = load_model(TINY)
    toks = load_corpus("ptb").test[:300]
    lg = GoldenModel(mf).run(toks, exact_int=True)["logits"].astype(np.float64)
    z = lg[:-1] * mf.formats["logit_scale"]
    z -= z.max(1, keepdims=True)
    lp = z - np.log(np.exp(z).sum(1, keepdims=True))
    ppl = float(np.exp(-lp[np.arange(299), toks[1:]].mean()))
    assert d["int_perplexity"] == pytest.approx(ppl, rel=1e-6)


@needs_tiny
def test_eval_text(capsys):
    assert main(["lm", "eval", str(TINY), "--tokens", "100"]) == 0
    out = capsys.readouterr().out
    assert "int perplexity" in out and "synaptic ops/tok" in out
