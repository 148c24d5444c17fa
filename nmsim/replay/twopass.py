"""The replay in two passes (``docs/replay.md``, "Two passes").

A step's timing starts from an empty chip after the barrier, so once every step's events are known the
steps' timings are independent.  The *functional pass* (:func:`nmsim.replay.driver._run` with a
:class:`FunctionalRecord`) runs in token order, checks bit-exactness and records per step what the timing
needs: the ``fired`` and ``active`` flags (``uint8[N]``, stored bit-packed) and which stages were enabled
(an index into the distinct enable masks).  The *timing pass* (:func:`time_steps`) times chunks of steps in
worker processes and the driver merges their results in step order, so the outputs do not depend on the
number of workers.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import threading
from dataclasses import dataclass

import numpy as np

from nmsim.describe.actions import N_ACTIONS

#: steps per chunk of the timing pass (a chunk is one task for a worker)
CHUNK_STEPS = 512


@dataclass
class FunctionalRecord:
    """Per step: bit-packed ``fired`` / ``active`` (``uint8[n_steps, ceil(N/8)]``) and ``enable_id``
    (``int64[n_steps]``) into ``enables`` (``uint8[n_masks, N]``)."""

    n_neurons: int
    fired: np.ndarray
    active: np.ndarray
    enable_id: np.ndarray
    enables: np.ndarray

    @classmethod
    def empty(cls, n_steps: int, n_neurons: int) -> "FunctionalRecord":
        nb = (n_neurons + 7) // 8
        return cls(n_neurons, np.zeros((n_steps, nb), np.uint8), np.zeros((n_steps, nb), np.uint8),
                   np.zeros(n_steps, np.int64), np.zeros((0, n_neurons), np.uint8))

    def put(self, s: int, fired: np.ndarray, active: np.ndarray, enable_id: int) -> None:
        self.fired[s] = np.packbits(fired)
        self.active[s] = np.packbits(active)
        self.enable_id[s] = enable_id

    def chunk(self, lo: int, hi: int) -> tuple:
        return (lo, self.n_neurons, self.fired[lo:hi], self.active[lo:hi], self.enable_id[lo:hi], self.enables)

    def save(self, path) -> int:
        """Write the record compressed (``numpy.savez_compressed``); returns its size in bytes."""
        np.savez_compressed(path, n_neurons=np.int64(self.n_neurons), fired=self.fired, active=self.active,
                            enable_id=self.enable_id, enables=self.enables)
        return os.path.getsize(path)

    @classmethod
    def load(cls, path) -> "FunctionalRecord":
        with np.load(path) as z:
            return cls(int(z["n_neurons"]), z["fired"], z["active"], z["enable_id"], z["enables"])


_LOCAL = threading.local()  # the worker's timing engine (one per thread: Dask workers may be threads)


def _init(model) -> None:
    from nmsim.sim.engine import Engine
    from nmsim.sweep.executors import limit_threads

    import multiprocessing

    if multiprocessing.parent_process() is not None:  # a worker process: one thread per process
        limit_threads()  # (never in the caller's own process: it would change its Numba thread count)
    _LOCAL.engine = Engine(model)


def time_chunk(chunk: tuple, model=None) -> tuple:
    """Time the steps of one chunk: ``(lo, cycles int64[k], counters int64[k, C+1, N_ACTIONS],
    link_busy int64[k, n_links], core_end int64[k, C+1], syn_free int64[k, C+1])``."""
    eng = getattr(_LOCAL, "engine", None)
    if eng is None or (model is not None and eng.model is not model):
        _init(model)
    eng = _LOCAL.engine
    lo, N, fired_b, active_b, enable_id, enables = chunk
    m = eng.model
    k, C, NL = len(enable_id), m.n_cores, m.n_links
    cycles = np.zeros(k, np.int64)
    counters = np.zeros((k, C + 1, N_ACTIONS), np.int64)
    busy = np.zeros((k, NL), np.int64)
    core_end = np.zeros((k, C + 1), np.int64)
    syn_free = np.zeros((k, C + 1), np.int64)
    for j in range(k):
        fired = np.unpackbits(fired_b[j], count=N)
        active = np.unpackbits(active_b[j], count=N)
        cycles[j] = eng.timing_into(fired, active, enables[enable_id[j]], counters[j], busy[j])
        core_end[j] = eng._core_end[:C + 1]
        syn_free[j] = eng._syn_free[:C + 1]
    return lo, cycles, counters, busy, core_end, syn_free


def time_steps(model, frec: FunctionalRecord, workers: int, scheduler: str | None = None):
    """Yield the timed chunks of ``frec`` in step order (see :func:`time_chunk`).

    ``workers``: local worker processes (1: in this process); ``scheduler``: a Dask scheduler address
    (``tcp://...``) or a ``distributed.Client``, used instead of local processes."""
    S = len(frec.enable_id)
    bounds = [(lo, min(lo + CHUNK_STEPS, S)) for lo in range(0, S, CHUNK_STEPS)]
    if scheduler is not None:
        yield from _dask_steps(model, frec, bounds, scheduler)
        return
    if workers <= 1:
        for lo, hi in bounds:
            yield time_chunk(frec.chunk(lo, hi), model)
        return
    import multiprocessing

    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init, initargs=(model,)) as ex:
        window = 2 * workers
        futs = {}
        nxt = 0
        for i in range(len(bounds)):
            while nxt < len(bounds) and nxt < i + window:
                futs[nxt] = ex.submit(time_chunk, frec.chunk(*bounds[nxt]))
                nxt += 1
            yield futs.pop(i).result()


def _dask_steps(model, frec, bounds, scheduler):
    from distributed import Client

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        mf = client.scatter(model, broadcast=True)
        futs = [client.submit(time_chunk, frec.chunk(lo, hi), mf, pure=False) for lo, hi in bounds]
        for f in futs:
            yield f.result()
    finally:
        if client is not scheduler:
            client.close()
