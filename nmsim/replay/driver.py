"""The replay loop: the language model driven through the Numba engine step by step (``docs/replay.md``).

:func:`replay` loads a model file, maps it onto a chip (:mod:`nmsim.replay.mapped`), drives the engine
step by step under a schedule (:mod:`nmsim.replay.schedule`), hands every token's outputs to the
bit-exactness checker (:mod:`nmsim.replay.check`) and records per-step counts
(:class:`nmsim.replay.metrics.RunRecord`), from which :mod:`nmsim.replay.metrics` builds the results.
Memory stays bounded in the number of tokens (per-step records are ``n_steps x N_ACTIONS``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from nmsim.errors import DatasetError, NmsimError
from nmsim.replay.check import TokenChecker
from nmsim.replay.inputs import ReplayConfig, load_replay_chip, load_tokens, resolve_model_path
from nmsim.replay.mapped import Mapped, build_replay
from nmsim.replay.metrics import ReplayResult, RunRecord, assemble
from nmsim.replay.network import DECODERS
from nmsim.replay.percore import CoreStats
from nmsim.replay.schedule import MODES, make_schedule

#: the step loop reports progress every this many steps (and at the end)
PROGRESS_STEPS = 16


def replay(cfg: ReplayConfig, progress: Callable[[int, int], None] | None = None,
           perturb: Callable[[Any], None] | None = None, mapped: Mapped | None = None,
           tokens: np.ndarray | None = None, workers: int | None = None, scheduler=None,
           record_path=None, keep_record: bool | None = None) -> ReplayResult:
    """Run one replay.  ``progress(done, total)`` is called as steps finish (optional; in steps: one pass
    counts the steps once, two passes count the functional pass's steps, then the timing pass's).

    ``workers``/``scheduler``: run in two passes (:mod:`nmsim.replay.twopass`), the timing pass on
    ``workers`` local processes or on the Dask scheduler ``scheduler`` (an address or a connected
    ``distributed.Client``); ``None`` for both: one pass.  The outputs are the same either way.
    Two passes write the compressed functional record to ``record_path`` (default: a temporary file);
    it is removed at the end unless ``keep_record`` (default: kept iff ``record_path`` is given).
    ``result.functional_record`` gives its size in bytes (``None`` for one pass).

    ``perturb(compiled_model)`` may alter the compiled arrays before the run (tests: a flipped
    weight must be reported as a mismatch).  ``mapped``/``tokens`` skip loading (sweeps, tests).
    """
    t_wall0 = time.perf_counter()
    if cfg.mode not in MODES:
        raise NmsimError(f"mode {cfg.mode!r}; choices: {', '.join(MODES)}")
    if cfg.decoder not in DECODERS:
        raise NmsimError(f"decoder {cfg.decoder!r}; choices: {', '.join(DECODERS)}")
    mapped, tokens = _inputs(cfg, mapped, tokens)
    if perturb is not None:
        perturb(mapped.model)
    two = (workers is not None or scheduler is not None) and not cfg.trace
    if keep_record is None:
        keep_record = record_path is not None
    record, checker, traces, frec_info = _run(cfg, mapped, tokens, progress, two, workers or 1, scheduler,
                                              record_path, keep_record)
    res = assemble(mapped, tokens, record, checker, traces, time.perf_counter() - t_wall0)
    res.functional_record = frec_info
    return res


def _inputs(cfg: ReplayConfig, mapped: Mapped | None, tokens) -> tuple[Mapped, np.ndarray]:
    from nmsim.lm.golden import GoldenModel
    from nmsim.lm.modelfile import load_model

    if mapped is None:
        mf = load_model(resolve_model_path(cfg.model))
        golden = GoldenModel(mf)
        if tokens is None:
            tokens, _ = load_tokens(mf, cfg.dataset, cfg.split, cfg.tokens)
        chip = load_replay_chip(cfg.chip, cfg.chip_overrides)
        mapped = build_replay(golden, chip, cfg.placement, cfg.decoder, cfg.seed, cfg.map_settings, cfg.dataset,
                              cfg.split)
    elif tokens is None:
        tokens, _ = load_tokens(mapped.golden.mf, cfg.dataset, cfg.split, cfg.tokens)
    tokens = np.asarray(tokens, np.int64)
    if len(tokens) < 1:
        raise DatasetError("no tokens to replay")
    return mapped, tokens


def _run(cfg: ReplayConfig, mapped: Mapped, tokens: np.ndarray, progress, two_pass: bool = False, workers: int = 1,
         scheduler=None, record_path=None, keep_record: bool = False):
    """Step the engine through the schedule; returns the per-step record, the checker, the traces and
    (two passes) the functional record's ``{"bytes", "steps", "chunk_steps"}`` (else ``None``)."""
    if not two_pass:
        return (*_steps(cfg, mapped, tokens, progress, None), None)
    import tempfile

    if record_path is None:
        fd, record_path = tempfile.mkstemp(prefix="nmsim-record-", suffix=".npz")
        os.close(fd)
    path = Path(record_path)
    try:  # the timing pass runs beside the functional pass, a chunk at a time as it is recorded
        rec, chk, traces, info = _recorded_steps(cfg, mapped, tokens, progress, path, (workers, scheduler))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if not keep_record:
        path.unlink(missing_ok=True)
    return rec, chk, traces, info


def _recorded_steps(cfg: ReplayConfig, mapped: Mapped, tokens: np.ndarray, progress, path, timing=None):
    """The functional pass, its record written to ``path`` (aborted on failure): ``(record, checker, traces,
    {"bytes", "steps", "chunk_steps"})``.  ``timing = (workers, scheduler)``: the timing pass too, each chunk
    timed (:class:`nmsim.replay.twopass.ChunkTimer`) as soon as it is recorded and merged in step order."""
    from nmsim.replay.twopass import RecordWriter

    writer = RecordWriter(path, mapped.model.n_neurons)
    try:
        rec, chk, traces = _steps(cfg, mapped, tokens, progress, writer, timing)
    except BaseException:
        writer.abort()
        raise
    return rec, chk, traces, {"bytes": writer.size, "steps": writer.n_steps, "chunk_steps": writer.chunk_steps}


def _steps(cfg: ReplayConfig, mapped: Mapped, tokens: np.ndarray, progress, writer, timing=None):
    """The step loop: one pass (``writer`` ``None``) or the functional pass, recording to ``writer`` (and
    with ``timing = (workers, scheduler)`` timing the recorded chunks beside it)."""
    if writer is None or timing is None:
        return _step_loop(cfg, mapped, tokens, progress, writer)
    from nmsim.replay.twopass import ChunkTimer

    cm = mapped.model
    S = make_schedule(cfg.mode, len(tokens), mapped.lm.n_layers, readout=mapped.lm.readout is not None).n_steps
    workers, scheduler = timing
    n_chunks = -(-S // writer.chunk_steps)
    done = [0, 0]  # steps of the functional pass, steps timed and merged
    state = {}  # the run's record (once the loop has made it) and the enable masks so far

    def report(f_done=None, _total=None):  # the step loop's progress(done, total): the functional steps
        if f_done is not None:
            done[0] = f_done
        if progress is not None:
            progress(done[0] + done[1], 2 * S)

    def merge(results):
        for res in results:
            _merge_chunk(state["rec"], res)
            done[1] += len(res[1])
            report()

    def on_chunk(lo, fired_b, active_b, enable_id):
        merge(timer.put((lo, cm.n_neurons, fired_b, active_b, enable_id, state["enables"]())))

    with ChunkTimer(cm, min(workers, n_chunks), scheduler) as timer:
        writer.on_chunk = on_chunk
        out = _step_loop(cfg, mapped, tokens, report if progress is not None else None, writer, state)
        merge(timer.drain())
    return out


def _step_loop(cfg: ReplayConfig, mapped: Mapped, tokens: np.ndarray, progress, writer, state=None):
    """The step loop itself (:func:`_steps`); ``state`` (two passes beside each other) is given the record
    (``"rec"``) and a function of the enable masks so far (``"enables"``) for the chunk callback."""
    from nmsim.replay.golden_fast import FastGolden
    from nmsim.sim.engine import Engine

    golden, cm, lm = mapped.golden, mapped.model, mapped.lm
    N, Lc = len(tokens), lm.n_layers
    on_chip_decoder = lm.readout is not None
    sched = make_schedule(cfg.mode, N, Lc, readout=on_chip_decoder)
    eng = Engine(cm, trace=cfg.trace)  # tracing stops after cfg.trace_steps steps
    C, Nn = cm.n_cores, cm.n_neurons
    host0 = eng.host_start
    emb_host_cols = mapped.stage_index[0] - host0
    rec = _new_record(mapped, sched)
    fired = np.zeros(Nn, np.uint8)
    enable_cache: dict[tuple, np.ndarray] = {}
    enable_ids: dict[tuple, int] = {}
    if state is not None:
        state["rec"] = rec
        state["enables"] = lambda: np.array([enable_cache[k] for k in enable_ids], np.uint8).reshape(-1, Nn)
    payload = np.zeros(Nn, np.int64)
    counters = np.zeros((C + 1, rec.cnt_cores.shape[1]), np.int64)
    link_busy = np.zeros(cm.n_links, np.int64)
    two_pass = writer is not None
    if two_pass:
        active = np.zeros(Nn, np.uint8)
    S = sched.n_steps
    total = 2 * S if two_pass else S  # two passes: the functional steps, then the timing steps
    fg = FastGolden(golden)
    g_state = fg.init_state()
    chk = TokenChecker(golden, tokens, Lc, lm.emb_dim, lm.vocab_size, on_chip_decoder)

    traces = []
    hp = np.zeros(eng.n_host, np.int64)
    host_routes = np.diff(cm.route_ptr)[host0:]
    for s in range(sched.n_steps):
        hp[:] = 0
        tau_in = int(sched.token_at[s])
        if tau_in >= 0:
            hp[emb_host_cols] = golden.emb[tokens[tau_in]]  # the embedding row, sent by the host
            sent = host_routes[hp != 0]  # unicast: one packet per route; multicast: one per event with routes
            rec.host_out[s] = int((sent > 0).sum() if cm.multicast else sent.sum())
            ys, g_state, ops = fg.step(int(tokens[tau_in]), g_state)
            rec.g_ops += ops
            chk.expect(tau_in, ys)
            rec.g_dec_ops += int(golden.emb_colnnz[ys[-1] != 0].sum())
        key = tuple(sched.stage_on[s].tolist())
        en = enable_cache.get(key)
        if en is None:
            en = enable_cache[key] = _enable_mask(mapped, key, Nn)
            enable_ids[key] = len(enable_ids)
        if two_pass:
            eng.functional_into(fired, payload, active, hp, en)
            writer.put(s, fired, active, enable_ids[key])
        else:
            counters[:] = 0
            if eng.trace and s >= cfg.trace_steps:
                eng.trace = False  # only the first trace_steps steps are traced
            cyc, tr = eng.step_into(fired, payload, counters, link_busy, hp, en)
            if tr is not None:
                traces.append((tr, eng._core_end[:C].copy()))
            rec.add_step(s, cyc, counters, link_busy)
            rec.host_in_hops[s] = eng.host_packet_hops(fired)[1]
            rec.cores.add(counters, eng._core_end, eng._syn_free)
        # compare every layer's payloads for the token it handled at this step
        for li in range(Lc):
            tau = sched.handles(li + 1, s)
            if tau < 0:
                continue
            chip_y = payload[mapped.layer_index[li]]
            rec.layer_events[li] += int(np.count_nonzero(chip_y))
            if li == Lc - 1 and on_chip_decoder:  # synapses the last layer's sends reach in the decoder
                rec.dec_ops += int(golden.emb_colnnz[fired[mapped.layer_index[li]] != 0].sum())
            chk.layer(tau, li, chip_y)
            if not on_chip_decoder and li == Lc - 1:
                chk.finish(tau, chip_y)
        if on_chip_decoder:
            tau = sched.handles(Lc + 1, s)
            if tau >= 0:
                chk.finish(tau, payload[mapped.readout_index])
        if progress is not None and ((s + 1) % PROGRESS_STEPS == 0 or s + 1 == S):
            progress(s + 1, total)
    chk.close()
    if two_pass:
        writer.close(np.array([enable_cache[k] for k in enable_ids], np.uint8).reshape(-1, Nn))
    return rec, chk, traces


def _new_record(mapped: Mapped, sched) -> RunRecord:
    """An empty per-step record for ``mapped`` under ``sched`` (its chip's timing: per-core work cycles)."""
    cm = mapped.model
    C = cm.n_cores
    rec = RunRecord.empty(sched, C, cm.n_links, mapped.lm.n_layers, in_use=np.diff(cm.core_neuron_ptr)[:C] > 0,
                          timing_cycles=mapped.chip.timing_cycles())
    rec.cores = CoreStats(C, cm.timing)  # per-core sums/maxima, fed each step
    return rec


@dataclass
class FunctionalState:
    """What the functional pass leaves besides the record file: the functional fields of the
    :class:`RunRecord` and the checker's results (``assemble`` reads these attributes of its checker).
    Picklable and small (``int64[n_steps]`` + ``int64[n_layers]`` + scalars), so it can be stored with a
    record and reused (``nmsim sweep``: points that differ only in chip timing)."""

    host_out: np.ndarray      #: int64[n_steps] packets the host sent
    layer_events: np.ndarray  #: int64[n_layers]
    g_ops: np.ndarray         #: int64[n_layers]
    g_dec_ops: int
    dec_ops: int
    first: Any                #: the first mismatch or None
    bad_tokens: set
    nll: float                #: nats, summed over the predictions
    nll_golden: float
    n_pred: int
    logits_sha256: str
    record: dict | None = None  #: the record file's {"bytes", "steps", "chunk_steps"}

    @classmethod
    def of(cls, rec: RunRecord, chk, record: dict | None = None) -> "FunctionalState":
        return cls(rec.host_out.copy(), rec.layer_events.copy(), rec.g_ops.copy(), int(rec.g_dec_ops),
                   int(rec.dec_ops), chk.first, set(chk.bad_tokens), chk.nll, chk.nll_golden, chk.n_pred,
                   chk.logits_sha256, record)

    def apply(self, rec: RunRecord) -> None:
        rec.host_out[:] = self.host_out
        rec.layer_events[:] = self.layer_events
        rec.g_ops[:] = self.g_ops
        rec.g_dec_ops, rec.dec_ops = self.g_dec_ops, self.dec_ops


def functional_pass(cfg: ReplayConfig, mapped: Mapped, tokens, record_path, progress=None) -> FunctionalState:
    """Only the functional pass (token order, bit-exactness checked): writes the compressed record to
    ``record_path`` and returns the rest of what the timing pass needs (:func:`timing_pass`)."""
    rec, chk, _, info = _recorded_steps(cfg, mapped, np.asarray(tokens, np.int64), progress, record_path)
    return FunctionalState.of(rec, chk, info)


def timing_pass(cfg: ReplayConfig, mapped: Mapped, tokens, record_path, state: FunctionalState, workers: int = 1,
                scheduler=None, progress=None) -> ReplayResult:
    """Only the timing pass, on a record (:func:`functional_pass`) of the same model, tokens, schedule and
    placement, for ``mapped``'s chip timing; the result is the one :func:`replay` gives."""
    t0 = time.perf_counter()
    tokens = np.asarray(tokens, np.int64)
    lm = mapped.lm
    rec = _new_record(mapped, make_schedule(cfg.mode, len(tokens), lm.n_layers, readout=lm.readout is not None))
    state.apply(rec)
    _timing_pass(mapped.model, Path(record_path), rec, workers, scheduler, progress)
    res = assemble(mapped, tokens, rec, state, [], time.perf_counter() - t0)
    res.functional_record = state.record
    return res


def reprice(mapped: Mapped, tokens, rec: RunRecord, state: FunctionalState) -> ReplayResult:
    """Price a timed record again (no simulation) under ``mapped``'s chip (its energy and power values);
    the record must come from the same compiled model, tokens, schedule and chip timing."""
    return assemble(mapped, np.asarray(tokens, np.int64), rec, state, [], 0.0)


def _timing_pass(cm, path: Path, rec: RunRecord, workers: int, scheduler, progress) -> None:
    """Time the recorded steps of the record file ``path`` (in parallel) and merge them into ``rec`` in
    step order; ``progress(S + steps timed, 2 S)`` after each chunk."""
    from nmsim.replay.twopass import RecordFile, time_steps

    with RecordFile(path) as frec:
        S = frec.n_steps
        for res in time_steps(cm, frec, workers, scheduler):
            _merge_chunk(rec, res)
            if progress is not None:
                progress(S + res[0] + len(res[1]), 2 * S)


def _merge_chunk(rec: RunRecord, res: tuple) -> None:
    """A timed chunk (:func:`nmsim.replay.twopass.time_chunk`) into ``rec``; chunks are merged in step order."""
    lo, cycles, counters, busy, core_end, syn_free, host_hops = res
    rec.host_in_hops[lo:lo + len(cycles)] = host_hops
    for j in range(len(cycles)):
        rec.add_step(lo + j, int(cycles[j]), counters[j], busy[j])
        rec.cores.add(counters[j], core_end[j], syn_free[j])


def _enable_mask(mapped: Mapped, stage_on: tuple, n_neurons: int) -> np.ndarray:
    """uint8[n_neurons]: 1 for the neurons of the stages on at a step (the host's stage 0 is always on)."""
    en = np.ones(n_neurons, np.uint8)
    for st, idx in enumerate(mapped.stage_index):
        if st > 0 and not stage_on[st]:
            en[idx] = 0
    return en
