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

        limit_threads()
        warm_kind(self.kind)


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
