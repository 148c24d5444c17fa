"""Read a NIR graph and reduce it to neuron populations joined by real-valued affine maps.

Discrete-time semantics (forward Euler with step ``dt``, ``docs/nir.md`` §Semantics), per step ``t`` with
``I = sum of the affine maps of the sources' spikes at t-1`` (+ their biases):

- ``LIF``:     ``v <- v + (dt/tau) * (v_leak - v) + (r * dt/tau) * I``; spike iff ``v > v_threshold``, then ``v <- v_reset``
- ``IF``:      ``v <- v + r * I``; spike and reset as LIF
- ``CubaLIF``: ``i <- i - (dt/tau_syn) * i + w_in * I``; ``v <- v + (dt/tau_mem) * (v_leak - v) + (r * dt/tau_mem) * i``

Every population is shifted so that it resets to 0 (``v' = v - v_reset``; exact).  ``r * dt/tau`` with
``tau = r = inf`` (snnTorch's export of ``beta = 1``, where ``r = tau/dt``) is taken as 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from nmsim.errors import NetworkError

NEURON_NODES = ("LIF", "IF", "CubaLIF")
LINEAR_NODES = ("Affine", "Linear", "Conv2d", "Flatten")
SUPPORTED_NODES = ("Input", "Output") + NEURON_NODES + LINEAR_NODES


class NirError(NetworkError):
    """A NIR graph that nmsim cannot import (one line, exit 2)."""


@dataclass
class RealPop:
    """One population in real-valued, reset-at-0 form: ``kind`` ``input``, ``lif`` (also IF) or ``cuba``.

    ``lif``: ``v <- (1 - leak) v + bias + gain * I``; ``cuba``: ``i <- (1 - syn_leak) i + w_in * I``,
    ``v <- (1 - leak) v + bias + gain * i``; spike iff ``v > threshold``, then ``v <- 0``."""

    name: str
    kind: str
    n: int
    threshold: np.ndarray | None = None
    leak: np.ndarray | None = None
    syn_leak: np.ndarray | None = None
    gain: np.ndarray | None = None
    w_in: np.ndarray | None = None
    bias: np.ndarray | None = None
    v_init: np.ndarray | None = None
    to_host: bool = False
    shape: tuple = ()  #: tensor shape of an input population (NIR ``Input`` type), flattened channel-major


@dataclass
class RealNet:
    """Populations (graph order) and real-valued projections ``(src, dst) -> sparse [n_src, n_dst]``;
    ``input_bias[dst]`` is the constant input current (Affine/Conv biases) of ``dst``."""

    name: str
    pops: dict = field(default_factory=dict)
    proj: dict = field(default_factory=dict)
    input_bias: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


def read_graph(path: str | Path):
    """``nir.read`` of ``path``; a missing or unreadable file is a :class:`NirError`."""
    try:
        import nir
    except ImportError:  # pragma: no cover - nir is in the nir/test extras
        raise NirError("NIR import needs the optional package nir (pip install 'nmsim[nir]')") from None
    path = Path(path)
    if not path.is_file():
        raise NirError(f"{path}: file not found")
    try:
        return nir.read(str(path))
    except Exception as exc:  # h5py / nir errors of any kind
        raise NirError(f"{path}: not a readable NIR graph ({type(exc).__name__}: {exc})") from None


def _arr(x, n: int | None = None) -> np.ndarray:
    a = np.asarray(x, np.float64).reshape(-1)
    if n is not None and a.size == 1 and n != 1:
        a = np.full(n, a[0])
    return a


def _pair(x) -> tuple[int, int]:
    a = np.asarray(x).reshape(-1)
    return (int(a[0]), int(a[-1]))


def conv2d_matrix(node, in_shape: tuple[int, int, int], where: str) -> tuple[sp.csr_matrix, np.ndarray, tuple]:
    """``Conv2d`` as a sparse ``[C_in*H*W, C_out*H_out*W_out]`` matrix (channel-major flattening, as
    ``Flatten`` of a ``(C, H, W)`` tensor), its bias per output and the output shape."""
    w = np.asarray(node.weight, np.float64)
    co, cig, kh, kw = w.shape
    ci, H, W = in_shape
    groups = int(node.groups)
    if ci != cig * groups:
        raise NirError(f"{where}: Conv2d weight {w.shape} does not fit input channels {ci} (groups {groups})")
    sy, sx = _pair(node.stride)
    dy, dx = _pair(node.dilation)
    if isinstance(node.padding, str):
        if node.padding == "valid":
            py = px = 0
        elif node.padding == "same" and kh % 2 and kw % 2:
            py, px = dy * (kh - 1) // 2, dx * (kw - 1) // 2
        else:
            raise NirError(f"{where}: Conv2d padding {node.padding!r} not supported (integers, 'valid', odd 'same')")
    else:
        py, px = _pair(node.padding)
    Ho, Wo = (H + 2 * py - dy * (kh - 1) - 1) // sy + 1, (W + 2 * px - dx * (kw - 1) - 1) // sx + 1
    if Ho < 1 or Wo < 1:
        raise NirError(f"{where}: Conv2d output would be empty for input {in_shape}")
    o, c, ky, kx, oy, ox = np.meshgrid(np.arange(co), np.arange(cig), np.arange(kh), np.arange(kw), np.arange(Ho),
                                       np.arange(Wo), indexing="ij")
    iy, ix = oy * sy - py + ky * dy, ox * sx - px + kx * dx
    cin = (o // (co // groups)) * cig + c
    ok = (iy >= 0) & (iy < H) & (ix >= 0) & (ix < W)
    rows = (cin * H + iy) * W + ix
    cols = (o * Ho + oy) * Wo + ox
    vals = w[o, c, ky, kx]
    m = sp.csr_matrix((vals[ok], (rows[ok], cols[ok])), shape=(ci * H * W, co * Ho * Wo))
    bias = np.repeat(_arr(node.bias, co), Ho * Wo)
    return m, bias, (co, Ho, Wo)


def _shape_of(node, key: str):
    t = getattr(node, key, None)
    if isinstance(t, dict) and t:
        return tuple(int(v) for v in np.asarray(next(iter(t.values()))).reshape(-1))
    return None


SNAP_REL = 1e-6  #: relative distance within which a gain or 4096*leak snaps to an integer (float32 round-off)


def snap(x: np.ndarray) -> np.ndarray:
    """Values within ``SNAP_REL`` (relative) of an integer become that integer: undoes float32 round-off of
    exports such as snnTorch's ``r = tau/dt`` (``docs/nir.md`` §Quantization rule 0)."""
    r = np.round(x)
    return np.where(np.abs(x - r) <= SNAP_REL * np.maximum(np.abs(x), 1.0), r, x)


def _neuron(name: str, node, dt: float | None, where: str) -> RealPop:
    kind = type(node).__name__
    thr = _arr(node.v_threshold)
    n = thr.size
    vr = _arr(node.v_reset if node.v_reset is not None else 0.0, n)
    if kind == "IF":
        return RealPop(name, "lif", n, threshold=thr - vr, leak=np.zeros(n), gain=_arr(node.r, n),
                       bias=np.zeros(n), v_init=-vr)

    def rate(tau, what):  # dt / tau
        tau = _arr(tau, n)
        if np.isinf(tau).all():
            return np.zeros(n)
        if dt is None:
            raise NirError(f"{where}: node {name!r} ({kind}) has finite {what}; give --dt SECONDS "
                           "(the step the graph was exported for; snnTorch exports with dt = 1e-4)")
        if (tau <= 0).any():
            raise NirError(f"{where}: node {name!r} ({kind}): {what} must be > 0")
        return snap(np.where(np.isinf(tau), 0.0, dt / tau) * 4096) / 4096

    tau_m = node.tau if kind == "LIF" else node.tau_mem
    a = rate(tau_m, "tau" if kind == "LIF" else "tau_mem")
    r, tau = _arr(node.r, n), _arr(tau_m, n)
    both_inf = np.isinf(r) & np.isinf(tau)
    with np.errstate(invalid="ignore"):
        gain = snap(np.where(both_inf, 1.0, r * a))
    if not np.isfinite(gain).all():
        raise NirError(f"{where}: node {name!r} ({kind}): r * dt/tau is not finite")
    bias = a * (_arr(node.v_leak, n) - vr)
    pop = RealPop(name, "lif", n, threshold=thr - vr, leak=a, gain=gain, bias=bias, v_init=-vr)
    if kind == "CubaLIF":
        pop.kind = "cuba"
        pop.syn_leak = rate(node.tau_syn, "tau_syn")
        pop.w_in = _arr(node.w_in, n)
    return pop


def reduce_graph(graph, where: str, dt: float | None = None) -> RealNet:
    """Populations and composed affine projections of ``graph`` (a ``nir.NIRGraph``); ``where`` names the
    file in error messages.  Unsupported node types raise :class:`NirError` naming type, node and file."""
    import nir

    nodes = dict(graph.nodes)
    for name, node in nodes.items():
        t = type(node).__name__
        if isinstance(node, nir.NIRGraph):
            t = "NIRGraph (nested subgraph, e.g. a recurrent snnTorch layer)"
        if t not in SUPPORTED_NODES:
            raise NirError(f"{where}: node {name!r} of type {t} is not supported; supported: "
                           f"{', '.join(SUPPORTED_NODES)}")
    base = lambda s: s.split(".")[0] if s not in nodes else s  # noqa: E731 - "node.port" -> node
    edges = [(base(a), base(b)) for a, b in graph.edges]
    for a, b in edges:
        for x in (a, b):
            if x not in nodes:
                raise NirError(f"{where}: edge {a!r} -> {b!r} names unknown node {x!r}")
    preds = {k: [a for a, b in edges if b == k] for k in nodes}
    net = RealNet(Path(where).stem.replace(".", "_") or "nir")
    for name, node in nodes.items():
        t = type(node).__name__
        if t == "Input":
            shape = _shape_of(node, "input_type") or _shape_of(node, "output_type")
            if not shape:
                raise NirError(f"{where}: Input node {name!r} has no shape")
            net.pops[name] = RealPop(name, "input", int(np.prod(shape)), shape=shape)
        elif t in NEURON_NODES:
            net.pops[name] = _neuron(name, node, dt, where)
    # maps[node] = ({source population: sparse [n_src, n_out]}, bias[n_out], shape) for linear nodes
    maps: dict = {}

    def out_of(k, stack=()):
        """The affine map (from populations) of node ``k``'s output."""
        if k in net.pops:
            p = net.pops[k]
            return {k: sp.identity(p.n, format="csr")}, np.zeros(p.n), p.shape or (p.n,)
        if k in maps:
            return maps[k]
        if k in stack:
            raise NirError(f"{where}: a cycle of linear nodes through {k!r} (no neuron in the loop)")
        node = nodes[k]
        t = type(node).__name__
        ins = [out_of(a, stack + (k,)) for a in preds[k]]
        if not ins:
            raise NirError(f"{where}: node {k!r} ({t}) has no input edge")
        src = _sum_maps(ins, f"{where}: inputs of {k!r}")
        m, b, shape = src
        if t in ("Affine", "Linear"):
            w = np.asarray(node.weight, np.float64)
            n_in = int(np.prod(shape))
            if w.ndim != 2 or w.shape[1] != n_in:
                raise NirError(f"{where}: {t} {k!r} weight {w.shape} does not take {n_in} inputs")
            wt = sp.csr_matrix(w.T)
            out = ({s: (x @ wt).tocsr() for s, x in m.items()}, b @ w.T + (_arr(node.bias, w.shape[0])
                   if t == "Affine" else 0.0), (w.shape[0],))
        elif t == "Conv2d":
            if len(shape) != 3:
                spatial = tuple(int(v) for v in np.asarray(node.input_shape).reshape(-1)) \
                    if node.input_shape is not None else None
                ci = np.asarray(node.weight).shape[1] * int(node.groups)
                if spatial is None or ci * spatial[0] * spatial[-1] != int(np.prod(shape)):
                    raise NirError(f"{where}: Conv2d {k!r}: cannot tell its (C, H, W) input shape from {shape}")
                shape = (ci, spatial[0], spatial[-1])
            cm, cb, oshape = conv2d_matrix(node, shape, f"{where}: Conv2d {k!r}")
            out = ({s: (x @ cm).tocsr() for s, x in m.items()}, b @ cm + cb, oshape)
        elif t == "Flatten":
            out = (m, b, (int(np.prod(shape)),))
        elif t == "Output":
            out = src
        else:  # a neuron node is in net.pops; anything else was refused above
            raise AssertionError(t)
        maps[k] = out
        return out

    for name, p in net.pops.items():
        if p.kind == "input":
            continue
        ins = [out_of(a) for a in preds[name]]
        if not ins:
            net.notes.append(f"population {name!r} has no input edge")
            continue
        m, b, shape = _sum_maps(ins, f"{where}: inputs of {name!r}")
        if int(np.prod(shape)) != p.n:
            raise NirError(f"{where}: node {name!r} has {p.n} neurons but receives {int(np.prod(shape))} inputs")
        for s, x in m.items():
            net.proj[(s, name)] = x
        net.input_bias[name] = b
    for name, node in nodes.items():
        if type(node).__name__ == "Output":
            m, _, _ = out_of(name)
            for s in m:
                net.pops[s].to_host = net.pops[s].kind != "input"
    return net


def _sum_maps(ins, where):
    shapes = {int(np.prod(s)) for _, _, s in ins}
    if len(shapes) != 1:
        raise NirError(f"{where}: edges of different sizes {sorted(shapes)} meet")
    m: dict = {}
    for mm, _, _ in ins:
        for s, x in mm.items():
            m[s] = m[s] + x if s in m else x
    return m, sum(b for _, b, _ in ins), ins[0][2]


def finite_check(net: RealNet, where: str) -> None:
    for (s, d), x in net.proj.items():
        if x.nnz and not np.isfinite(x.data).all():
            raise NirError(f"{where}: projection {s!r} -> {d!r} has non-finite weights")
    for p in net.pops.values():
        for k in ("threshold", "leak", "gain", "bias", "v_init"):
            v = getattr(p, k)
            if v is not None and not np.isfinite(v).all():
                raise NirError(f"{where}: node {p.name!r}: {k} is not finite")
