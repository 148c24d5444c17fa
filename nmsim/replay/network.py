"""Map an exported language model (:class:`nmsim.lm.modelfile.ModelFile`) onto a :class:`Network`.

Populations, in this order (``docs/replay.md``):

``emb``
    host-owned input, ``E`` units; at a token's entry step the host sends the
    token's integer embedding row ``E_int[token]`` as graded events (zero entries
    send nothing).
``L1 .. LL``
    one population per layer, neuron model ``egru`` / ``gru`` / ``lstm`` with 4
    accumulators (``nmsim.lm.golden.ACC_MAP``) and the layer's integer constants.
``dec`` (decoder on the chip, the default)
    ``readout`` units, one per word (``V``); fed by the last layer through the
    tied decoder ``E_int^T`` (source unit ``k`` -> word ``v`` with weight
    ``E_int[v, k]``), bias ``dec.bias``; every enabled step each unit emits its
    int32 logit to the host.  With ``decoder="host"`` there is no ``dec``
    population: the last layer's events are routed to the host (``to_host``)
    and the host computes the logits.

Projections: ``emb -> L1`` (W of layer 1), ``L(l-1) -> Ll`` (W), ``Ll -> Ll`` (R),
split per accumulator (one :meth:`Network.connect` per accumulator index; the
compiler merges all of them into one CSR row per (source neuron, destination core)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from nmsim.describe.network import Network
from nmsim.errors import ModelFileError

DECODERS = ("chip", "host")


@dataclass
class LMNetwork:
    net: Network
    kind: str
    n_layers: int
    layer_pops: list[str]
    emb: str
    decoder: str           #: "chip" or "host"
    readout: str | None    #: name of the readout population (decoder on chip)
    vocab_size: int
    emb_dim: int
    hidden: list[int]


def _per_acc(n_src: int, n_dst: int, fan) -> list[tuple[int, sp.csr_matrix]]:
    """``IntLayer.fanout`` output -> one CSR (n_src, n_dst) per accumulator index present."""
    indptr, unit, acc, w = fan
    rows = np.repeat(np.arange(n_src, dtype=np.int64), np.diff(indptr))
    out = []
    for a in range(4):
        m = acc == a
        if m.any():
            out.append((a, sp.csr_matrix((w[m], (rows[m], unit[m])), shape=(n_src, n_dst))))
    return out


def cell_columns(layer) -> dict:
    """The ``neuron_param`` values (by name, ``nmsim.describe.neuron_models.CELL_PARAMS``) of one layer,
    except the LUT ids."""
    c = layer.cell
    H = layer.n_h
    rows = [0, 1, 2, 2] if layer.kind in ("egru", "gru") else [0, 1, 2, 3]
    vals = {}
    for k in range(4):
        vals[f"bias{k}"] = np.asarray(c.bias[k], np.int64)
        vals[f"mult{k}"] = np.asarray(c.mult[rows[k]], np.int64)
        vals[f"shift{k}"] = np.asarray(c.shift[rows[k]], np.int64)
    vals["theta"] = np.asarray(c.theta, np.int64) if c.theta is not None else np.zeros(H, np.int64)
    vals.update(fc=c.fc, fy=c.fy, fp=c.fp, sigmoid_frac=c.sigmoid_frac, tanh_frac=c.tanh_frac,
                cell_payload_bits=c.payload_bits, state_bits=c.state_bits)
    return vals


def decoder_payload_bits(golden) -> int:
    """Bits the on-chip decoder's logits need: the proven bound ``max_v sum_j |E[v, j]| * 2**(b-1) + |b_dec[v]|``
    (``b``: the last layer's payload width, so ``|y_j| <= 2**(b-1)``), as a signed width, at most 32 (the
    logits saturate to int32).  The decoder's event payload is this wide; if the chip's ``noc.payload_bits``
    is narrower, mapping refuses (naming both widths) and ``decoder="host"`` is the way out
    (``docs/replay.md``)."""
    ymax = 1 << (int(golden.layers[-1].cell.payload_bits) - 1)
    bound = int((np.abs(golden.emb).astype(np.int64).sum(axis=1) * ymax
                 + np.abs(np.asarray(golden.dec_bias, np.int64))).max(initial=0))
    return min(32, bound.bit_length() + 1)


def build_lm_network(golden, decoder: str = "chip", name: str | None = None) -> LMNetwork:
    """The network of ``golden`` (a :class:`nmsim.lm.golden.GoldenModel`)."""
    if decoder not in DECODERS:
        raise ValueError(f"decoder {decoder!r}; choices: {', '.join(DECODERS)}")
    mf = golden.mf
    arch = mf.arch
    kind = arch["kind"]
    V, E = golden.emb.shape
    hidden = [L.n_h for L in golden.layers]
    if hidden[-1] != E:
        raise ModelFileError(f"{mf.path}: tied decoder needs last hidden size {hidden[-1]} == embedding {E}")
    net = Network(name or mf.header.get("name", "lm"))
    emb_bits = max(2, int(np.abs(golden.emb).max(initial=1)).bit_length() + 1)
    net.add_input("emb", E, payload_bits=emb_bits)
    pops = []
    for i, L in enumerate(golden.layers):
        vals = cell_columns(L)
        sid = net.add_lut(L.cell.lut_sigmoid)
        tid = net.add_lut(L.cell.lut_tanh)
        pname = f"L{i + 1}"
        net.add_population(pname, kind, L.n_h, payload_bits=int(L.cell.payload_bits),
                           to_host=(decoder == "host" and i == len(golden.layers) - 1),
                           sigmoid_lut=sid, tanh_lut=tid, **vals)
        pops.append(pname)
    for i, L in enumerate(golden.layers):
        src = "emb" if i == 0 else pops[i - 1]
        for a, w in _per_acc(L.n_in, L.n_h, L.fanout("W")):
            net.connect(src, pops[i], w, accumulator=a)
        for a, w in _per_acc(L.n_h, L.n_h, L.fanout("R")):
            net.connect(pops[i], pops[i], w, accumulator=a)
    readout = None
    if decoder == "chip":
        readout = "dec"
        net.add_population("dec", "readout", V, payload_bits=decoder_payload_bits(golden), to_host=True,
                           bias=golden.dec_bias)
        net.connect(pops[-1], "dec", sp.csr_matrix(golden.emb.T), accumulator=0)
    return LMNetwork(net=net, kind=kind, n_layers=len(pops), layer_pops=pops, emb="emb", decoder=decoder,
                     readout=readout, vocab_size=V, emb_dim=E, hidden=hidden)
