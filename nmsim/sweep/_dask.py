"""Dask-only pieces (imported only when ``--scheduler`` is used)."""

from __future__ import annotations

from distributed import Client
from distributed.diagnostics.plugin import WorkerPlugin


class NmsimWorkerSetup(WorkerPlugin):
    """On every worker: cap thread pools at one thread, warm the kind's
    Numba kernels (loads the on-disk cache when the driver shares it)."""

    def __init__(self, kind: str):
        self.kind = kind

    def setup(self, worker) -> None:  # noqa: D401 - dask hook
        from nmsim.sweep.executors import limit_threads
        from nmsim.sweep.points import warm_kind

        if _own_process(worker):
            limit_threads()
        warm_kind(self.kind)


def _own_process(worker) -> bool:
    """Whether ``worker`` has a process of its own (started by a nanny, or a child process): an in-process
    worker (``LocalCluster(processes=False)``) shares its host's thread pools and environment, which it
    must leave alone (changing ``NUMBA_NUM_THREADS`` there breaks the host's later Numba compilations)."""
    import multiprocessing

    return getattr(worker, "nanny", None) is not None or multiprocessing.parent_process() is not None


class FailFastClient(Client):
    """A ``Client`` that, when it cannot connect, gives up at once: without
    this, the half-started client's ``__del__`` waits ~2x the connect
    timeout at exit trying to close a connection that never opened."""

    def start(self, **kwargs):
        try:
            return super().start(**kwargs)
        except BaseException:
            self.status = "closed"
            try:
                self._loop_runner.stop()
            except Exception:  # pragma: no cover - best effort
                pass
            raise
