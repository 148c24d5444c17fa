"""Dask-only pieces (imported only when ``--scheduler`` is used)."""

from __future__ import annotations

from distributed import Client
from distributed.diagnostics.plugin import WorkerPlugin


class NmsimWorkerSetup(WorkerPlugin):
    """On every worker: cap thread pools at one thread, warm the kind's
    Numba kernels (loads the on-disk cache when the driver shares it)."""

    def __init__(self, kind: str):
        import os

        self.kind = kind
        self.driver_pid = os.getpid()  # pickled with the plugin: the process that registered it

    def setup(self, worker) -> None:  # noqa: D401 - dask hook
        import os

        from nmsim.sweep.executors import limit_threads
        from nmsim.sweep.points import warm_kind

        if os.getpid() != self.driver_pid:  # an in-process worker (LocalCluster(processes=False)) shares the
            limit_threads()                 # driver's thread pools and environment: leave them alone
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
