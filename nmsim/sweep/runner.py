"""Run a sweep: expand the spec, skip finished points, fan out, store rows."""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

from nmsim import __version__
from nmsim.sweep.executors import DEFAULT_CONNECT_TIMEOUT, DaskExecutor, make_executor
from nmsim.sweep.points import get_kind, warm_kind
from nmsim.sweep.spec import Point, SweepSpec, canonical_json, load_spec
from nmsim.sweep.store import ResultStore


@dataclasses.dataclass
class SweepSummary:
    name: str
    out_dir: Path
    planned: int  #: points in the spec
    skipped: int  #: already finished before this run
    ran: int  #: finished by this run
    failed: int  #: raised an input error in this run (see the failures table)
    executor: str
    wall_s: float
    failures: list[tuple[int, str]] = dataclasses.field(default_factory=list)  #: (point_index, error)
    #: what the points of this run ran (kinds that report passes, e.g. ``replay``; else ``None``):
    #: ``{"functional": n, "timing": n, "repriced": n}``
    passes: dict[str, int] | None = None

    def line(self) -> str:
        text = (
            f"sweep '{self.name}': {self.planned} points, {self.skipped} already done, {self.ran} run, "
            f"{self.failed} failed ({self.executor}, {self.wall_s:.1f} s) -> {self.out_dir}"
        )
        if self.passes is not None:
            p = self.passes
            text += (f"; {p['functional']} functional pass{'es' if p['functional'] != 1 else ''}, "
                     f"{p['timing']} timing pass{'es' if p['timing'] != 1 else ''}, "
                     f"{p['repriced']} re-pricing{'s' if p['repriced'] != 1 else ''}")
        return text


#: the sweep store's folder for records shared between points (``docs/sweeps.md``, "Shared passes")
RECORDS_DIR = "records"


class _Sharing:
    """Which points wait for which (kinds with ``share_groups``): a point runs once the first point of
    its functional group and the first of its timed group have finished, so that it can reuse their
    stored records; ``context(p)`` tells the point whether others will reuse its work."""

    def __init__(self, kind, points: list[Point], todo: list[Point], record_dir: Path):
        self.on = kind.share_groups is not None and kind.run_shared is not None
        self.record_dir = str(record_dir)
        self.groups: dict[int, tuple[str, str]] = {}
        self.first: dict[str, int] = {}
        size: dict[str, int] = {}
        if not self.on:
            return
        for p in points:  # group sizes over the whole plan (finished points may have left records)
            g = kind.share_groups(dict(p.params))
            self.groups[p.index] = g
            for key in (("f", g[0]), ("t", g[1])):
                size[key] = size.get(key, 0) + 1
        for p in todo:
            for key in (("f", self.groups[p.index][0]), ("t", self.groups[p.index][1])):
                self.first.setdefault(key, p.index)
        self.size = size
        self.finished: set[int] = set()

    def ready(self, p: Point) -> bool:
        if not self.on:
            return True
        f, t = self.groups[p.index]
        return all(self.first[k] == p.index or self.first[k] in self.finished for k in (("f", f), ("t", t)))

    def context(self, p: Point) -> dict | None:
        if not self.on:
            return None
        f, t = self.groups[p.index]
        return {"record_dir": self.record_dir, "share_functional": self.size[("f", f)] > 1,
                "share_timed": self.size[("t", t)] > 1}

    def done(self, p: Point) -> None:
        if self.on:
            self.finished.add(p.index)


def _progress(total: int, initial: int, enabled: bool, name: str):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, unit="pt", desc=name,
                file=sys.stderr, dynamic_ncols=True, leave=True)


def run_sweep(
    spec: SweepSpec | str | Path,
    out_dir: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    progress: bool = False,
    max_points: int | None = None,
) -> SweepSummary:
    """Run every unfinished point of ``spec`` and store its row in ``out_dir``.

    ``workers``: local worker processes (default: CPU count, at most the
    number of points; 0 runs in this process).  ``scheduler``: address of a
    Dask scheduler (``tcp://host:8786``) to run on instead.  ``max_points``
    stops after that many points of this run (for tests and trial runs).
    Raises :class:`SweepError` for a bad spec, an unreachable scheduler or a
    dead worker; finished rows are kept in every case.
    """
    t0 = time.perf_counter()
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec)
    points: list[Point] = spec.expand()
    kind = get_kind(spec.kind)
    if kind.check is not None:
        kind.check()
    executor = make_executor(workers=workers, scheduler=scheduler, connect_timeout=connect_timeout,
                             n_points=len(points))
    if isinstance(executor, DaskExecutor):
        executor.connect()  # before touching the output directory: fail fast
    out_dir = Path(out_dir)
    failures: list[tuple[int, str]] = []
    with executor, ResultStore.open_for_run(out_dir) as store:
        meta = {
            "name": spec.name,
            "kind": spec.kind,
            "spec_source": spec.source,
            "spec_text": spec.text,
            "report": canonical_json({**dict(kind.objectives), **spec.report}),
            "varied": canonical_json(spec.varied_keys()),
        }
        store.write_plan(meta, ((p.index, p.config_hash, canonical_json(p.config)) for p in points))
        done = store.finished_hashes()
        todo = [p for p in points if p.config_hash not in done]
        skipped = len(points) - len(todo)
        if max_points is not None:
            todo = todo[:max_points]
        ran = 0
        passes: dict[str, int] | None = None
        if todo:
            warm_kind(spec.kind)  # fill the Numba cache once, before the workers start
            executor.start(spec.kind)
            window = max(2, 2 * executor.capacity)
            pending: dict[Any, Point] = {}
            queue = list(todo)  # in point order; a point waits there until sharing lets it run
            share = _Sharing(kind, points, todo, (out_dir / RECORDS_DIR).resolve())
            with _progress(len(points), skipped, progress, spec.name) as bar:
                while queue or pending:
                    i = 0
                    while i < len(queue) and len(pending) < window:
                        if share.ready(queue[i]):
                            p = queue.pop(i)
                            pending[executor.submit(p.config, share.context(p))] = p
                        else:
                            i += 1
                    done_now = sorted(executor.wait_any(pending), key=lambda f: pending[f].index)
                    for fut in done_now:
                        p = pending.pop(fut)
                        out = executor.result(fut)  # a bug in a point raises here
                        share.done(p)
                        config_json = canonical_json(p.config)
                        if out["ok"]:
                            store.add_result(p.config_hash, p.kind, config_json, out["metrics"], __version__,
                                             wall_s=out["wall_s"], worker=out["worker"])
                            ran += 1
                            if out.get("passes") is not None:
                                passes = passes or {"functional": 0, "timing": 0, "repriced": 0}
                                for k, v in out["passes"].items():
                                    passes[k] = passes.get(k, 0) + int(v)
                        else:
                            store.add_failure(p.config_hash, config_json, out["error"], __version__)
                            failures.append((p.index, out["error"]))
                        bar.update(1)
    failures.sort()
    return SweepSummary(
        name=spec.name, out_dir=out_dir, planned=len(points), skipped=skipped, ran=ran,
        failed=len(failures), executor=executor.description, wall_s=time.perf_counter() - t0,
        failures=failures, passes=passes,
    )
