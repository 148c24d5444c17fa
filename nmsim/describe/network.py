"""Spiking networks: populations of one neuron model and projections of integer weights.

>>> net = Network("demo")
>>> net.add_input("in", 4)
>>> net.add_lif("exc", 3, threshold=10, decay=256)
>>> net.connect("in", "exc", [[5, 0, 0], [0, 7, 0], [0, 0, 9], [1, 1, 1]])

Semantics are those of ``docs/engine-model.md`` §1: an event of source neuron
``i`` with payload ``p`` adds ``weights[i, j] * p`` to accumulator
``accumulator`` of destination neuron ``j``, read at the next timestep.
Weights are stored as CSR (``int64``, shape ``(n_src, n_dst)``, column indices
sorted within a row) holding exactly the synapses the caller gave: every stored
entry of a scipy sparse matrix is one synapse, an explicit 0 included (a stored
weight 0 is still read and counted, as in a hardware synapse memory), and two
entries for one (source, target) pair are two synapses (order kept).  A dense
matrix has no notion of a stored 0: its non-zero entries are the synapses.
Every problem raises :class:`~nmsim.errors.NetworkError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import numpy as np
import scipy.sparse as sp

from nmsim.describe.neuron_models import NeuronModel, get_model
from nmsim.errors import NetworkError

FILE_FORMAT = "nmsim-network"
FILE_VERSION = 1
MAX_PAYLOAD_BITS = 63
WEIGHT_LIMIT = 2**31  # |weight| < 2**31 (int32 syn_weight)


@dataclass(frozen=True, eq=False)
class Population:
    """``n`` neurons of model ``model``; ``params[name]`` is ``int64[n]`` for every
    settable name of the model (parameters and ``<state>_init``)."""

    name: str
    model: str
    n: int
    payload_bits: int
    params: Mapping[str, np.ndarray]
    to_host: bool = False  #: every event also goes to the host (e.g. a readout); no synapses there

    @property
    def neuron_model(self) -> NeuronModel:
        return get_model(self.model)

    @property
    def is_host(self) -> bool:
        return self.neuron_model.host


@dataclass(frozen=True, eq=False)
class Projection:
    """Synapses ``src -> dst``: ``weights`` CSR ``int64[n_src, n_dst]`` into accumulator ``accumulator``."""

    src: str
    dst: str
    weights: sp.csr_matrix
    accumulator: int = 0

    @property
    def nnz(self) -> int:
        return int(self.weights.nnz)

    @property
    def label(self) -> str:
        return f"{self.src!r} -> {self.dst!r}"


def _int_array(what: str, value, n: int) -> np.ndarray:
    """Scalar or length-``n`` integer-valued values -> ``int64[n]``."""
    arr = np.asarray(value)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise NetworkError(f"{what}: expected integers, got {arr.dtype} {np.ravel(arr)[:3].tolist()!r}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
            raise NetworkError(f"{what}: expected integers, got non-integral values")
        if (np.abs(arr) >= 2.0**62).any():
            raise NetworkError(f"{what}: value out of int64 range")
    if arr.ndim == 0:
        return np.full(n, int(arr), dtype=np.int64)
    if arr.shape != (n,):
        raise NetworkError(f"{what}: expected a scalar or shape ({n},), got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _check_name(name) -> None:
    if not isinstance(name, str) or not name or not name.replace("_", "a").replace("-", "a").isalnum():
        raise NetworkError(f"population name {name!r}: use letters, digits, '_' or '-'")


class Network:
    """A named set of populations (insertion order kept) and projections."""

    def __init__(self, name: str = "network"):
        if not isinstance(name, str) or not name:
            raise NetworkError(f"network name must be a non-empty string, got {name!r}")
        self.name = name
        self.populations: dict[str, Population] = {}
        self.projections: list[Projection] = []
        self.luts: list[np.ndarray] = []  #: shared lookup tables (recurrent cells), referenced by id

    def add_lut(self, table) -> int:
        """Add an integer lookup table (e.g. a Q.15 sigmoid); returns its id (identical tables share one)."""
        t = _int_array("lookup table", table, int(np.asarray(table).size)).copy()
        if t.size == 0:
            raise NetworkError("lookup table must not be empty")
        for i, u in enumerate(self.luts):
            if u.shape == t.shape and np.array_equal(u, t):
                return i
        t.flags.writeable = False
        self.luts.append(t)
        return len(self.luts) - 1

    # ------------------------------------------------------------------ building

    def add_population(self, name: str, model: str, n: int, payload_bits: int = 1, to_host: bool = False,
                       **params) -> Population:
        """Add ``n`` neurons of a registered model; ``params`` are scalars or ``int[n]`` arrays.
        ``to_host``: the population's events are sent to the host (through the I/O router)."""
        _check_name(name)
        if name in self.populations:
            raise NetworkError(f"population {name!r} already exists")
        try:
            m = get_model(model)
        except KeyError as exc:
            raise NetworkError(f"population {name!r}: unknown {exc.args[0]}") from None
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise NetworkError(f"population {name!r}: n must be a positive integer, got {n!r}")
        if isinstance(payload_bits, bool) or not isinstance(payload_bits, (int, np.integer)) \
                or not 1 <= payload_bits <= MAX_PAYLOAD_BITS:
            raise NetworkError(f"population {name!r}: payload_bits must be 1..{MAX_PAYLOAD_BITS}, got {payload_bits!r}")
        n = int(n)
        unknown = set(params) - set(m.settable)
        if unknown:
            raise NetworkError(f"population {name!r}: unknown parameter {sorted(unknown)[0]!r} for model "
                               f"{model!r}; parameters: {', '.join(m.settable) or '(none)'}")
        values = {}
        for key in m.settable:
            if key in params:
                raw = params[key]
            elif key in m.defaults:
                raw = m.defaults[key]
            else:
                raise NetworkError(f"population {name!r}: missing parameter {key!r} for model {model!r}")
            codes = (m.encode or {}).get(key)
            if codes is not None and isinstance(raw, str):
                if raw not in codes:
                    raise NetworkError(f"population {name!r}: {key}={raw!r}; choices: {', '.join(codes)}")
                raw = codes[raw]
            values[key] = _int_array(f"population {name!r} parameter {key!r}", raw, n)
            values[key].flags.writeable = False
        if m.validate is not None and (problem := m.validate(values)):
            raise NetworkError(f"population {name!r}: {problem}")
        if to_host and m.host:
            raise NetworkError(f"population {name!r}: an input population cannot send to the host")
        pop = Population(name, model, n, int(payload_bits), MappingProxyType(values), bool(to_host))
        self.populations[name] = pop
        return pop

    def add_input(self, name: str, n: int, payload_bits: int = 1) -> Population:
        """Host-owned input neurons; they emit the events given per step (payload 0 = none)."""
        return self.add_population(name, "input", n, payload_bits=payload_bits)

    def add_lif(self, name: str, n: int, threshold, decay=0, bias=0, reset="subtract",
                v_min=-(2**31), v_max=2**31 - 1, v_init=0, payload_bits: int = 1,
                update_on_event=0) -> Population:
        """Integer LIF neurons (``docs/engine-model.md`` §1): ``decay`` is a 12-bit fraction
        (0..4096), ``reset`` is ``"subtract"`` or ``"zero"``; ``update_on_event`` 1: a neuron that received
        a synaptic event (of any weight, 0 included) makes an active update, as SANA-FE's soma does; values
        scalar or ``int[n]``."""
        return self.add_population(name, "lif", n, payload_bits=payload_bits, threshold=threshold, decay=decay,
                                   bias=bias, reset_mode=reset, v_min=v_min, v_max=v_max, v_init=v_init,
                                   update_on_event=update_on_event)

    def connect(self, src: str, dst: str, weights, accumulator: int = 0) -> Projection:
        """Add synapses ``src -> dst``; ``weights`` is scipy.sparse or dense, shape ``(n_src, n_dst)``."""
        for p in (src, dst):
            if p not in self.populations:
                raise NetworkError(f"connect {src!r} -> {dst!r}: unknown population {p!r}")
        s, d = self.populations[src], self.populations[dst]
        m = d.neuron_model
        if isinstance(accumulator, bool) or not isinstance(accumulator, (int, np.integer)) \
                or not 0 <= accumulator < max(m.n_inputs, 1):
            raise NetworkError(f"connect {src!r} -> {dst!r}: accumulator {accumulator!r} out of range; "
                               f"model {d.model!r} reads accumulators 0..{m.n_inputs - 1}")
        if m.n_inputs == 0:
            raise NetworkError(f"connect {src!r} -> {dst!r}: population {dst!r} (model {d.model!r}) takes no input")
        w = _canonical_csr(f"connect {src!r} -> {dst!r}", weights, (s.n, d.n))
        proj = Projection(src, dst, w, int(accumulator))
        self.projections.append(proj)
        return proj

    # ------------------------------------------------------------------ queries

    @property
    def n_neurons(self) -> int:
        return sum(p.n for p in self.populations.values())

    @property
    def nnz(self) -> int:
        return sum(p.nnz for p in self.projections)

    def pop_index(self, name: str) -> int:
        return list(self.populations).index(name)

    def __repr__(self) -> str:
        pops = ", ".join(f"{p.name}:{p.model}[{p.n}]" for p in self.populations.values())
        return f"Network({self.name!r}, {pops}; {len(self.projections)} projections, {self.nnz} synapses)"

    # ------------------------------------------------------------------ files

    def save(self, path: str | Path) -> Path:
        """Write one ``.npz`` file (JSON header + arrays, no pickles)."""
        path = Path(path)
        header = {"format": FILE_FORMAT, "version": FILE_VERSION, "name": self.name,
                  "populations": [{"name": p.name, "model": p.model, "n": p.n, "payload_bits": p.payload_bits,
                                   "params": list(p.params), "to_host": p.to_host} for p in self.populations.values()],
                  "n_luts": len(self.luts),
                  "projections": [{"src": q.src, "dst": q.dst, "accumulator": q.accumulator}
                                  for q in self.projections]}
        arrays = {"header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)}
        for i, p in enumerate(self.populations.values()):
            for k, v in p.params.items():
                arrays[f"pop{i}_{k}"] = v
        for i, t in enumerate(self.luts):
            arrays[f"lut{i}"] = t
        for i, q in enumerate(self.projections):
            arrays[f"proj{i}_indptr"] = q.weights.indptr.astype(np.int64)
            arrays[f"proj{i}_indices"] = q.weights.indices.astype(np.int64)
            arrays[f"proj{i}_data"] = q.weights.data
        with open(path, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Network":
        """Read a file written by :meth:`save`, re-validating everything."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except FileNotFoundError:
            raise NetworkError(f"{path}: file not found") from None
        except Exception as exc:  # zip/npz corruption of any kind
            raise NetworkError(f"{path}: not a readable network file ({type(exc).__name__}: {exc})") from None
        try:
            header = json.loads(bytes(data["header"]).decode())
            if header.get("format") != FILE_FORMAT:
                raise NetworkError(f"{path}: not an nmsim network file")
            if header.get("version") != FILE_VERSION:
                raise NetworkError(f"{path}: network file version {header.get('version')!r}; this nmsim reads {FILE_VERSION}")
            net = cls(header["name"])
            for i in range(int(header.get("n_luts", 0))):
                net.add_lut(data[f"lut{i}"])
            for i, p in enumerate(header["populations"]):
                params = {k: data[f"pop{i}_{k}"] for k in p["params"]}
                net.add_population(p["name"], p["model"], p["n"], payload_bits=p["payload_bits"],
                                   to_host=bool(p.get("to_host", False)), **params)
            for i, q in enumerate(header["projections"]):
                s, d = net.populations[q["src"]], net.populations[q["dst"]]
                w = sp.csr_matrix((data[f"proj{i}_data"], data[f"proj{i}_indices"], data[f"proj{i}_indptr"]),
                                  shape=(s.n, d.n))
                net.connect(q["src"], q["dst"], w, accumulator=q["accumulator"])
        except NetworkError as exc:
            msg = str(exc)
            raise NetworkError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None
        except (KeyError, TypeError, ValueError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise NetworkError(f"{path}: corrupted network file ({type(exc).__name__}: {exc})") from None
        return net


def _canonical_csr(what: str, weights, shape: tuple[int, int]) -> sp.csr_matrix:
    """Caller's synapses -> CSR ``int64`` with rows' column indices sorted (stable: duplicates keep their
    order); never sums duplicates, never drops explicit zeros (see the module docstring)."""
    if sp.issparse(weights):
        fmt = weights.format
        if fmt in ("dia", "bsr"):
            raise NetworkError(f"{what}: weights in scipy {fmt!r} format store padding zeros; pass csr, csc or coo "
                               f"(every stored entry is a synapse)")
        if tuple(weights.shape) != shape:
            raise NetworkError(f"{what}: weights shape {tuple(weights.shape)}, expected (n_src, n_dst) = {shape}")
        if fmt == "csr":
            row = np.repeat(np.arange(shape[0], dtype=np.int64), np.diff(weights.indptr))
            col, data = np.asarray(weights.indices), np.asarray(weights.data)
        else:  # coo keeps its entries as given; csc/lil/dok -> coo keeps every stored entry
            coo = weights if fmt == "coo" else weights.tocoo()
            row, col, data = np.asarray(coo.row), np.asarray(coo.col), np.asarray(coo.data)
    else:
        arr = np.asarray(weights)
        if arr.ndim != 2:
            raise NetworkError(f"{what}: weights must be 2-D, got shape {arr.shape}")
        if arr.shape != shape:
            raise NetworkError(f"{what}: weights shape {arr.shape}, expected (n_src, n_dst) = {shape}")
        row, col = np.nonzero(arr)
        data = arr[row, col]
    if data.dtype == bool or not (np.issubdtype(data.dtype, np.integer) or np.issubdtype(data.dtype, np.floating)):
        raise NetworkError(f"{what}: weights must be integers, got dtype {data.dtype}")
    if np.issubdtype(data.dtype, np.floating):
        if not np.isfinite(data).all() or (data != np.round(data)).any():
            raise NetworkError(f"{what}: weights must be integers, got non-integral values")
    if data.size and (np.abs(data.astype(np.float64)) >= WEIGHT_LIMIT).any():
        raise NetworkError(f"{what}: weight magnitude must be < 2**31")
    row, col = row.astype(np.int64), col.astype(np.int64)
    order = np.lexsort((col, row))  # stable: duplicate (row, col) entries keep the caller's order
    indptr = np.zeros(shape[0] + 1, np.int64)
    np.cumsum(np.bincount(row, minlength=shape[0]), out=indptr[1:])
    w = sp.csr_matrix((data.astype(np.int64)[order], col[order], indptr), shape=shape)
    w.indptr, w.indices = indptr, col[order]  # scipy may downcast the index arrays; the engine reads int64
    w.has_sorted_indices = True
    return w
