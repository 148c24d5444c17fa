"""The edge list of a SANA-FE SNN file, streamed: one regular expression per chunk of one-line edges
(``- a.i -> b.j: [weight: w]``), validated a chunk at a time, YAML for any other item form.

Edges are kept exactly as written: a zero weight is a stored synapse, two edges between one pair are two
synapses (SANA-FE reads and counts both).  Errors are one line ``file:line: edge ...: reason``, for the
first offending edge in file order.
"""

from __future__ import annotations

import re

import numpy as np

from nmsim.errors import NetworkError
from nmsim.validate.sanafe.attributes import EDGE_KEYS, EDGE_REFUSED, EDGE_TYPES, refusal
from nmsim.validate.sanafe.yamlio import Block, attrs, num, parse_item, split_ref

E = NetworkError


#: one edge per line, ``- a.i -> b.j: [weight: w]`` (what generators write; group names without dots, ``w`` any
#: token, checked as a number afterwards); anything else goes through YAML
_EDGE_FAST = re.compile(r"^ *- +([^\s:.]+)\.(\d+) *-> *([^\s:.]+)\.(\d+) *: *\[ *weight *: *([^\],\s]+) *\] *(?:#.*)?$",
                        re.MULTILINE)
_CONTENT = re.compile(r"^[ ]*[^ \n#]", re.MULTILINE)
CHUNK = 100_000  # lines per streamed chunk of the edge list


def _is_float(x: str) -> bool:
    try:
        float(x)
    except ValueError:
        return False
    return True


class Edges:
    """Edges accumulated in file order, validated chunk by chunk (first problem reported with its line)."""

    def __init__(self, P, sizes, kind):
        self.P, self.sizes, self.kind = P, sizes, kind
        self.gid = {g: i for i, g in enumerate(sizes)}
        self.gname = list(sizes)
        self.out = []  # arrays (sgid, si, dgid, di, weight, named synapse unit) per chunk or item
        self.units = set()  # synapse units named per edge

    def add_fast(self, lines_no, sg, si, dg, di, ws):
        """A chunk of one-line edges: validated at once, the first problem reported with its line."""
        gid = self.gid
        n = len(sg)
        sgid = np.fromiter((gid.get(x, -1) for x in sg), np.int64, n)
        dgid = np.fromiter((gid.get(x, -1) for x in dg), np.int64, n)
        si_, di_ = np.fromiter(map(int, si), np.int64, n), np.fromiter(map(int, di), np.int64, n)
        try:
            w = np.fromiter(map(float, ws), np.float64, n)
        except ValueError:
            k = next(k for k, x in enumerate(ws) if not _is_float(x))
            raise E(f"{self.P}:{lines_no()[k]}: edge {sg[k]}.{si[k]} -> {dg[k]}.{di[k]}: weight: expected a number, "
                    f"got {ws[k]!r}") from None
        bad_num = ~np.isfinite(w)
        size = np.array(list(self.sizes.values()) + [0], np.int64)
        is_in = np.array([self.kind[g] == "input" for g in self.sizes] + [False])
        checks = [(bad_num, "weight must be finite"), (sgid < 0, "unknown source group"), (dgid < 0, "unknown target group"),
                  (si_ >= size[sgid], "source neuron outside its group"),
                  (di_ >= size[dgid], "target neuron outside its group"), (is_in[dgid], "targets input neurons"),
                  (w != np.round(w), "unsupported feature: non-integer weight (nmsim weights are integers)"),
                  (np.abs(w) >= 2.0**31, "weight magnitude must be < 2**31")]
        bad = np.zeros(n, bool)
        for m, _ in checks:
            bad |= m
        if bad.any():
            k = int(np.argmax(bad))
            why = next(r for m, r in checks if m[k])
            raise E(f"{self.P}:{lines_no()[k]}: edge {sg[k]}.{si[k]} -> {dg[k]}.{di[k]}: {why}")
        self.out.append((sgid, si_, dgid, di_, w.astype(np.int64), np.zeros(n, bool)))

    def add_item(self, line, e, where_syn):
        """A general edge item (any form SANA-FE accepts), already parsed by YAML."""
        P = self.P
        if not isinstance(e, dict) or len(e) != 1:
            raise E(f"{P}:{line}: edges: entries are 'a.i -> b.j: [weight: w]'")
        (text, val), = e.items()
        W = f"{P}:{line}: edge {text}"
        ea = attrs(val, W, E)
        for sec in ("synapse", "dendrite"):
            if sec in ea:
                inner = attrs(ea.pop(sec), f"{W}: {sec}", E)
                for k in inner:
                    if sec == "dendrite" or k != "weight":
                        raise E(refusal(k, f"{W}: {sec}", EDGE_REFUSED, {"weight"} if sec == "synapse" else set()))
                ea.update(inner)
        for k in ea:
            if k not in EDGE_KEYS:
                raise E(refusal(k, W, EDGE_REFUSED, EDGE_KEYS - {"synapse", "dendrite"}))
        parts = str(text).split("->")
        if len(parts) != 2:
            raise E(f"{W}: expected 'source -> target'")
        sg, si = split_ref(parts[0], self.sizes, W)
        dg, di = split_ref(parts[1], self.sizes, W)
        etype = str(ea.get("type", "sparse" if ("." in parts[0] or "." in parts[1]) else "dense"))
        if etype not in EDGE_TYPES:
            raise E(f"{W}: unsupported connection type {etype!r}: nmsim reads {' and '.join(EDGE_TYPES)} edges "
                    f"(conv2d and other generated connectivity: write the edges out)")
        if self.kind[dg] == "input":
            raise E(f"{W}: targets input neurons")
        if etype != "dense" and len(si) > 1 and len(di) > 1:
            raise E(f"{W}: unsupported feature: range-to-range {etype} edge (write 'type: dense' with one weight "
                    f"per pair, or single neurons)")
        wv = ea.get("weight", 1.0)
        n = len(si) * len(di)
        ws = wv if isinstance(wv, list) else [wv] * n
        if len(ws) != n:
            raise E(f"{W}: {len(ws)} weights for {n} synapses")
        w = np.array([num(x, f"{W}: weight", E) for x in ws], np.float64)
        if (w != np.round(w)).any():
            raise E(f"{W}: unsupported feature: non-integer weight {w[w != np.round(w)][0]:g} (nmsim weights are "
                    f"integers)")
        if (np.abs(w) >= 2.0**31).any():
            raise E(f"{W}: weight magnitude must be < 2**31")
        if "synapse_hw_name" in ea:
            where_syn(str(ea["synapse_hw_name"]), W)
            self.units.add(str(ea["synapse_hw_name"]))
        a = np.repeat(np.arange(si.start, si.stop, dtype=np.int64), len(di))
        b = np.tile(np.arange(di.start, di.stop, dtype=np.int64), len(si))
        self.out.append((np.full(n, self.gid[sg], np.int64), a,
                         np.full(n, self.gid[dg], np.int64), b, w.astype(np.int64),
                         np.full(n, "synapse_hw_name" in ea)))

    def arrays(self):
        """``(src group id, src index, dst group id, dst index, weight, named unit)`` in file order."""
        if not self.out:
            z = np.zeros(0, np.int64)
            return z, z, z, z, z, np.zeros(0, bool)
        cols = tuple(np.concatenate(c) for c in zip(*self.out))
        self.out = []
        return cols


def read_edges(P, blocks, doc_edges, edges: Edges, where_syn):
    """Stream the edge list: chunks of one-line edges by one regular expression, anything else by YAML."""
    for blk in blocks:
        for a, b in blk.chunks(CHUNK):
            text = "\n".join(blk.lines[a:b])
            found = _EDGE_FAST.findall(text)
            if found and (len(found) == b - a or len(found) == len(_CONTENT.findall(text))):  # every item matched
                def lines_no(a=a, b=b):
                    return [j + 1 for j in range(a, b) if blk.lines[j].strip()
                            and not blk.lines[j].lstrip().startswith("#")]
                sg, si, dg, di, ws = zip(*found)
                edges.add_fast(lines_no, sg, si, dg, di, ws)
                continue
            sub = Block(blk.key, blk.line, blk.lines, a, b, blk.indent)
            for line, item in sub.items(P, E):
                m = _EDGE_FAST.match(item) if "\n" not in item else None
                if m:
                    edges.add_fast(lambda line=line: [line], *([x] for x in m.groups()))
                else:
                    edges.add_item(line, parse_item(item, line, P, E), where_syn)
    for e in doc_edges or []:
        edges.add_item(getattr(e, "line", 0), e, where_syn)
    return edges.arrays()
