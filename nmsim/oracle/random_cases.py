"""Small valid :class:`CompiledModel` s: built from an edge list, or drawn at random from a seed.

:func:`build_model` turns a plain description (neurons per core, host
neurons, ``(source, target, weight)`` synapses, timing) into the flat arrays
of ``nmsim/compile/compiled.py`` through :func:`nmsim.compile.lif.lif_model`
(the one direct builder).  Hand-written tests use it directly;
:func:`random_case` draws everything from ``np.random.default_rng(seed)``
for the oracle/engine agreement test and ``nmsim validate``.

Neurons are numbered grouped by core (core 0 first, host last); LIF neurons
live on cores, input neurons on the host.  Synapse targets are LIF neurons;
all synapses use accumulator 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nmsim.compile.compiled import CompiledModel
from nmsim.compile.lif import DEFAULT_LIF, DEFAULT_TIMING, lif_model  # noqa: F401 (re-exported)


@dataclass(frozen=True)
class RandomCase:
    """One random test case: a model, a number of steps and the host's payloads."""

    seed: int
    model: CompiledModel
    n_steps: int
    host_payloads: np.ndarray  #: int64[n_steps, n_host]
    build: dict  #: keyword arguments of :func:`build_model` that rebuild ``model`` (for shrinking)


def build_model(
    *,
    width: int,
    height: int,
    core_router: list[int],
    io_router: int,
    neurons_per_core: list[int],
    n_host: int = 0,
    edges: list[tuple[int, int, int]] = (),
    timing: dict[str, int] | None = None,
    lif_params: np.ndarray | None = None,
    v0: np.ndarray | None = None,
    n_accumulators: int = 1,
    row_order: np.ndarray | None = None,
    system: dict | None = None,
    to_host: tuple[int, ...] = (),
) -> CompiledModel:
    """A checked :class:`CompiledModel` from a plain description.

    ``core_router[c]``: router of core ``c`` (host excluded); ``neurons_per_core[c]``:
    LIF neurons of core ``c``; ``n_host`` input neurons follow them.
    ``edges``: ``(source, target, weight)`` with global neuron indices; within a
    row synapses keep the order of ``edges``.  ``lif_params`` int64[n_lif, 6]
    (default :data:`DEFAULT_LIF`), ``v0`` int64[n_lif] initial ``v`` (default 0).
    ``row_order``: permutation of the rows (default: by source, then destination core).
    ``system``: board geometry (``CompiledModel.meta["system"]``, :meth:`nmsim.describe.system.SystemSpec.geometry`);
    ``width``/``height`` are then the whole board's.
    """
    assert len(neurons_per_core) == len(core_router), "neurons_per_core needs one entry per core"
    neuron_core = np.repeat(np.arange(len(core_router)), neurons_per_core)
    model = lif_model(width=width, height=height, core_router=core_router, io_router=io_router,
                      neuron_core=neuron_core, n_host=n_host, edges=edges, timing=timing, lif=lif_params, v0=v0,
                      n_accumulators=n_accumulators, row_order=row_order, to_host=to_host)
    if system is not None:
        model.meta["system"] = dict(system)
    return model


def random_timing(rng: np.random.Generator, width: int, height: int, zero_latency: bool = True) -> dict[str, int]:
    """Random timing; with ``zero_latency`` every latency and occupancy may be 0."""
    lo = 0 if zero_latency else 1
    base, per_hop = int(rng.integers(0, 11)), int(rng.integers(0, 4))
    return {
        "neuron_update_active_cycles": int(rng.integers(0, 5)),
        "neuron_update_idle_cycles": int(rng.integers(0, 3)),
        "spike_send_cycles": int(rng.integers(lo, 4)),
        "io_packet_cycles": int(rng.integers(lo, 5)),
        "hop_east_west_cycles": int(rng.integers(lo, 4)),
        "hop_north_south_cycles": int(rng.integers(lo, 4)),
        "local_delivery_cycles": int(rng.integers(lo, 4)),
        "packet_receive_cycles": int(rng.integers(0, 4)),
        "synapse_read_cycles": int(rng.integers(0, 4)),
        "synapses_per_read": int(rng.integers(1, 5)),
        "flits_per_packet": int(rng.integers(1, 4)),
        "router_buffer_packets": int(rng.integers(1, 4)),
        "barrier_cycles": base + per_hop * (width - 1 + height - 1),
    }


def random_case(
    seed: int, *, max_lif: int = 40, max_host: int = 8, max_steps: int = 5, zero_latency: bool = True,
    board: bool = False, two_d: bool = False, holes: bool = False, link_buffer: bool = False,
    readout: bool = False,
) -> RandomCase:
    """A random small chip, network, timing and host input, all drawn from ``seed``.

    Mesh 1..4 x 1..4, 1..3 cores per router (cores shuffled over routers),
    LIF neurons on a random subset of cores, sparse random integer weights
    (zeros and duplicate synapses included), random LIF parameters, host
    payloads in -3..5.  ``zero_latency=False`` keeps every link latency >= 1.  ``board=True``: a row or
    column of 2..3 chips joined by chip-to-chip links of random occupancy and latency (``docs/systems.md``);
    every latency >= 1.  ``two_d=True`` (with ``board``): a 2-D board of 2..3 x 2..3 chips instead, whose
    mesh links carry two virtual channels.  ``holes=True`` (with ``board`` and ``two_d``): a 2-D board of 3..4 x
    2..4 positions, some of which hold no chip (``system["empty"]``), drawn until every pair of chips has a
    route around them (:func:`nmsim.oracle.oracle_paths.board_chip_step`); cores sit on the chips only.
    ``link_buffer=True`` (with ``board``): the chip-to-chip links get their own input-buffer depth, 1..3
    packets (``system["link_buffer"]``), drawn last so the rest of the case is the one without it.
    ``readout=True`` (one chip): some LIF neurons also send to the host, in packets of 1..4 values of
    ``flits_per_packet + 0..3`` flits (``readout_values_per_packet``, ``readout_flits_per_packet``), drawn from
    a second generator so the rest of the case is the one without it.
    """
    rng = np.random.default_rng(seed)
    W, H, cpr = (int(v) for v in rng.integers(1, [5, 5, 4]))
    system = None
    if board:  # a row or a column (or, two_d, a 2-D board) of 2..3 chips of 1..3 x 1..3 routers
        cw, ch = (int(v) for v in rng.integers(1, [4, 4]))
        n = int(rng.integers(2, 4))
        cx, cy = (n, 1) if rng.random() < 0.5 else (1, n)
        if two_d:
            cx, cy = n, int(rng.integers(2, 4))
        occ = int(rng.integers(1, 6))
        system = {"chip_width": cw, "chip_height": ch, "chips_x": cx, "chips_y": cy,
                  "east_west_row": int(rng.integers(ch)), "north_south_col": int(rng.integers(cw)),
                  "link_occ": occ, "link_lat": int(rng.integers(1, 30)) + occ - 1}
        W, H, cpr, zero_latency = cw * cx, ch * cy, int(rng.integers(1, 3)), False
        if holes:
            system["chips_x"], system["chips_y"] = int(rng.integers(3, 5)), int(rng.integers(2, 5))
            W, H = cw * system["chips_x"], ch * system["chips_y"]
            system["empty"] = _draw_holes(rng, system)
    R = W * H
    on = np.ones(R, bool)
    if system is not None and system.get("empty"):
        g = system
        chip = ((np.arange(R) // W) // g["chip_height"]) * g["chips_x"] + (np.arange(R) % W) // g["chip_width"]
        on = ~np.isin(chip, list(g["empty"]))
    routers = np.flatnonzero(on)
    C = routers.size * cpr
    core_router = rng.permutation(np.repeat(routers, cpr)).tolist()
    io_router = int(routers[rng.integers(routers.size)])

    n_lif, n_host = int(rng.integers(1, max_lif + 1)), int(rng.integers(0, max_host + 1))
    used = rng.choice(C, size=int(rng.integers(1, C + 1)), replace=False)
    neurons_per_core = np.bincount(rng.choice(used, size=n_lif), minlength=C).tolist()
    N = n_lif + n_host

    density = rng.uniform(0.02, 0.3)
    edges = []
    for src in range(N):
        for tgt in np.flatnonzero(rng.random(n_lif) < density):
            w = int(rng.integers(-4, 9))
            edges.append((src, int(tgt), w))
            if rng.random() < 0.03:  # duplicate synapse
                edges.append((src, int(tgt), int(rng.integers(-4, 9))))
    edges = [edges[i] for i in rng.permutation(len(edges))]

    threshold = rng.integers(0, 12, size=n_lif)
    decay = rng.choice([0, 4096, -1], size=n_lif)
    decay = np.where(decay < 0, rng.integers(0, 4097, size=n_lif), decay)
    bias = np.where(rng.random(n_lif) < 0.7, 0, rng.integers(-2, 4, size=n_lif))
    reset_mode = rng.integers(0, 2, size=n_lif)
    v_min = rng.integers(-40, 1, size=n_lif)
    v_max = v_min + rng.integers(0, 80, size=n_lif)
    lif = np.stack([threshold, decay, bias, reset_mode, v_min, v_max], axis=1)
    v0 = rng.integers(v_min, v_max + 1)

    core_of = np.repeat(np.arange(C), neurons_per_core)
    n_rows = len({(s, int(core_of[t])) for s, t, _ in edges})
    row_order = rng.permutation(n_rows) if rng.random() < 0.5 else None  # rows stored in a random order
    build = dict(
        width=W, height=H, core_router=core_router, io_router=io_router,
        neurons_per_core=neurons_per_core, n_host=n_host, edges=edges,
        timing=random_timing(rng, W, H, zero_latency), lif_params=lif, v0=v0,
        n_accumulators=int(rng.choice([1, 1, 1, 2])), row_order=row_order, system=system,
    )
    if readout and system is None:
        r2 = np.random.default_rng([seed, 7])
        build["to_host"] = tuple(int(g) for g in np.flatnonzero(r2.random(n_lif) < r2.uniform(0.2, 1.0)))
        kv = int(r2.integers(1, 5))
        build["timing"] = {**build["timing"], "readout_values_per_packet": kv,
                           "readout_flits_per_packet": build["timing"]["flits_per_packet"]
                           + (int(r2.integers(0, 4)) if kv > 1 else 0)}
    model = build_model(**build)
    model.meta.update(seed=seed, generator="nmsim.oracle.random_cases.random_case")

    n_steps = int(rng.integers(1, max_steps + 1))
    p_event = rng.uniform(0.1, 0.6)
    values = rng.choice(np.r_[-3:0, 1:6], size=(n_steps, n_host))
    host_payloads = np.where(rng.random((n_steps, n_host)) < p_event, values, 0).astype(np.int64)
    if link_buffer and system is not None:
        build["system"] = {**system, "link_buffer": int(rng.integers(1, 4))}
        model.meta["system"] = dict(build["system"])
    return RandomCase(seed, model, n_steps, host_payloads, build)


def _draw_holes(rng: np.random.Generator, g: dict) -> tuple[int, ...]:
    """Empty grid positions for a board ``g``: 1..n/3 of them, redrawn until every pair of chips has a route."""
    from nmsim.oracle.oracle_paths import board_chip_step

    CX, CY = g["chips_x"], g["chips_y"]
    n = CX * CY
    while True:
        empty = tuple(sorted(int(i) for i in rng.choice(n, size=int(rng.integers(1, n // 3 + 1)), replace=False)))
        chips = [(i % CX, i // CX) for i in range(n) if i not in empty]
        try:
            for a in chips:
                for b in chips:
                    c = a
                    while c != b:
                        d = board_chip_step({**g, "empty": empty}, c, b)
                        c = (c[0] + {"E": 1, "W": -1}.get(d, 0), c[1] + {"N": 1, "S": -1}.get(d, 0))
        except ValueError:
            continue
        return empty


# --------------------------------------------------------------------------- LM replay cases


@dataclass(frozen=True)
class RandomLMCase:
    """A small synthetic language model placed on a random small chip, driven by a replay schedule."""

    seed: int
    model: CompiledModel
    n_steps: int
    host_payloads: np.ndarray  #: int64[n_steps, n_host]
    enable: np.ndarray  #: uint8[n_steps, N]
    info: dict


def random_lm_case(seed: int, max_tokens: int = 4, readout: bool = False) -> RandomLMCase:
    """A tiny LM (``egru``/``gru``/``lstm``, V <= 12, hidden <= 6, 1..3 layers, decoder on the chip or the
    host) on a random mesh (1..3 x 1..3, 1..2 cores per router) with random timing, replayed for a few
    tokens under the pipelined or serial schedule (enable masks, routes to the host, graded payloads).
    ``readout=True``: the chip packs 2..5 values per packet to the host (``noc.readout_values_per_packet``,
    drawn from a second generator so the rest of the case is the one without it)."""
    from nmsim.compile.build import compile_model
    from nmsim.describe.chip import TIMING_KEYS
    from nmsim.lm.golden import GoldenModel
    from nmsim.lm.modelfile import loads
    from nmsim.lm.modelfile import dumps as mf_dumps
    from nmsim.map.placement import place
    from nmsim.replay.network import build_lm_network
    from nmsim.replay.schedule import make_schedule
    from nmsim.replay.synth import synthetic_model

    rng = np.random.default_rng(seed)
    kind = str(rng.choice(["egru", "egru", "gru", "lstm"]))
    n_layers = int(rng.integers(1, 4))
    E = int(rng.integers(2, 6))
    hidden = [int(rng.integers(2, 7)) for _ in range(n_layers - 1)] + [E]
    V = int(rng.integers(3, 13))
    header, arrays = synthetic_model(kind=kind, vocab=V, emb=E, hidden=hidden, sparsity=float(rng.uniform(0, 0.7)),
                                     seed=seed, theta=float(rng.uniform(0.05, 0.4)),
                                     emb_density=float(rng.uniform(0.5, 1.0)))
    golden = GoldenModel(loads(mf_dumps(header, arrays), f"<random lm {seed}>"))
    decoder = str(rng.choice(["chip", "chip", "host"]))
    lm = build_lm_network(golden, decoder=decoder)
    W, H, cpr = (int(v) for v in rng.integers(1, [4, 4, 3]))
    tim = random_timing(rng, W, H, zero_latency=bool(rng.random() < 0.5))
    ov = {"mesh.width": W, "mesh.height": H, "mesh.cores_per_router": cpr,
          "mesh.io_router_x": int(rng.integers(W)), "mesh.io_router_y": int(rng.integers(H)),
          "core.max_neurons": int(rng.integers(4, 16)), "core.synapse_memory_bytes": 1 << 16,
          "core.synapse_index_bits": 8, "core.row_pointer_bits": 17, "core.max_fan_in_axons": 4096,
          "core.synapses_per_read": tim["synapses_per_read"], "noc.router_buffer_packets": tim["router_buffer_packets"],
          "noc.header_bits": 8, "noc.link_width_bits": int(rng.choice([16, 24, 48])),
          "barrier.base_cycles": tim["barrier_cycles"], "barrier.per_hop_cycles": 0}
    if readout:
        ov["noc.readout_values_per_packet"] = int(np.random.default_rng([seed, 7]).integers(2, 6))
    for k in TIMING_KEYS:
        ov[f"timing.{k}"] = tim[k]
    chip = _lm_chip(ov)
    need = lm.net.n_neurons - E
    if chip.n_cores * chip.core.max_neurons < need:
        ov["core.max_neurons"] = -(-need // chip.n_cores) + 2
        chip = _lm_chip(ov)
    pl = place(chip, lm.net, strategy=str(rng.choice(["snake", "partition"])), seed=seed)
    cm = compile_model(chip, lm.net, pl)
    n_tok = int(rng.integers(1, max_tokens + 1))
    tokens = rng.integers(0, V, n_tok)
    sched = make_schedule(str(rng.choice(["pipelined", "serial"])), n_tok, lm.n_layers, readout=decoder == "chip")
    from nmsim.compile.build import neuron_index

    stage_idx = [neuron_index(cm, p) for p in [lm.emb] + lm.layer_pops + ([lm.readout] if lm.readout else [])]
    N = cm.n_neurons
    host0 = int(cm.core_neuron_ptr[cm.n_cores])
    enable = np.ones((sched.n_steps, N), np.uint8)
    host = np.zeros((sched.n_steps, N - host0), np.int64)
    for s in range(sched.n_steps):
        for st in range(1, len(stage_idx)):
            if not sched.stage_on[s, st]:
                enable[s, stage_idx[st]] = 0
        if sched.token_at[s] >= 0:
            host[s, stage_idx[0] - host0] = golden.emb[tokens[sched.token_at[s]]]
    info = {"kind": kind, "hidden": hidden, "V": V, "decoder": decoder, "mode": sched.mode, "tokens": tokens.tolist(),
            "mesh": (W, H, cpr), "readout_values_per_packet": chip.noc.readout_values_per_packet}
    cm.meta.update(seed=seed, generator="nmsim.oracle.random_cases.random_lm_case")
    return RandomLMCase(seed, cm, sched.n_steps, host, enable, info)


def _lm_chip(ov: dict):
    from nmsim.describe.chip import load_chip_variant

    return load_chip_variant("test-2x2", replay_profile=True, overrides=ov)
