"""The .nmm model file: round trip and rejection of damaged files."""

import struct

import numpy as np
import pytest

from nmsim.errors import ModelFileError
from nmsim.lm import modelfile as M
from nmsim.paths import models_dir
from nmsim.replay.synth import FORMATS  # every number-format field a model file needs

TINY = models_dir() / "ptb-egru-tiny.nmm"


def _minimal():
    V, E, H = 3, 2, 2
    G = 3
    a = {
        "emb": np.array([[1, -2], [0, 3], [4, 0]], np.int8),
        "dec.bias": np.array([5, -6, 7], np.int32),
        "lut.sigmoid": np.arange(8, dtype=np.int32),
        "lut.tanh": np.arange(8, dtype=np.int32),
    }
    for i, n_in in enumerate([E, H]):
        for m, n_src in (("W", n_in), ("R", H)):
            a[f"l{i}.{m}.indptr"] = np.array([0] + [1] * n_src, np.int32)
            a[f"l{i}.{m}.indices"] = np.array([G * H - 1], np.uint16)
            a[f"l{i}.{m}.data"] = np.array([-7], np.int8)
        a[f"l{i}.bias"] = np.zeros((4, H), np.int32)
        a[f"l{i}.mult"] = np.full((G, H), 16384, np.int32)
        a[f"l{i}.shift"] = np.full((G, H), 14, np.int32)
        a[f"l{i}.theta"] = np.array([100, 200], np.int32)
    h = {"format": "nmsim-lm", "format_version": 1,
         "arch": {"kind": "egru", "vocab_size": V, "emb": E, "hidden": [H, E]},
         "vocab": ["a", "b", "<eos>"], "formats": dict(FORMATS), "provenance": {"seed": 1}}
    return h, a


def test_round_trip_is_exact_and_reproducible(tmp_path):
    h, a = _minimal()
    data = M.dumps(h, a)
    assert data == M.dumps(h, a)            # deterministic bytes
    assert data[:8] == b"NMSIMLM\x00"
    mf = M.loads(data, "x.nmm")
    for k, v in a.items():
        assert mf.arrays[k].dtype == v.dtype and np.array_equal(mf.arrays[k], v), k
    assert mf.vocab == ["a", "b", "<eos>"] and mf.arch["hidden"] == [2, 2]
    p = tmp_path / "m.nmm"
    sha = M.save_model(p, h, a)
    assert M.load_model(p).sha256 == sha


def test_truncated_file_rejected(tmp_path):
    h, a = _minimal()
    data = M.dumps(h, a)
    for n in (4, 15, 40, len(data) - 1, len(data) - 40):
        with pytest.raises(ModelFileError, match="truncated|bad magic"):
            M.loads(data[:n], "t.nmm")
    with pytest.raises(ModelFileError, match="trailing bytes"):
        M.loads(data + b"\0", "t.nmm")


def test_altered_byte_rejected():
    h, a = _minimal()
    data = bytearray(M.dumps(h, a))
    for pos in (30, len(data) // 2, len(data) - 40, len(data) - 1):
        bad = bytearray(data)
        bad[pos] ^= 0x01
        with pytest.raises(ModelFileError, match=r"a\.nmm: checksum mismatch"):
            M.loads(bytes(bad), "a.nmm")


def test_wrong_magic_and_version():
    h, a = _minimal()
    data = M.dumps(h, a)
    with pytest.raises(ModelFileError, match="not an nmsim model file"):
        M.loads(b"PK\x03\x04" + data[4:], "z.nmm")
    bad = data[:8] + struct.pack("<I", 99) + data[12:]
    with pytest.raises(ModelFileError, match="unsupported format version 99"):
        M.loads(bad, "v.nmm")


def test_inconsistent_content_rejected_even_with_valid_checksum():
    h, a = _minimal()
    a["l0.W.indptr"] = np.array([0, 1], np.int32)      # wrong length for n_in = 2
    with pytest.raises(ModelFileError, match="layer 0 matrix W: malformed CSR"):
        M.loads(M.dumps(h, a), "c.nmm")
    h, a = _minimal()
    del a["l1.theta"]
    with pytest.raises(ModelFileError, match="missing arrays: l1.theta"):
        M.loads(M.dumps(h, a), "c.nmm")


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="no such model file"):
        M.load_model(tmp_path / "nope.nmm")


@pytest.mark.skipif(not TINY.is_file(), reason="shipped tiny model missing")
def test_shipped_tiny_header():
    mf = M.load_model(TINY)
    assert mf.header["format_version"] == 1
    assert mf.arch["kind"] == "egru" and len(mf.vocab) == mf.arch["vocab_size"] == 10_000
    for key in ("dataset", "preset", "seed", "sparsity_target", "float_metrics"):
        assert key in mf.provenance
    assert set(mf.formats) >= {"weight_bits", "payload_bits", "state_frac", "logit_scale"}
    assert all(0.0 <= v <= 1.0 for v in mf.sparsity.values())
