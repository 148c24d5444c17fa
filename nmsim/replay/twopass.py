"""The replay in two passes (``docs/replay.md``, "Two passes").

A step's timing starts from an empty chip after the barrier, so once every step's events are known the
steps' timings are independent.  The *functional pass* (:func:`nmsim.replay.driver.functional_pass`)
runs in token order, checks bit-exactness and records per step what the timing needs: the ``fired`` and
``active`` flags (``uint8[N]``, stored bit-packed) and which stages were enabled (an index into the distinct
enable masks), streamed to a compressed file (:class:`RecordWriter`; :class:`FunctionalRecord` is the same
in memory).  The *timing pass* (:func:`time_steps`) reads the file a chunk at a time (:class:`RecordFile`),
times the chunks in worker processes (local or Dask) and the driver merges their results in step order, so
the outputs do not depend on the number of workers.
"""

from __future__ import annotations

import concurrent.futures as cf
import io
import os
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nmsim.describe.actions import N_ACTIONS

#: steps per chunk of the timing pass (a chunk is one task for a worker)
CHUNK_STEPS = 64


@dataclass
class FunctionalRecord:
    """Per step: bit-packed ``fired`` / ``active`` (``uint8[n_steps, ceil(N/8)]``) and ``enable_id``
    (``int64[n_steps]``) into ``enables`` (``uint8[n_masks, N]``), held in memory."""

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

    @property
    def n_steps(self) -> int:
        return len(self.enable_id)

    def put(self, s: int, fired: np.ndarray, active: np.ndarray, enable_id: int) -> None:
        self.fired[s] = np.packbits(fired)
        self.active[s] = np.packbits(active)
        self.enable_id[s] = enable_id

    def bounds(self) -> list[tuple[int, int]]:
        """The chunks ``[lo, hi)`` of the timing pass (:data:`CHUNK_STEPS` steps each)."""
        S = self.n_steps
        return [(lo, min(lo + CHUNK_STEPS, S)) for lo in range(0, S, CHUNK_STEPS)]

    def chunk(self, lo: int, hi: int) -> tuple:
        return (lo, self.n_neurons, self.fired[lo:hi], self.active[lo:hi], self.enable_id[lo:hi], self.enables)

    def save(self, path) -> int:
        """Write the record compressed (:class:`RecordWriter`); returns its size in bytes."""
        w = RecordWriter(path, self.n_neurons)
        for s in range(self.n_steps):
            w.put_packed(s, self.fired[s], self.active[s], int(self.enable_id[s]))
        return w.close(self.enables)

    @classmethod
    def load(cls, path) -> "FunctionalRecord":
        """The whole record of a file written by :class:`RecordWriter`, in memory."""
        with RecordFile(path) as f:
            parts = [f.chunk(lo, hi) for lo, hi in f.bounds()]
            nb = (f.n_neurons + 7) // 8
            cat = (lambda i, shape: np.concatenate([p[i] for p in parts]) if parts else np.zeros(shape, np.uint8))
            return cls(f.n_neurons, cat(2, (0, nb)), cat(3, (0, nb)),
                       np.concatenate([p[4] for p in parts]) if parts else np.zeros(0, np.int64), f.enables)


# ---------------------------------------------------------------- the record on disk
#
# One zip file (``.npz``: ``numpy.load`` reads it), deflate-compressed, written as the functional pass goes
# (memory holds one chunk): per chunk ``i`` the members ``c<i>_fired``, ``c<i>_active``, ``c<i>_enable_id``;
# at the end ``enables`` and ``meta`` (``int64[3]``: n_neurons, n_steps, chunk_steps).  Every member carries
# the same fixed date, so the same record gives the same bytes.

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _write_member(zf: zipfile.ZipFile, name: str, arr: np.ndarray) -> None:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
    info = zipfile.ZipInfo(name + ".npy", date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, buf.getvalue(), compresslevel=6)


class RecordWriter:
    """Stream a functional record to ``path`` (compressed, one chunk of :data:`CHUNK_STEPS` steps in memory).

    Steps must be put in order ``0, 1, 2, ...``; :meth:`close` writes the enable masks and returns the
    file's size in bytes; :meth:`abort` removes the half-written file.  ``on_chunk`` (optional) is handed
    every chunk once it is on disk (the driver starts its timing then)."""

    def __init__(self, path, n_neurons: int, chunk_steps: int | None = None, on_chunk=None):
        self.on_chunk = on_chunk  #: ``on_chunk(lo, fired_b, active_b, enable_id)`` after each chunk is written
        self.path = Path(path)
        self.n_neurons = int(n_neurons)
        self.chunk_steps = int(chunk_steps or CHUNK_STEPS)
        self._zf: zipfile.ZipFile | None = zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED)
        self._buf = FunctionalRecord.empty(self.chunk_steps, self.n_neurons)
        self._lo = 0   # first step of the buffered chunk
        self._k = 0    # steps buffered
        self.n_steps = 0
        self.size: int | None = None  #: bytes of the finished file

    def put(self, s: int, fired: np.ndarray, active: np.ndarray, enable_id: int) -> None:
        """Step ``s``: ``fired``/``active`` as ``uint8[N]`` flags, ``enable_id`` an index into the masks."""
        assert s == self._lo + self._k, "steps are recorded in order"
        self._buf.put(self._k, fired, active, enable_id)
        self._advance()

    def put_packed(self, s: int, fired_b: np.ndarray, active_b: np.ndarray, enable_id: int) -> None:
        assert s == self._lo + self._k, "steps are recorded in order"
        self._buf.fired[self._k] = fired_b
        self._buf.active[self._k] = active_b
        self._buf.enable_id[self._k] = enable_id
        self._advance()

    def _advance(self) -> None:
        self._k += 1
        self.n_steps += 1
        if self._k == self.chunk_steps:
            self._flush()

    def _flush(self) -> None:
        if self._k == 0:
            return
        i, k = self._lo // self.chunk_steps, self._k
        _write_member(self._zf, f"c{i}_fired", self._buf.fired[:k])
        _write_member(self._zf, f"c{i}_active", self._buf.active[:k])
        _write_member(self._zf, f"c{i}_enable_id", self._buf.enable_id[:k])
        if self.on_chunk is not None:  # copies: the buffer is reused for the next chunk
            self.on_chunk(self._lo, self._buf.fired[:k].copy(), self._buf.active[:k].copy(),
                          self._buf.enable_id[:k].copy())
        self._lo += k
        self._k = 0

    def close(self, enables: np.ndarray) -> int:
        """Finish the file with the enable masks ``uint8[n_masks, N]``; returns its size in bytes."""
        self._flush()
        _write_member(self._zf, "enables", np.asarray(enables, np.uint8).reshape(-1, self.n_neurons))
        _write_member(self._zf, "meta", np.array([self.n_neurons, self.n_steps, self.chunk_steps], np.int64))
        self._zf.close()
        self._zf = None
        self.size = os.path.getsize(self.path)
        return self.size

    def abort(self) -> None:
        if self._zf is not None:
            try:
                self._zf.close()
            except Exception:  # noqa: BLE001 - a broken file is removed anyway
                pass
            self._zf = None
        self.path.unlink(missing_ok=True)


class RecordFile:
    """A record written by :class:`RecordWriter`, read one chunk at a time (a context manager)."""

    def __init__(self, path):
        self.path = Path(path)
        self._z = np.load(self.path, allow_pickle=False)
        self.n_neurons, self.n_steps, self.chunk_steps = (int(x) for x in self._z["meta"])
        self.enables = self._z["enables"]

    def __enter__(self) -> "RecordFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._z.close()

    def bounds(self) -> list[tuple[int, int]]:
        S, c = self.n_steps, self.chunk_steps
        return [(lo, min(lo + c, S)) for lo in range(0, S, c)]

    def chunk(self, lo: int, hi: int) -> tuple:
        """The chunk that starts at step ``lo`` (a bound of :meth:`bounds`), as :func:`time_chunk` takes it."""
        i = lo // self.chunk_steps
        assert lo == i * self.chunk_steps and hi == min(lo + self.chunk_steps, self.n_steps)
        return (lo, self.n_neurons, self._z[f"c{i}_fired"], self._z[f"c{i}_active"], self._z[f"c{i}_enable_id"],
                self.enables)


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
    link_busy int64[k, n_links], core_end int64[k, C+1], syn_free int64[k, C+1], host_hops int64[k])``
    (``host_hops``: the hops of the step's packets to the host, :meth:`nmsim.sim.Engine.host_packet_hops`; a
    timing quantity, as it depends on the chip's values per packet to the host)."""
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
    host_hops = np.zeros(k, np.int64)
    for j in range(k):
        fired = np.unpackbits(fired_b[j], count=N)
        active = np.unpackbits(active_b[j], count=N)
        cycles[j] = eng.timing_into(fired, active, enables[enable_id[j]], counters[j], busy[j])
        core_end[j] = eng._core_end[:C + 1]
        syn_free[j] = eng._syn_free[:C + 1]
        host_hops[j] = eng.host_packet_hops(fired)[1]
    return lo, cycles, counters, busy, core_end, syn_free, host_hops


def time_steps(model, frec, workers: int, scheduler=None):
    """Yield the timed chunks of ``frec`` (a :class:`FunctionalRecord` or :class:`RecordFile`) in step order
    (see :func:`time_chunk`).  At most ``2 x workers`` chunks are in flight, so memory stays bounded.

    ``workers``: local worker processes, at most one per chunk (1: in this process); ``scheduler``: a connected
    ``distributed.Client`` (e.g. :meth:`nmsim.sweep.executors.DaskExecutor.connect`) or a Dask scheduler
    address (``tcp://...``), used instead of local processes."""
    bounds = frec.bounds()
    with ChunkTimer(model, min(workers, len(bounds)), scheduler) as timer:
        for lo, hi in bounds:
            yield from timer.put(frec.chunk(lo, hi))
        yield from timer.drain()


class ChunkTimer:
    """Time chunks (:func:`time_chunk`'s tuples) as they are handed in, on ``workers`` local processes
    (1 or fewer: at once, in this process) or on a Dask ``scheduler``; the results come back in the order
    the chunks were put, at most ``2 x workers`` (Dask: ``2 x`` its threads) in flight.

    :meth:`put` submits a chunk and returns the results that had to be collected to keep the window (in
    order); :meth:`drain` the rest.  The functional pass puts each chunk as soon as it is recorded, so the
    timing pass runs beside it (``docs/replay.md``, "Two passes").  A context manager: leaving it shuts the
    workers down (pending chunks are cancelled on an error)."""

    def __init__(self, model, workers: int = 1, scheduler=None):
        self.model = model
        self._futs: list = []
        self._ex = self._client = self._own_client = None
        self._submit = None
        if scheduler is not None:
            from distributed import Client

            self._client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
            self._own_client = self._client is not scheduler
            info = (self._client.scheduler_info(n_workers=-1) if _takes_n_workers(self._client)
                    else self._client.scheduler_info())
            threads = sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values())
            mf = self._client.scatter(model, broadcast=True)
            self.window = 2 * max(1, threads)
            self._submit = lambda chunk: self._client.submit(time_chunk, chunk, mf, pure=False)
        elif workers > 1:
            import multiprocessing

            ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
            self._ex = cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init, initargs=(model,))
            self.window = 2 * workers
            self._submit = lambda chunk: self._ex.submit(time_chunk, chunk)
        else:
            self.window = 0

    def put(self, chunk: tuple) -> list:
        if self._submit is None:
            return [time_chunk(chunk, self.model)]
        self._futs.append(self._submit(chunk))
        out = []
        while len(self._futs) > self.window or (self._futs and self._futs[0].done()):
            out.append(self._futs.pop(0).result())
        return out

    def drain(self) -> list:
        out = []
        while self._futs:
            out.append(self._futs.pop(0).result())
        return out

    def close(self, error: bool = False) -> None:
        futs, self._futs = self._futs, []
        if error:
            for f in futs:
                f.cancel()
        if self._ex is not None:
            self._ex.shutdown(wait=True, cancel_futures=error)
            self._ex = None
        if self._own_client:
            self._client.close()
            self._own_client = False

    def __enter__(self) -> "ChunkTimer":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.close(error=exc_type is not None)


def _takes_n_workers(client) -> bool:
    import inspect

    return "n_workers" in inspect.signature(client.scheduler_info).parameters
