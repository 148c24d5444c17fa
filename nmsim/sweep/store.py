"""The results store of a sweep directory: one SQLite file, no server.

``DIR/results.sqlite`` (WAL journal, ``synchronous=FULL``) holds

``meta(key, value)``
    the sweep's name, kind, report axes and the spec text of the last run;
``plan(point_index, config_hash, config)``
    the points of the last run's spec, in expansion order (replaced as a
    whole, in one transaction, each time a sweep starts);
``results(config_hash PRIMARY KEY, kind, config, metrics, nmsim_version, wall_s, worker, finished_at)``
    one row per finished point, each inserted in its own transaction, so a
    row is either wholly there or absent, whenever the process is killed;
    the primary key makes a duplicate impossible (a second insert of the
    same point is ignored);
``failures(config_hash PRIMARY KEY, config, error, ...)``
    points whose kind raised an input error (retried on the next run).

Only the sweep's driver process writes (workers return their metrics to it);
a lock file (``DIR/.lock``, ``flock``) stops two drivers sharing a
directory.  The lock and SQLite's journal both survive SIGKILL correctly:
the kernel drops the lock, and an interrupted transaction rolls back.

Results are keyed by ``config_hash`` alone, so rows of points that a later,
edited spec no longer contains stay in the store (and come back if the spec
is reverted) but are not exported or reported.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import sqlite3
from pathlib import Path
from typing import Any, Iterable, Iterator

from nmsim.errors import SweepError

DB_NAME = "results.sqlite"
LOCK_NAME = ".lock"
STORE_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS plan (
    point_index INTEGER PRIMARY KEY,
    config_hash TEXT NOT NULL UNIQUE,
    config TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    config_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    metrics TEXT NOT NULL,
    nmsim_version TEXT NOT NULL,
    wall_s REAL,
    worker TEXT,
    finished_at TEXT
);
CREATE TABLE IF NOT EXISTS failures (
    config_hash TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    error TEXT NOT NULL,
    nmsim_version TEXT NOT NULL,
    finished_at TEXT
);
"""


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _dumps(obj: Any) -> str:
    # NaN/inf metrics are kept (Python's JSON dialect); parameters never hold them
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@contextlib.contextmanager
def _dir_lock(directory: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no locking
        yield
        return
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SweepError(f"another nmsim sweep is running in {directory}") from None
        yield
    finally:
        os.close(fd)


class ResultStore:
    """Access to ``DIR/results.sqlite``.  Use :meth:`open_for_run` (driver,
    takes the lock, creates the store) or :meth:`open_existing` (read)."""

    def __init__(self, directory: Path, conn: sqlite3.Connection):
        self.directory = directory
        self.conn = conn

    # ------------------------------------------------------------ opening

    @classmethod
    @contextlib.contextmanager
    def open_for_run(cls, directory: str | Path) -> Iterator["ResultStore"]:
        directory = Path(directory)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SweepError(f"cannot create sweep directory {directory}: {exc}") from None
        with _dir_lock(directory):
            conn = cls._connect(directory / DB_NAME)
            try:
                with conn:
                    conn.executescript(_SCHEMA)
                    conn.execute(
                        "INSERT OR IGNORE INTO meta(key, value) VALUES ('store_version', ?)", (STORE_VERSION,)
                    )
                store = cls(directory, conn)
                store._check_version()
                yield store
            finally:
                conn.close()

    @classmethod
    @contextlib.contextmanager
    def open_existing(cls, directory: str | Path) -> Iterator["ResultStore"]:
        directory = Path(directory)
        path = directory / DB_NAME
        if not path.is_file():
            raise SweepError(f"{directory} is not a sweep directory (no {DB_NAME})")
        conn = cls._connect(path, create=False)
        try:
            store = cls(directory, conn)
            store._check_version()
            yield store
        finally:
            conn.close()

    @staticmethod
    def _connect(path: Path, create: bool = True) -> sqlite3.Connection:
        try:
            uri = f"file:{path.resolve().as_posix()}?mode={'rwc' if create else 'rw'}"
            conn = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 30000")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # pragma: no cover - e.g. a network file system
                conn.execute("PRAGMA journal_mode = DELETE")
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as exc:
            raise SweepError(f"cannot open results store {path}: {exc}") from None
        # explicit transactions: "with conn" needs isolation_level != None
        conn.isolation_level = "DEFERRED"
        return conn

    def _check_version(self) -> None:
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'store_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise SweepError(f"{self.directory / DB_NAME} is not a results store: {exc}") from None
        if row is None or row[0] != STORE_VERSION:
            raise SweepError(
                f"{self.directory / DB_NAME} has store version {row[0] if row else '?'}, expected {STORE_VERSION}"
            )

    # ------------------------------------------------------------ writing

    def write_plan(self, meta: dict[str, str], points: Iterable[tuple[int, str, str]]) -> None:
        """Replace the plan and the sweep metadata in one transaction.
        ``points`` yields ``(point_index, config_hash, config_json)``."""
        with self.conn:
            self.conn.execute("DELETE FROM plan")
            self.conn.executemany("INSERT INTO plan(point_index, config_hash, config) VALUES (?, ?, ?)", points)
            self.conn.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                sorted(meta.items()),
            )

    def add_result(self, config_hash: str, kind: str, config_json: str, metrics: dict[str, Any],
                   nmsim_version: str, wall_s: float | None = None, worker: str | None = None) -> bool:
        """Insert one finished point (its own transaction).  Returns False if
        the point was already there (the stored row is kept)."""
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO results(config_hash, kind, config, metrics, nmsim_version, wall_s, worker, finished_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(config_hash) DO NOTHING",
                (config_hash, kind, config_json, _dumps(metrics), nmsim_version, wall_s, worker, _now()),
            )
            self.conn.execute("DELETE FROM failures WHERE config_hash = ?", (config_hash,))
        return cur.rowcount == 1

    def add_failure(self, config_hash: str, config_json: str, error: str, nmsim_version: str) -> None:
        with self.conn:
            self.conn.execute(
                "INSERT INTO failures(config_hash, config, error, nmsim_version, finished_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(config_hash) DO UPDATE SET error = excluded.error, "
                "nmsim_version = excluded.nmsim_version, finished_at = excluded.finished_at",
                (config_hash, config_json, error, nmsim_version, _now()),
            )

    # ------------------------------------------------------------ reading

    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta"))

    def finished_hashes(self) -> set[str]:
        return {h for (h,) in self.conn.execute("SELECT config_hash FROM results")}

    def n_planned(self) -> int:
        return self.conn.execute("SELECT count(*) FROM plan").fetchone()[0]

    def rows(self) -> list[dict[str, Any]]:
        """Finished points of the current plan, in point order.

        Each row: ``config_hash, point_index, kind, nmsim_version, params,
        metrics, wall_s, worker, finished_at`` (the last three differ run to run).
        """
        cur = self.conn.execute(
            "SELECT r.config_hash, p.point_index, r.kind, r.nmsim_version, r.config, r.metrics, r.wall_s, r.worker, "
            "r.finished_at "
            "FROM plan AS p JOIN results AS r ON r.config_hash = p.config_hash ORDER BY p.point_index"
        )
        out = []
        for h, index, kind, version, config, metrics, wall_s, worker, finished_at in cur:
            out.append({
                "config_hash": h,
                "point_index": index,
                "kind": kind,
                "nmsim_version": version,
                "params": json.loads(config)["params"],
                "metrics": json.loads(metrics),
                "wall_s": wall_s,
                "worker": worker,
                "finished_at": finished_at,
            })
        return out

    def failures(self) -> list[dict[str, Any]]:
        cur = self.conn.execute(
            "SELECT f.config_hash, p.point_index, f.error FROM plan AS p JOIN failures AS f "
            "ON f.config_hash = p.config_hash ORDER BY p.point_index"
        )
        return [{"config_hash": h, "point_index": i, "error": e} for h, i, e in cur]
