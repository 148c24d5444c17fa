"""Where points run: local worker processes (default), in-process, or Dask.

Every executor runs the same picklable function,
:func:`nmsim.sweep.points.execute_point` (which calls
:func:`~nmsim.sweep.points.run_point`), on a resolved configuration, and
hands back futures; the driver (:mod:`nmsim.sweep.runner`) writes results
as they complete.  Workers run one point at a time with one thread each
(``NUMBA_NUM_THREADS=1``, ``OMP_NUM_THREADS=1``, ...) and load the kind's
Numba kernels from the on-disk cache that the driver warmed beforehand.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import sys
import threading
import time
from typing import Any, Iterable

from nmsim.errors import SweepError
from nmsim.sweep.points import execute_point, warm_kind

#: Environment variables that cap a worker's thread pools at one thread.
THREAD_ENV = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}

#: Default seconds to wait for a Dask scheduler before giving up.
DEFAULT_CONNECT_TIMEOUT = 5.0


def limit_threads() -> None:
    """Cap this process's thread pools at one thread (the environment variables of :data:`THREAD_ENV`),
    effective for libraries imported afterwards.

    Numba reads ``NUMBA_NUM_THREADS`` again at every compilation and raises once its thread pool runs and the
    value differs.  A forked worker (the timing pass's local workers) inherits Numba and a pool the parent may
    have started, and may still compile (a kernel the parent never called, with an empty cache).  So Numba's pool
    is never started here, and its variable is left as it is when that pool already runs; nmsim's kernels are
    serial and never use it."""
    env = dict(THREAD_ENV)
    if "numba" in sys.modules:
        from numba.np.ufunc import parallel

        if getattr(parallel, "_is_initialized", True):  # unknown (another Numba): leave the variable alone
            env.pop("NUMBA_NUM_THREADS")
    os.environ.update(env)


def _watch_parent(parent_pid: int) -> None:
    """Exit this worker when the driver dies (e.g. SIGKILL), instead of
    waiting forever for work that will never come."""
    while True:
        if os.getppid() != parent_pid:
            os._exit(0)
        time.sleep(0.5)


def _init_local_worker(kind: str, parent_pid: int) -> None:
    limit_threads()
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True, name="nmsim-parent-watch").start()
    warm_kind(kind)


class Executor:
    """Interface of an executor (a context manager)."""

    #: points run at the same time (to size the window of submitted points)
    capacity: int = 1
    description: str = ""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close(cancel=exc[0] is not None)

    def start(self, kind: str) -> None:
        raise NotImplementedError

    def submit(self, config: dict, context: dict | None = None) -> Any:
        """Run ``execute_point(config, context)``; ``context``: the sharing context (or ``None``)."""
        raise NotImplementedError

    def wait_any(self, futures: Iterable[Any]) -> set:
        """Block until at least one of ``futures`` is done; return the done ones."""
        raise NotImplementedError

    def result(self, future: Any) -> dict:
        return future.result()

    def close(self, cancel: bool = False) -> None:
        pass


class InlineExecutor(Executor):
    """Runs points one by one in the driver process (``--workers 0``; for
    debugging and for tests that must not start processes)."""

    description = "in-process (no workers)"

    def start(self, kind: str) -> None:
        warm_kind(kind)

    def submit(self, config: dict, context: dict | None = None) -> cf.Future:
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(execute_point(config, context))
        except BaseException as exc:  # noqa: BLE001 - re-raised by result()
            fut.set_exception(exc)
        return fut

    def wait_any(self, futures: Iterable[cf.Future]) -> set:
        return {f for f in futures if f.done()}


class LocalExecutor(Executor):
    """``concurrent.futures.ProcessPoolExecutor`` with the ``spawn`` start
    method (no inherited threads or locks; same on Linux, macOS, Windows)."""

    def __init__(self, workers: int):
        if workers < 1:
            raise SweepError(f"--workers must be >= 1 (or 0 to run in-process), got {workers}")
        self.capacity = workers
        self.description = f"{workers} local worker process{'es' if workers != 1 else ''}"
        self._pool: cf.ProcessPoolExecutor | None = None
        self._saved_env: dict[str, str | None] = {}

    def start(self, kind: str) -> None:
        # children inherit the environment at spawn: set the caps before any
        # worker exists, so they apply before the worker imports numpy/numba
        self._saved_env = {k: os.environ.get(k) for k in THREAD_ENV}
        os.environ.update(THREAD_ENV)
        self._pool = cf.ProcessPoolExecutor(
            max_workers=self.capacity,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_local_worker,
            initargs=(kind, os.getpid()),
        )

    def submit(self, config: dict, context: dict | None = None) -> cf.Future:
        assert self._pool is not None
        try:
            return self._pool.submit(execute_point, config, context)
        except cf.process.BrokenProcessPool as exc:
            raise SweepError(f"a local worker process died ({exc}); finished points are kept, run again to resume") from None

    def wait_any(self, futures: Iterable[cf.Future]) -> set:
        done, _ = cf.wait(list(futures), return_when=cf.FIRST_COMPLETED)
        return done

    def result(self, future: cf.Future) -> dict:
        try:
            return future.result()
        except cf.process.BrokenProcessPool as exc:
            raise SweepError(
                f"a local worker process died ({exc or 'killed'}); finished points are kept, run again to resume"
            ) from None

    def close(self, cancel: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
            self._pool = None
        for k, v in self._saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._saved_env = {}


class DaskExecutor(Executor):
    """Runs points on an existing ``dask.distributed`` cluster.

    Needs the optional extra ``nmsim[dask]`` here and ``nmsim`` importable on
    every worker.  Start workers with one thread each and the thread caps in
    their environment, e.g.
    ``OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 dask worker tcp://HOST:8786 --nthreads 1``
    (the worker plugin installed here also sets them, but numpy may already
    have started its thread pool).
    """

    def __init__(self, address: str, timeout: float = DEFAULT_CONNECT_TIMEOUT):
        self.address = address
        self.timeout = timeout
        self.client = None
        self.description = f"Dask scheduler {address}"

    def connect(self) -> None:
        """Connect (fail fast: :class:`SweepError` after ``timeout`` seconds)."""
        try:
            from nmsim.sweep._dask import FailFastClient as Client
        except ImportError:
            raise SweepError(
                "--scheduler needs dask.distributed: install the optional extra with pip install 'nmsim[dask]'"
            ) from None
        deadline = time.monotonic() + self.timeout
        self._probe(deadline)
        try:
            self.client = Client(self.address, timeout=max(1.0, deadline - time.monotonic()), set_as_default=False)
        except MemoryError:  # something answered with bytes that are not the Dask protocol
            raise SweepError(
                f"cannot reach Dask scheduler at {self.address}: it answered, but not as a Dask scheduler"
            ) from None
        except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ...
            msg = " ".join(str(exc).split()) or type(exc).__name__
            raise SweepError(
                f"cannot reach Dask scheduler at {self.address} within {self.timeout:g} s: {msg}"
            ) from None
        try:
            info = self.client.scheduler_info(n_workers=-1)  # all workers (newer distributed list 5 by default)
        except TypeError:  # pragma: no cover - older distributed
            info = self.client.scheduler_info()
        workers = info.get("workers", {})
        if not workers:
            print(f"nmsim: warning: the Dask scheduler at {self.address} has no workers yet; "
                  "points wait until workers join", file=sys.stderr)
        self.capacity = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
        self.description = f"Dask scheduler {self.address} ({len(workers)} workers, {self.capacity} threads)"
        many = [a for a, w in workers.items() if int(w.get("nthreads", 1)) > 1]
        if many:
            print(
                f"nmsim: warning: {len(many)} Dask worker(s) run several threads; points may compete for cores "
                "(start workers with --nthreads 1)",
                file=sys.stderr,
            )

    def _probe(self, deadline: float) -> None:
        """Check the address and that a TCP connection opens (retrying until
        ``deadline``), so that a bad or dead address fails fast and cleanly."""
        import socket

        from distributed.comm.addressing import parse_address, parse_host_port

        try:
            scheme, loc = parse_address(self.address)
            if scheme not in ("tcp", "tls"):
                return
            host, port = parse_host_port(loc)
        except (ValueError, TypeError) as exc:
            raise SweepError(
                f"bad Dask scheduler address {self.address!r} ({exc}); expected tcp://HOST:PORT"
            ) from None
        last: Exception | None = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                reason = " ".join(str(last).split()) if last else "timed out"
                raise SweepError(
                    f"cannot reach Dask scheduler at {self.address} within {self.timeout:g} s: {reason}"
                )
            try:
                with socket.create_connection((host, port), timeout=left) as sock:
                    if scheme == "tcp":
                        self._expect_handshake(sock, deadline)
                    return
            except socket.gaierror as exc:
                raise SweepError(f"cannot reach Dask scheduler at {self.address}: unknown host {host!r} ({exc})") from None
            except OSError as exc:  # refused (scheduler not up yet?) or timed out: retry until the deadline
                last = exc
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    def _expect_handshake(self, sock, deadline: float) -> None:
        """A Dask scheduler speaks first: it sends its handshake (an 8-byte little-endian frame
        length, then the frame) as soon as it accepts.  Something that stays silent until
        ``deadline`` (a listener that never answers, an HTTP server waiting for a request) or
        sends anything else is refused here, so the client never waits on it."""
        import socket
        import struct

        got = b""
        try:
            while len(got) < 8:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(8 - len(got))
                if not chunk:
                    raise SweepError(f"cannot reach Dask scheduler at {self.address}: it closed the connection "
                                     "without a Dask handshake (is it a Dask scheduler?)")
                got += chunk
        except (socket.timeout, TimeoutError):
            raise SweepError(f"cannot reach Dask scheduler at {self.address} within {self.timeout:g} s: it accepted "
                             "the connection but sent no Dask handshake (is it a Dask scheduler?)") from None
        except OSError as exc:
            raise SweepError(f"cannot reach Dask scheduler at {self.address}: {exc.strerror or exc}") from None
        (n,) = struct.unpack("<Q", got)
        if not 0 < n < 2**24:  # a handshake is a small dict
            raise SweepError(f"cannot reach Dask scheduler at {self.address}: it answered, but not as a Dask scheduler")

    def start(self, kind: str) -> None:
        if self.client is None:
            self.connect()
        from nmsim.sweep._dask import NmsimWorkerSetup

        try:
            self.client.register_plugin(NmsimWorkerSetup(kind), name="nmsim-sweep-setup")
        except AttributeError:  # pragma: no cover - distributed < 2023.9
            self.client.register_worker_plugin(NmsimWorkerSetup(kind), name="nmsim-sweep-setup")

    def submit(self, config: dict, context: dict | None = None) -> Any:
        from nmsim.sweep.spec import config_hash

        return self.client.submit(execute_point, config, context, key=f"nmsim-point-{config_hash(config)}",
                                  retries=0)

    def result(self, future: Any) -> dict:
        try:
            return future.result()
        except Exception as exc:
            if type(exc).__name__ == "KilledWorker":  # distributed.scheduler.KilledWorker
                raise SweepError(
                    f"Dask workers died while running a point ({' '.join(str(exc).split())}); "
                    "finished points are kept, run again to resume"
                ) from None
            raise

    def wait_any(self, futures: Iterable[Any]) -> set:
        from distributed import wait

        with self.client.as_current():  # wait() looks the client up; we did not make ours the default
            done, _ = wait(list(futures), return_when="FIRST_COMPLETED")
        return set(done)

    def close(self, cancel: bool = False) -> None:
        if self.client is not None:
            try:
                self.client.close(timeout=self.timeout)
            except Exception:  # pragma: no cover - closing a broken connection
                pass
            self.client = None


def make_executor(workers: int | None = None, scheduler: str | None = None,
                  connect_timeout: float = DEFAULT_CONNECT_TIMEOUT, n_points: int | None = None) -> Executor:
    """The executor for ``--workers``/``--scheduler`` (Dask when a scheduler
    address is given; else local processes, ``workers=0`` in-process)."""
    if scheduler:
        if workers is not None:
            raise SweepError("give either --workers (local) or --scheduler (Dask), not both")
        return DaskExecutor(scheduler, timeout=connect_timeout)
    if workers is None:
        workers = os.cpu_count() or 1
        if n_points is not None:
            workers = max(1, min(workers, n_points))
    if workers == 0:
        return InlineExecutor()
    return LocalExecutor(workers)
