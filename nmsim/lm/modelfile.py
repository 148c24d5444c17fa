"""The exported language-model file (``.nmm``), torch-free.

Layout (all integers little-endian; see ``docs/model-file.md``)::

    offset  size  field
    0       8     magic  b"NMSIMLM\\x00"
    8       4     uint32 format version (currently 1)
    12      8     uint64 H = length of the JSON header
    20      H     header, UTF-8 JSON (sorted keys)
    20+H    8     uint64 P = length of the zlib-compressed payload
    28+H    P     payload: zlib(concatenation of raw little-endian arrays)
    28+H+P  32    sha256 of bytes [0, 28+H+P)

The header describes the architecture, vocabulary, number formats, sparsity
per matrix, provenance and the array manifest (name, dtype, shape, offset and
byte length of each array inside the decompressed payload).  Loading checks
magic, version, lengths (truncation), the sha256 checksum, the JSON, the
manifest and the array shapes, and raises :class:`nmsim.errors.ModelFileError`
naming the file and the problem.  The file is reproducible: no dates, sorted
JSON keys, deterministic compression.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nmsim.errors import ModelFileError

MAGIC = b"NMSIMLM\x00"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)
_DTYPES = {"int8", "uint8", "int16", "uint16", "int32", "int64", "uint32", "float32", "float64"}


@dataclass
class ModelFile:
    header: dict
    arrays: dict
    path: str = "<memory>"
    sha256: str = ""

    @property
    def arch(self) -> dict:
        return self.header["arch"]

    @property
    def formats(self) -> dict:
        return self.header["formats"]

    @property
    def vocab(self) -> list:
        return self.header["vocab"]

    @property
    def provenance(self) -> dict:
        return self.header.get("provenance", {})

    @property
    def sparsity(self) -> dict:
        return self.header.get("sparsity", {})

    def embedding_dense(self) -> np.ndarray:
        """The (V, E) integer embedding (also the tied decoder)."""
        V, E = self.arch["vocab_size"], self.arch["emb"]
        if "emb" in self.arrays:
            return self.arrays["emb"].reshape(V, E)
        from nmsim.lm.golden import csr_to_dense

        return csr_to_dense(self.arrays["emb.indptr"], self.arrays["emb.indices"],
                            self.arrays["emb.data"], V, E)


def _le(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a.astype(a.dtype.newbyteorder("<"), copy=False))


def dumps(header: dict, arrays: dict) -> bytes:
    """Serialize a header + named arrays to the file format (bytes)."""
    header = dict(header)
    manifest = []
    blobs = []
    off = 0
    for name in sorted(arrays):
        a = np.asarray(arrays[name])
        if a.dtype.name not in _DTYPES:
            raise ValueError(f"array {name}: unsupported dtype {a.dtype}")
        b = _le(a).tobytes()
        manifest.append({"name": name, "dtype": a.dtype.name, "shape": list(a.shape),
                         "offset": off, "nbytes": len(b)})
        blobs.append(b)
        off += len(b)
    raw = b"".join(blobs)
    header["arrays"] = manifest
    header["payload"] = {"compression": "zlib", "raw_length": len(raw),
                         "raw_sha256": hashlib.sha256(raw).hexdigest()}
    hjson = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    payload = zlib.compress(raw, 9)
    body = (MAGIC + struct.pack("<I", FORMAT_VERSION) + struct.pack("<Q", len(hjson)) + hjson
            + struct.pack("<Q", len(payload)) + payload)
    return body + hashlib.sha256(body).digest()


def save_model(path, header: dict, arrays: dict) -> str:
    """Write a model file; returns its sha256 (hex)."""
    data = dumps(header, arrays)
    Path(path).write_bytes(data)
    return hashlib.sha256(data[:-32]).hexdigest()


def loads(data: bytes, name: str = "<memory>") -> ModelFile:
    def err(msg):
        return ModelFileError(f"{name}: {msg}")

    n = len(data)
    if n < len(MAGIC) or data[:8] != MAGIC:
        raise err("not an nmsim model file (bad magic bytes)")
    if n < 20:
        raise err(f"file is truncated ({n} bytes, header incomplete)")
    (version,) = struct.unpack_from("<I", data, 8)
    if version not in SUPPORTED_VERSIONS:
        raise err(f"unsupported format version {version} (this nmsim reads {SUPPORTED_VERSIONS})")
    (hlen,) = struct.unpack_from("<Q", data, 12)
    if 20 + hlen + 8 > n:
        raise err(f"file is truncated ({n} bytes; header alone needs {20 + hlen + 8})")
    (plen,) = struct.unpack_from("<Q", data, 20 + hlen)
    expect = 28 + hlen + plen + 32
    if n < expect:
        raise err(f"file is truncated ({n} bytes, expected {expect})")
    if n > expect:
        raise err(f"file has {n - expect} unexpected trailing bytes (expected {expect} bytes)")
    body, digest = data[:-32], data[-32:]
    sha = hashlib.sha256(body).digest()
    if sha != digest:
        raise err("checksum mismatch: the file was altered or corrupted "
                  f"(sha256 {sha.hex()[:16]}..., recorded {digest.hex()[:16]}...)")
    try:
        header = json.loads(data[20:20 + hlen].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise err(f"header is not valid JSON ({exc})") from None
    try:
        raw = zlib.decompress(data[28 + hlen:28 + hlen + plen])
    except zlib.error as exc:
        raise err(f"payload cannot be decompressed ({exc})") from None
    try:
        pinfo = header["payload"]
        if len(raw) != pinfo["raw_length"] or hashlib.sha256(raw).hexdigest() != pinfo["raw_sha256"]:
            raise err("payload does not match its recorded length/checksum")
        arrays = {}
        for ent in header["arrays"]:
            if ent["dtype"] not in _DTYPES:
                raise err(f"array {ent['name']!r} has unsupported dtype {ent['dtype']!r}")
            dt = np.dtype(ent["dtype"]).newbyteorder("<")
            cnt = int(np.prod(ent["shape"], dtype=np.int64))
            if cnt * dt.itemsize != ent["nbytes"] or ent["offset"] + ent["nbytes"] > len(raw):
                raise err(f"array {ent['name']!r}: manifest entry inconsistent with payload")
            a = np.frombuffer(raw, dtype=dt, count=cnt, offset=ent["offset"]).reshape(ent["shape"])
            arrays[ent["name"]] = a.astype(dt.newbyteorder("="))
        mf = ModelFile(header=header, arrays=arrays, path=name, sha256=sha.hex())
        validate(mf)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise err(f"header is missing or has a malformed field ({type(exc).__name__}: {exc})") from None
    return mf


def load_model(path) -> ModelFile:
    """Load and verify a model file; :class:`ModelFileError` on any problem."""
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read ({exc.strerror})") from None
    return loads(data, str(path))


def validate(mf: ModelFile) -> None:
    """Structural checks of a decoded file (shapes agree with the architecture)."""
    def err(msg):
        return ModelFileError(f"{mf.path}: {msg}")

    h = mf.header
    if not isinstance(h, dict) or h.get("format") != "nmsim-lm":
        raise err(f"header format is {h.get('format') if isinstance(h, dict) else h!r}, expected 'nmsim-lm'")
    check_header(h, err)
    a = h["arch"]
    V, E, hidden = int(a["vocab_size"]), int(a["emb"]), list(a["hidden"])
    if len(h["vocab"]) != V:
        raise err(f"vocabulary has {len(h['vocab'])} words, architecture says {V}")
    G = 4 if a["kind"] == "lstm" else 3
    sizes = [E] + hidden
    need = ["dec.bias", "lut.sigmoid", "lut.tanh"]
    for i in range(len(hidden)):
        need += [f"l{i}.{m}.{p}" for m in "WR" for p in ("indptr", "indices", "data")]
        need += [f"l{i}.bias", f"l{i}.mult", f"l{i}.shift"]
        if a["kind"] == "egru":
            need.append(f"l{i}.theta")
    need += ["emb"] if "emb" in mf.arrays else ["emb.indptr", "emb.indices", "emb.data"]
    missing = [n for n in need if n not in mf.arrays]
    if missing:
        raise err(f"missing arrays: {', '.join(missing)}")
    for i in range(len(hidden)):
        n_in, H = sizes[i], sizes[i + 1]
        for m, n_src in (("W", n_in), ("R", H)):
            ip = mf.arrays[f"l{i}.{m}.indptr"]
            ix = mf.arrays[f"l{i}.{m}.indices"]
            dd = mf.arrays[f"l{i}.{m}.data"]
            if ip.shape != (n_src + 1,) or ip[0] != 0 or ip[-1] != len(ix) or len(ix) != len(dd) \
                    or np.any(np.diff(ip) < 0) or (len(ix) and int(ix.max()) >= G * H):
                raise err(f"layer {i} matrix {m}: malformed CSR arrays")
        if mf.arrays[f"l{i}.bias"].shape != (4, H) or mf.arrays[f"l{i}.mult"].shape != (G, H):
            raise err(f"layer {i}: bias/multiplier arrays have wrong shape")
    if "emb" in mf.arrays and mf.arrays["emb"].shape != (V, E):
        raise err("embedding has wrong shape")
    if mf.arrays["dec.bias"].shape != (V,):
        raise err("decoder bias has wrong shape")


#: Header fields every reader relies on: ``section -> {field: (types, check, what)}``.
_POS_INT = ((int,), lambda v: v >= 1, "an integer >= 1")
_NONNEG_INT = ((int,), lambda v: v >= 0, "an integer >= 0")
_FINITE = ((int, float), lambda v: v == v and abs(v) != float("inf"), "a finite number")
HEADER_SCHEMA = {
    "arch": {"kind": ((str,), lambda v: v in ("egru", "gru", "lstm"), "one of 'egru', 'gru', 'lstm'"),
             "vocab_size": _POS_INT, "emb": _POS_INT,
             "hidden": ((list,), lambda v: len(v) > 0 and all(type(x) is int and x >= 1 for x in v),
                        "a non-empty list of integers >= 1")},
    "formats": {"payload_bits": ((int,), lambda v: 1 <= v <= 63, "an integer 1..63"),
                "state_bits": ((int,), lambda v: 1 <= v <= 63, "an integer 1..63"),
                "weight_bits": ((int,), lambda v: 1 <= v <= 32, "an integer 1..32"),
                "mult_bits": _POS_INT, "payload_frac": _NONNEG_INT, "state_frac": _NONNEG_INT,
                "preact_frac": _NONNEG_INT, "sigmoid_lut_frac": _NONNEG_INT, "tanh_lut_frac": _NONNEG_INT,
                "emb_scale": _FINITE, "logit_scale": _FINITE},
}


def check_header(h: dict, err) -> None:
    """Check the header fields of :data:`HEADER_SCHEMA` (present, right type and range) and that
    ``vocab`` is a list of strings; raises ``err(message)`` naming the first bad field."""
    for section, schema in HEADER_SCHEMA.items():
        sec = h.get(section)
        if not isinstance(sec, dict):
            raise err(f"header field {section!r} is missing or not an object")
        for key, (types, ok, what) in schema.items():
            if key not in sec:
                raise err(f"header field {section}.{key} is missing")
            v = sec[key]
            if isinstance(v, bool) or not isinstance(v, types) or not ok(v):
                raise err(f"header field {section}.{key} = {v!r}: expected {what}")
    vocab = h.get("vocab")
    if not isinstance(vocab, list) or not all(isinstance(w, str) for w in vocab):
        raise err("header field 'vocab' is missing or not a list of words")
    for key in ("provenance", "sparsity"):
        if key in h and not isinstance(h[key], dict):
            raise err(f"header field {key!r} is not an object")


def build_int_layers(mf: ModelFile):
    """The per-layer integer arrays as :class:`nmsim.lm.golden.IntLayer` objects."""
    from nmsim.lm.golden import CellParams, IntLayer

    a, f = mf.arch, mf.formats
    kind = a["kind"]
    sizes = [a["emb"]] + list(a["hidden"])
    G = 4 if kind == "lstm" else 3
    lut_s = mf.arrays["lut.sigmoid"].astype(np.int64)
    lut_t = mf.arrays["lut.tanh"].astype(np.int64)
    layers = []
    for i in range(len(a["hidden"])):
        g = lambda k: mf.arrays[f"l{i}.{k}"]  # noqa: E731
        cell = CellParams(
            kind=kind, bias=g("bias").astype(np.int64), mult=g("mult").astype(np.int64),
            shift=g("shift").astype(np.int64),
            theta=g("theta").astype(np.int64) if kind == "egru" else None,
            lut_sigmoid=lut_s, lut_tanh=lut_t, fc=int(f["state_frac"]), fy=int(f["payload_frac"]),
            fp=int(f["preact_frac"]), sigmoid_frac=int(f["sigmoid_lut_frac"]),
            tanh_frac=int(f["tanh_lut_frac"]), payload_bits=int(f["payload_bits"]),
            state_bits=int(f["state_bits"]))
        layers.append(IntLayer(
            kind=kind, n_in=sizes[i], n_h=sizes[i + 1], gates=G,
            W_indptr=g("W.indptr"), W_indices=g("W.indices"), W_data=g("W.data"),
            R_indptr=g("R.indptr"), R_indices=g("R.indices"), R_data=g("R.data"), cell=cell))
    return layers
