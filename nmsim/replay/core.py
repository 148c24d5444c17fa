"""Token-by-token replay of an exported language model on a simulated chip (``docs/replay.md``).

:func:`replay` loads a model file, maps it onto a chip (:mod:`nmsim.replay.network`),
drives the Numba engine step by step under a schedule (:mod:`nmsim.replay.schedule`),
checks every token's per-layer payloads and logits against the golden integer
reference (:class:`nmsim.lm.golden.GoldenModel`), and measures latency, traffic and
energy.  Memory stays bounded in the number of tokens (logits are compared, hashed
and scored in chunks, never stored whole).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from nmsim.describe.actions import A, ACTIONS, N_ACTIONS
from nmsim.describe.chip import ChipSpec, load_chip_variant
from nmsim.errors import DatasetError, MappingError, NmsimError
from nmsim.paths import project_root as repo_root
from nmsim.replay.network import DECODERS, LMNetwork, build_lm_network
from nmsim.replay.schedule import MODES, Schedule, make_schedule

#: The model ``nmsim run`` replays by default (one constant; relative to the repository root).
DEFAULT_MODEL = "workloads/models/ptb-egru-small-s90.nmm"
DEFAULT_CHIP = "loihi"
DEFAULT_DATASET = "ptb"
DEFAULT_SPLIT = "test"
DEFAULT_TOKENS = 1000
PLACEMENTS = ("snake", "partition")
#: Steps recorded in the Perfetto trace with ``trace=True`` (the first ones of the run).
DEFAULT_TRACE_STEPS = 6
#: Tokens per chunk of logits compared / hashed / scored at once (= ``GoldenModel.run``'s chunk, so that the
#: perplexity sums group exactly as the golden's and the two perplexities are equal to the last bit).
CHUNK = 512

#: Energy categories (``docs/replay.md``): action -> category.
CATEGORY = {
    "synapse_read": "synapse", "synaptic_op": "synapse", "packet_receive": "synapse",
    "neuron_update_active": "neuron", "neuron_update_idle": "neuron", "spike": "neuron",
    "packet_send": "noc", "flit_hop_east_west": "noc", "flit_hop_north_south": "noc", "local_delivery": "noc",
    "io_packet": "io", "barrier": "barrier",
}
CATEGORIES = ("synapse", "neuron", "noc", "io", "barrier", "static")


@dataclass
class ReplayConfig:
    """Everything that defines a replay (all of it ends up in ``run.json``)."""

    model: str = DEFAULT_MODEL
    chip: str = DEFAULT_CHIP
    dataset: str = DEFAULT_DATASET
    split: str = DEFAULT_SPLIT
    tokens: int | str = DEFAULT_TOKENS   #: a positive count, or "all"
    placement: str = "snake"
    mode: str = "pipelined"
    decoder: str = "chip"
    seed: int = 0
    chip_overrides: dict = field(default_factory=dict)  #: {"timing.hop_east_west_cycles": 41, ...}
    trace: bool = False
    trace_steps: int = DEFAULT_TRACE_STEPS


@dataclass
class Mismatch:
    token: int
    layer: str          #: "L1".."LL" or "logits"
    index: int          #: first differing unit / word
    chip: int
    golden: int

    def text(self) -> str:
        return (f"token {self.token}, {self.layer}[{self.index}]: chip {self.chip} != golden {self.golden}")


@dataclass
class ReplayResult:
    summary: dict
    tokens_rows: list[dict]
    run_info: dict
    trace: Any = None            #: nmsim.report.perfetto.Trace or None
    first_mismatch: Mismatch | None = None


# ---------------------------------------------------------------------------- inputs


def resolve_model_path(model: str | Path) -> Path:
    """A path as given, else relative to the repository root, else ``workloads/models/<name>.nmm``."""
    p = Path(model)
    if p.exists():
        return p
    for cand in (repo_root() / p, repo_root() / "workloads" / "models" / f"{p.name}",
                 repo_root() / "workloads" / "models" / f"{p.name}.nmm"):
        if cand.exists():
            return cand
    return p


def load_tokens(mf, dataset: str, split: str, tokens: int | str) -> tuple[np.ndarray, str]:
    """Token ids of the model's vocabulary for the first ``tokens`` words of ``dataset``/``split``."""
    from nmsim.lm.data import canonical_name, load_corpus

    ds = canonical_name(dataset)
    corpus = load_corpus(ds)
    ids = corpus.split(split)
    n_avail = len(ids)
    n = parse_tokens(tokens, n_avail, f"{ds}/{split}")
    ids = ids[:n]
    if corpus.vocab.itos != list(mf.vocab):
        stoi = {w: i for i, w in enumerate(mf.vocab)}
        words = corpus.vocab.decode(ids)
        out = np.empty(n, np.int64)
        for t, w in enumerate(words):
            if w not in stoi:
                raise DatasetError(f"{ds}/{split} token {t} ({w!r}) is not in the vocabulary of model "
                                   f"{mf.header.get('name', mf.path)!r}")
            out[t] = stoi[w]
        ids = out
    return np.asarray(ids, np.int64), ds


def parse_tokens(tokens: int | str, n_avail: int, what: str = "the split") -> int:
    """``tokens`` (a positive integer, its decimal text, or ``"all"``) -> a count ``<= n_avail``."""
    if isinstance(tokens, str):
        s = tokens.strip().lower()
        if s == "all":
            return n_avail
        try:
            tokens = int(s)
        except ValueError:
            raise DatasetError(f"--tokens {tokens!r}: expected a positive integer or 'all'") from None
    if isinstance(tokens, bool) or not isinstance(tokens, (int, np.integer)):
        raise DatasetError(f"tokens {tokens!r}: expected a positive integer or 'all'")
    if tokens < 1:
        raise DatasetError(f"tokens {tokens}: must be at least 1")
    if tokens > n_avail:
        raise DatasetError(f"tokens {tokens}: {what} has only {n_avail} tokens (use 'all')")
    return int(tokens)


def load_replay_chip(chip: str | Path, overrides: dict | None = None) -> ChipSpec:
    """The chip with its ``[replay]`` profile (graded payloads, accumulators) and ``overrides`` applied."""
    return load_chip_variant(chip, replay_profile=True, overrides=overrides)


# ---------------------------------------------------------------------------- build


@dataclass
class Mapped:
    golden: Any
    lm: LMNetwork
    chip: ChipSpec
    placement: Any
    model: Any           #: CompiledModel
    stage_index: list    #: compiled neuron indices per stage (stage 0 = host emb)
    layer_index: list    #: compiled indices of each layer's units, in unit order
    readout_index: np.ndarray | None


def build_replay(golden, chip: ChipSpec, placement: str = "snake", decoder: str = "chip", seed: int = 0) -> Mapped:
    from nmsim.compile.build import compile_model, neuron_index
    from nmsim.map.placement import place

    if placement not in PLACEMENTS:
        raise MappingError(f"placement {placement!r}; choices: {', '.join(PLACEMENTS)}")
    lm = build_lm_network(golden, decoder=decoder)
    try:
        pl = place(chip, lm.net, strategy=placement, seed=seed)
    except MappingError as exc:
        sizes = (f"model {lm.net.name!r}: {lm.net.n_neurons - lm.emb_dim} neurons on cores "
                 f"(layers {lm.hidden}{', readout ' + str(lm.vocab_size) if lm.readout else ''}), "
                 f"{lm.net.nnz} synapses")
        raise MappingError(f"{exc} [{sizes}]") from None
    cm = compile_model(chip, lm.net, pl)
    layer_index = [neuron_index(cm, p) for p in lm.layer_pops]
    readout_index = neuron_index(cm, lm.readout) if lm.readout else None
    stage_index = [neuron_index(cm, lm.emb)] + layer_index + ([readout_index] if lm.readout else [])
    return Mapped(golden, lm, chip, pl, cm, stage_index, layer_index, readout_index)


# ---------------------------------------------------------------------------- replay


def decode_batch(golden, Y: np.ndarray) -> np.ndarray:
    """int32 logits ``saturate_32(Y @ E_int^T + b_dec)`` of a batch of last-layer payloads, computed exactly
    as :meth:`nmsim.lm.golden.GoldenModel.run` does (float64 BLAS only when the golden proved every partial
    sum exact, else int64).  Also the host's decoder with ``decoder="host"``."""
    from nmsim.lm.intformat import saturate

    if golden.fast_ok:
        lgf = Y.astype(np.float64) @ golden.embf.T
        lgf += golden.dec_biasf
        return saturate(lgf.astype(np.int64), 32).astype(np.int32)
    return saturate(Y @ golden.emb.T + golden.dec_bias, 32).astype(np.int32)


def replay(cfg: ReplayConfig, progress: Callable[[int, int], None] | None = None,
           perturb: Callable[[Any], None] | None = None, mapped: Mapped | None = None,
           tokens: np.ndarray | None = None) -> ReplayResult:
    """Run one replay.  ``progress(done, total)`` is called per token finished (optional).

    ``perturb(compiled_model)`` may alter the compiled arrays before the run (tests: a flipped
    weight must be reported as a mismatch).  ``mapped``/``tokens`` skip loading (sweeps, tests).
    """
    from nmsim.lm.golden import GoldenModel
    from nmsim.lm.metrics import nll_from_float_logits
    from nmsim.lm.modelfile import load_model
    from nmsim.sim.engine import Engine

    t_wall0 = time.perf_counter()
    if cfg.mode not in MODES:
        raise NmsimError(f"mode {cfg.mode!r}; choices: {', '.join(MODES)}")
    if cfg.decoder not in DECODERS:
        raise NmsimError(f"decoder {cfg.decoder!r}; choices: {', '.join(DECODERS)}")
    if mapped is None:
        mpath = resolve_model_path(cfg.model)
        mf = load_model(mpath)
        golden = GoldenModel(mf)
        if tokens is None:
            tokens, ds = load_tokens(mf, cfg.dataset, cfg.split, cfg.tokens)
        chip = load_replay_chip(cfg.chip, cfg.chip_overrides)
        mapped = build_replay(golden, chip, cfg.placement, cfg.decoder, cfg.seed)
    else:
        golden, chip, mf = mapped.golden, mapped.chip, mapped.golden.mf
        if tokens is None:
            tokens, ds = load_tokens(mf, cfg.dataset, cfg.split, cfg.tokens)
    tokens = np.asarray(tokens, np.int64)
    N = len(tokens)
    if N < 1:
        raise DatasetError("no tokens to replay")
    cm = mapped.model
    if perturb is not None:
        perturb(cm)
    lm = mapped.lm
    Lc = lm.n_layers
    on_chip_decoder = lm.readout is not None
    sched = make_schedule(cfg.mode, N, Lc, readout=on_chip_decoder)
    eng = Engine(cm, trace=cfg.trace)  # tracing stops after cfg.trace_steps steps
    C = cm.n_cores
    Nn = cm.n_neurons
    host0 = eng.host_start
    emb_host_cols = mapped.stage_index[0] - host0
    V = lm.vocab_size

    # per-step records (bounded: n_steps x N_ACTIONS)
    n_steps = sched.n_steps
    step_cycles = np.zeros(n_steps, np.int64)
    cnt_cores = np.zeros((n_steps, N_ACTIONS), np.int64)   # summed over cores (host excluded)
    cnt_host = np.zeros((n_steps, N_ACTIONS), np.int64)
    cnt_core_total = np.zeros((C + 1, N_ACTIONS), np.int64)
    busy_total = np.zeros(cm.n_links, np.int64)
    peak_step_util = 0.0
    fired = np.zeros(Nn, np.uint8)
    payload = np.zeros(Nn, np.int64)
    counters = np.zeros((C + 1, N_ACTIONS), np.int64)
    link_busy = np.zeros(cm.n_links, np.int64)
    enable_cache: dict[tuple, np.ndarray] = {}

    # golden side, in flight: token -> per-layer payloads
    from nmsim.replay.golden_fast import FastGolden

    fg = FastGolden(golden)
    g_state = fg.init_state()
    g_pending: dict[int, list] = {}
    g_ops = np.zeros(Lc, np.int64)
    g_dec_ops = 0
    layer_events = np.zeros(Lc, np.int64)
    dec_ops = 0
    first: Mismatch | None = None
    n_mismatch_tokens = 0
    bad_tokens: set[int] = set()

    sha = hashlib.sha256()
    nll = 0.0
    nll_gold = 0.0
    n_pred = 0
    csize = min(CHUNK, N)
    chunk_logits = np.zeros((csize, V), np.int32)      # chip logits (decoder on chip)
    chunk_ychip = np.zeros((csize, lm.emb_dim), np.int64)  # chip last-layer payloads (decoder on host)
    chunk_ygold = np.zeros((csize, lm.emb_dim), np.int64)  # golden last-layer payloads
    chunk_tok = np.zeros(csize, np.int64)
    chunk_start = 0
    chunk_fill = 0
    done_tokens = 0

    def flush_chunk():
        nonlocal nll, nll_gold, n_pred, chunk_start, chunk_fill
        if chunk_fill == 0:
            return
        n = chunk_fill
        gold = decode_batch(golden, chunk_ygold[:n])
        lg = chunk_logits[:n] if on_chip_decoder else decode_batch(golden, chunk_ychip[:n])
        bad = np.flatnonzero((lg != gold).any(axis=1))
        for r in bad:
            note(int(chunk_tok[r]), "logits", lg[r].astype(np.int64), gold[r].astype(np.int64))
        sha.update(np.ascontiguousarray(lg, dtype="<i4").tobytes())
        tgt = tokens[chunk_start + 1: chunk_start + n + 1]
        if len(tgt):  # exactly as GoldenModel.run(targets_logprob=True) scores its chunks
            nll += nll_from_float_logits(lg[:len(tgt)].astype(np.float64), tgt, golden.logit_scale)
            nll_gold += nll_from_float_logits(gold[:len(tgt)].astype(np.float64), tgt, golden.logit_scale)
            n_pred += len(tgt)
        chunk_start += n
        chunk_fill = 0

    def note(tau: int, layer: str, chip_v: np.ndarray, gold_v: np.ndarray):
        nonlocal first
        if not np.array_equal(chip_v, gold_v):
            bad_tokens.add(tau)
            if first is None or (tau, _layer_rank(layer, Lc)) < (first.token, _layer_rank(first.layer, Lc)):
                i = int(np.flatnonzero(chip_v != gold_v)[0])
                first = Mismatch(tau, layer, i, int(chip_v[i]), int(gold_v[i]))

    def finish_token(tau: int, chip_row: np.ndarray):
        """Token ``tau``'s logits (decoder on chip) or last-layer payloads (decoder on host) are in."""
        nonlocal chunk_fill, done_tokens
        assert tau == chunk_start + chunk_fill, "tokens finish in order"
        if on_chip_decoder:
            chunk_logits[chunk_fill] = chip_row
        else:
            chunk_ychip[chunk_fill] = chip_row
        chunk_ygold[chunk_fill] = g_pending.pop(tau)[-1]
        chunk_tok[chunk_fill] = tau
        chunk_fill += 1
        done_tokens += 1
        if chunk_fill == csize:
            flush_chunk()
        if progress is not None:
            progress(done_tokens, N)

    traces = []
    hp = np.zeros(eng.n_host, np.int64)
    host_routes = np.diff(cm.route_ptr)[host0:]
    host_out = np.zeros(n_steps, np.int64)
    for s in range(n_steps):
        hp[:] = 0
        tau_in = int(sched.token_at[s])
        if tau_in >= 0:
            hp[emb_host_cols] = golden.emb[tokens[tau_in]]  # the embedding row, sent by the host
            host_out[s] = int(host_routes[hp != 0].sum())
            ys, g_state, ops = fg.step(int(tokens[tau_in]), g_state)
            g_ops += ops
            g_pending[tau_in] = ys
            g_dec_ops += int(golden.emb_colnnz[ys[-1] != 0].sum())
        key = tuple(sched.stage_on[s].tolist())
        en = enable_cache.get(key)
        if en is None:
            en = np.ones(Nn, np.uint8)
            for st, idx in enumerate(mapped.stage_index):
                if st > 0 and not key[st]:
                    en[idx] = 0
            enable_cache[key] = en
        counters[:] = 0
        if eng.trace and s >= cfg.trace_steps:
            eng.trace = False  # only the first trace_steps steps are traced
        cyc, tr = eng.step_into(fired, payload, counters, link_busy, hp, en)
        if tr is not None:
            traces.append((tr, eng._core_end[:C].copy()))
        step_cycles[s] = cyc
        cnt_cores[s] = counters[:C].sum(axis=0)
        cnt_host[s] = counters[C]
        cnt_core_total += counters
        busy_total += link_busy
        if cyc > 0:
            peak_step_util = max(peak_step_util, float(link_busy.max(initial=0)) / cyc)
        # compare every layer's payloads for the token it handled at this step
        for li in range(Lc):
            tau = sched.handles(li + 1, s)
            if tau < 0:
                continue
            chip_y = payload[mapped.layer_index[li]]
            layer_events[li] += int(np.count_nonzero(chip_y))
            if li == Lc - 1 and on_chip_decoder:  # synapses the last layer's sends reach in the decoder
                dec_ops += int(golden.emb_colnnz[fired[mapped.layer_index[li]] != 0].sum())
            note(tau, f"L{li + 1}", chip_y, g_pending[tau][li])
            if not on_chip_decoder and li == Lc - 1:
                finish_token(tau, chip_y)
        if on_chip_decoder:
            tau = sched.handles(Lc + 1, s)
            if tau >= 0:
                finish_token(tau, payload[mapped.readout_index])
    flush_chunk()
    assert done_tokens == N and not g_pending, "schedule did not finish every token"
    sim_wall = time.perf_counter() - t_wall0

    return _assemble(cfg, mapped, tokens, sched, step_cycles, cnt_cores, cnt_host, cnt_core_total, busy_total,
                     peak_step_util, layer_events, g_ops, g_dec_ops, first, len(bad_tokens), sha.hexdigest(),
                     (nll, nll_gold), n_pred, traces, sim_wall, host_out, dec_ops)


def _layer_rank(layer: str, L: int) -> int:
    return L + 1 if layer == "logits" else int(layer[1:])


# ---------------------------------------------------------------------------- results


def _energy(chip: ChipSpec, cnt_cores: np.ndarray, cnt_host: np.ndarray, step_cycles: np.ndarray):
    """Per step and action (pJ), with the host column charged as in :func:`nmsim.account.account`."""
    from nmsim.account.energy import host_mask

    pj = np.asarray(chip.energy.vector_pj(), np.float64)
    dyn = cnt_cores.astype(np.float64) * pj + cnt_host.astype(np.float64) * (pj * host_mask())
    step_ns = step_cycles.astype(np.float64) / chip.clock.frequency_hz * 1e9
    static = float(chip.static.core_power_mw) * chip.n_cores * step_ns   # mW x ns = pJ
    return dyn, static, step_ns


def _categories(dyn_row_or_sum: np.ndarray, static: float) -> dict:
    out = {c: 0.0 for c in CATEGORIES}
    for a, name in enumerate(ACTIONS):
        out[CATEGORY[name]] += float(dyn_row_or_sum[..., a].sum())
    out["static"] = float(static)
    return out


def _r(x: float, nd: int = 6) -> float:
    """Stable rounding for JSON (the values are deterministic; this only trims float noise)."""
    return float(f"{x:.{nd}g}") if math.isfinite(x) else x


def _assemble(cfg, mapped: Mapped, tokens, sched: Schedule, step_cycles, cnt_cores, cnt_host, cnt_core_total,
              busy_total, peak_step_util, layer_events, g_ops, g_dec_ops, first, n_bad, logits_sha, nll, n_pred,
              traces, sim_wall, host_out, dec_ops=0) -> ReplayResult:
    from nmsim.lm.metrics import perplexity

    chip, cm, lm = mapped.chip, mapped.model, mapped.lm
    N = len(tokens)
    hz = chip.clock.frequency_hz
    dyn, static, step_ns = _energy(chip, cnt_cores, cnt_host, step_cycles)
    step_pj = dyn.sum(axis=1) + static
    total_pj = float(step_pj.sum())
    total_ns = float(step_ns.sum())
    # per-token latency: the cycles of the token's steps (entry .. entry + depth - 1)
    csum = np.concatenate([[0], np.cumsum(step_cycles)])
    lat_cyc = csum[sched.entry + sched.depth] - csum[sched.entry]
    lat_ns = lat_cyc.astype(np.float64) / hz * 1e9
    # per-token attribution of step quantities
    owner = _step_owner(sched)
    tok_pj = np.bincount(owner, weights=step_pj, minlength=N)
    tok_ops = np.bincount(owner, weights=cnt_cores[:, A["synaptic_op"]], minlength=N).astype(np.int64)
    tok_spk = np.bincount(owner, weights=cnt_cores[:, A["spike"]] + cnt_host[:, A["spike"]],
                          minlength=N).astype(np.int64)
    pk = cnt_cores[:, A["packet_send"]] + host_out
    tok_pk = np.bincount(owner, weights=pk, minlength=N).astype(np.int64)
    tok_cycles = np.bincount(owner, weights=step_cycles, minlength=N).astype(np.int64)

    tot = cnt_cores.sum(axis=0) + cnt_host.sum(axis=0)
    cats = _categories(dyn.sum(axis=0), float(static.sum()))
    packets = int(cnt_cores[:, A["packet_send"]].sum() + host_out.sum())
    host_in = int(cnt_host[:, A["io_packet"]].sum() - host_out.sum())
    flits = int(chip.flits_per_packet) * packets
    hops = int(tot[A["flit_hop_east_west"]] + tot[A["flit_hop_north_south"]]) // max(int(chip.flits_per_packet), 1)
    total_cycles = int(step_cycles.sum())
    max_util = float(busy_total.max(initial=0)) / total_cycles if total_cycles else 0.0
    synops = int(tot[A["synaptic_op"]])
    events = int(tot[A["spike"]])
    widths = np.asarray(lm.hidden, np.float64)
    bit_exact = first is None
    nll, nll_gold = nll
    ppl = perplexity(nll, n_pred) if n_pred else float("nan")
    ppl_gold = perplexity(nll_gold, n_pred) if n_pred else float("nan")
    golden_ops = int(g_ops.sum()) + (int(g_dec_ops) if lm.readout else 0)

    summary = {
        "tokens": N,
        "predictions": int(n_pred),
        "perplexity": ppl,
        "golden_perplexity": ppl_gold,
        "bit_exact": bool(bit_exact),
        "first_mismatch": None if first is None else {"token": first.token, "layer": first.layer,
                                                       "index": first.index, "chip": first.chip,
                                                       "golden": first.golden},
        "mismatched_tokens": int(n_bad),
        "logits_sha256": logits_sha,
        "latency_ns": {"mean": _r(float(lat_ns.mean())), "p50": _r(float(np.percentile(lat_ns, 50))),
                       "p99": _r(float(np.percentile(lat_ns, 99))), "max": _r(float(lat_ns.max()))},
        "throughput_tokens_per_s": _r(N / (total_ns * 1e-9)) if total_ns else None,
        "simulated_time_ns": _r(total_ns),
        "steps": int(sched.n_steps),
        "energy_nj_per_token": {"total": _r(total_pj * 1e-3 / N),
                                **{c: _r(v * 1e-3 / N) for c, v in cats.items()}},
        "energy_nj_total": _r(total_pj * 1e-3),
        "traffic": {"packets": packets, "flits": flits, "hops": hops,
                    "host_packets_out": int(host_out.sum()),
                    "host_packets_in": host_in,
                    "max_link_utilization": _r(max_util), "peak_step_link_utilization": _r(peak_step_util),
                    "packets_per_token": _r(packets / N)},
        "synaptic_ops_per_token": _r(synops / N),
        "decoder_synaptic_ops_per_token": _r(dec_ops / N),
        "layer_synaptic_ops_per_token": _r((synops - dec_ops) / N),
        "golden_synaptic_ops_per_token": _r(golden_ops / N),
        "events_per_token": _r(events / N),
        "activity": {p: _r(float(layer_events[i]) / (N * widths[i])) for i, p in enumerate(lm.layer_pops)},
        "chip": chip.name,
        "model": mapped.golden.mf.header.get("name", Path(str(mapped.golden.mf.path)).stem),
        "mode": sched.mode,
        "placement": mapped.placement.strategy,
        "decoder": lm.decoder,
        "cores_used": int((mapped.placement.neurons > 0).sum()),
        "sim_wall_s": round(sim_wall, 3),
        "synaptic_events_per_s": round(synops / sim_wall, 1) if sim_wall > 0 else None,
    }
    rows = []
    for t in range(N):
        rows.append({"token": t, "id": int(tokens[t]), "latency_cycles": int(lat_cyc[t]),
                     "latency_ns": _r(float(lat_ns[t])), "energy_nj": _r(float(tok_pj[t]) * 1e-3),
                     "events": int(tok_spk[t]), "packets": int(tok_pk[t]), "synaptic_ops": int(tok_ops[t]),
                     "step_cycles": int(tok_cycles[t])})
    trace = _perfetto(cm, chip, traces, step_cycles) if traces else None
    return ReplayResult(summary=summary, tokens_rows=rows, run_info={}, trace=trace, first_mismatch=first)


def _step_owner(sched: Schedule) -> np.ndarray:
    """Token each step's quantities are attributed to (``docs/replay.md``).

    serial: the token whose steps they are (exact).  pipelined: step ``s`` -> the token that
    *enters* at ``s`` (``s < N``); the drain steps ``N .. N+L`` go to the last token.  Sums over
    tokens equal the run's totals."""
    own = np.empty(sched.n_steps, np.int64)
    if sched.mode == "serial":
        own[:] = np.arange(sched.n_steps) // sched.depth
    else:
        own[:] = np.minimum(np.arange(sched.n_steps), sched.n_tokens - 1)
    return own


def _perfetto(cm, chip: ChipSpec, traces: list, step_cycles: np.ndarray):
    """Perfetto tracks for the traced steps: one per link (a slice per grant), per core's synapse unit (a slice
    per received packet; the host's port too) and per core's neuron unit (its update phase)."""
    from nmsim.report.perfetto import Trace

    tr = Trace(clock_hz=chip.clock.frequency_hz)
    R, C = cm.n_routers, cm.n_cores
    t0 = 0
    for s, (pt, core_end) in enumerate(traces):
        tr.slice("steps", "timestep", f"step {s}", t0, int(step_cycles[s]), step=s)
        for c in np.flatnonzero(core_end):
            tr.slice("neuron units", f"core {int(c)}", "update", t0, int(core_end[c]), step=s)
        occ_tab = None
        from nmsim.sim.engine import link_tables

        if occ_tab is None:
            lt = link_tables(cm)
            occ_tab = lt["link_occ"]
        for i in range(pt.n_packets):
            a, b = int(pt.link_ptr[i]), int(pt.link_ptr[i + 1])
            for j in range(a, b):
                L = int(pt.link[j])
                occ = int(occ_tab[L])
                if occ <= 0:
                    continue
                tr.slice("links", _link_name(cm, L), f"pk {int(pt.src_neuron[i])}->{int(pt.dst_core[i])}",
                         t0 + int(pt.grant[j]), occ, step=s, seq=int(pt.seq[i]))
            d = int(pt.dst_core[i])
            dur = int(pt.syn_end[i] - pt.syn_start[i])
            name = "host" if d == C else f"core {d}"
            if dur > 0 or d == C:
                tr.slice("cores", name, f"rx {int(pt.src_neuron[i])}", t0 + int(pt.syn_start[i]), max(dur, 1),
                         step=s, seq=int(pt.seq[i]))
        t0 += int(step_cycles[s])
    return tr


def _link_name(cm, L: int) -> str:
    R, C, W = cm.n_routers, cm.n_cores, cm.width
    if L < 4 * R:
        r, p = divmod(L, 4)
        return f"router ({r % W},{r // W}) {'EWNS'[p]}"
    if L < 4 * R + C + 1:
        c = L - 4 * R
        return "inject host" if c == C else f"inject core {c}"
    c = L - 4 * R - C - 1
    return "eject host" if c == C else f"eject core {c}"
