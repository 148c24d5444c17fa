"""The sweep results store and its CSV export, driven directly with hand-made points (no sweep runs here)."""

from __future__ import annotations

import json
import os
import sqlite3
import stat

import pytest

from nmsim.errors import SweepError
from nmsim.sweep import export as export_mod
from nmsim.sweep.export import ID_COLUMNS, TIMING_COLUMNS, cell, export_csv, table
from nmsim.sweep.store import DB_NAME, LOCK_NAME, STORE_VERSION, ResultStore


def _cfg(**params):
    return json.dumps({"params": params}, sort_keys=True)


def _fill(d):
    """Plan of 3 points (index 0..2); points 2 and 0 finished (in that order), point 1 failed."""
    with ResultStore.open_for_run(d) as s:
        s.write_plan({"name": "demo", "kind": "synthetic"},
                     [(0, "h0", _cfg(a=1, b="x")), (1, "h1", _cfg(a=2, b="y")), (2, "h2", _cfg(a=3, b=None))])
        assert s.add_result("h2", "synthetic", _cfg(a=3, b=None), {"m": 0.5, "ok": True}, "1.0", 2.5, "w1")
        assert s.add_result("h0", "synthetic", _cfg(a=1, b="x"), {"m": 1, "v": [1, 2]}, "1.0", None, None)
        s.add_failure("h1", _cfg(a=2, b="y"), "bad input", "1.0")


def test_a_new_store_has_the_schema_version_and_a_lock_file(tmp_path):
    d = tmp_path / "a" / "b"
    with ResultStore.open_for_run(d) as s:
        assert s.meta() == {"store_version": STORE_VERSION} and s.n_planned() == 0 and s.rows() == []
        assert s.directory == d
    assert (d / DB_NAME).is_file() and (d / LOCK_NAME).exists()
    assert stat.S_IMODE(os.stat(d / LOCK_NAME).st_mode) & 0o600 == 0o600
    mode = sqlite3.connect(d / DB_NAME).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_rows_follow_the_plan_and_failures_are_listed(tmp_path):
    _fill(tmp_path)
    with ResultStore.open_existing(tmp_path) as s:
        assert s.meta() == {"store_version": STORE_VERSION, "name": "demo", "kind": "synthetic"}
        assert s.n_planned() == 3 and s.finished_hashes() == {"h0", "h2"}
        rows = s.rows()
        assert [(r["point_index"], r["config_hash"]) for r in rows] == [(0, "h0"), (2, "h2")]
        r0, r2 = rows
        assert (r0["kind"], r0["nmsim_version"], r0["params"], r0["metrics"]) == \
            ("synthetic", "1.0", {"a": 1, "b": "x"}, {"m": 1, "v": [1, 2]})
        assert (r0["wall_s"], r0["worker"]) == (None, None)
        assert (r2["wall_s"], r2["worker"], r2["metrics"]) == (2.5, "w1", {"m": 0.5, "ok": True})
        assert len(r2["finished_at"]) == len("2026-01-01T00:00:00+00:00") and r2["finished_at"].endswith("+00:00")
        assert s.failures() == [{"config_hash": "h1", "point_index": 1, "error": "bad input"}]


def test_duplicates_are_ignored_and_a_result_clears_its_failure(tmp_path):
    _fill(tmp_path)
    with ResultStore.open_for_run(tmp_path) as s:
        assert s.add_result("h0", "synthetic", _cfg(a=1, b="x"), {"m": 99}, "2.0") is False
        s.add_failure("h1", _cfg(a=2, b="y"), "worse input", "2.0")
        assert s.failures() == [{"config_hash": "h1", "point_index": 1, "error": "worse input"}]
        assert s.add_result("h1", "synthetic", _cfg(a=2, b="y"), {"m": 2}, "2.0") is True
        assert s.failures() == []
        assert [r["metrics"]["m"] for r in s.rows()] == [1, 2, 0.5]      # h0 kept its first metrics


def test_a_new_plan_replaces_the_old_one_but_keeps_results(tmp_path):
    _fill(tmp_path)
    with ResultStore.open_for_run(tmp_path) as s:
        s.write_plan({"name": "renamed"}, [(0, "h2", _cfg(a=3, b=None)), (1, "h9", _cfg(a=9, b="z"))])
        assert s.n_planned() == 2 and s.meta()["name"] == "renamed" and s.meta()["kind"] == "synthetic"
        assert [r["config_hash"] for r in s.rows()] == ["h2"] and s.failures() == []
        assert s.finished_hashes() == {"h0", "h2"}


def test_metrics_are_stored_as_compact_sorted_json(tmp_path):
    with ResultStore.open_for_run(tmp_path) as s:
        s.write_plan({}, [(0, "h", _cfg())])
        s.add_result("h", "k", _cfg(), {"b": "\u00e9", "a": 1}, "1")
    raw = sqlite3.connect(tmp_path / DB_NAME).execute("SELECT metrics FROM results").fetchone()[0]
    assert raw == '{"a":1,"b":"\u00e9"}'


def _refusal(directory) -> str:
    """The one-line error of opening ``directory`` as an existing store."""
    with pytest.raises(SweepError) as exc:
        with ResultStore.open_existing(directory):
            pass
    return str(exc.value)


def test_opening_errors(tmp_path):
    assert _refusal(tmp_path) == f"{tmp_path} is not a sweep directory (no {DB_NAME})"
    (tmp_path / "f").write_text("")
    with pytest.raises(SweepError, match=rf"^cannot create sweep directory {tmp_path / 'f' / 'd'}: "):
        with ResultStore.open_for_run(tmp_path / "f" / "d"):
            pass
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(SweepError, match=rf"^{tmp_path / 'g' / DB_NAME} is not a results store: |"
                                         rf"^cannot open results store {tmp_path / 'g' / DB_NAME}: "):
        with ResultStore.open_existing(tmp_path / "g"):
            pass


def test_an_sqlite_file_without_the_tables_is_not_a_store(tmp_path):
    sqlite3.connect(tmp_path / DB_NAME).execute("CREATE TABLE other (x)")
    assert _refusal(tmp_path) == f"{tmp_path / DB_NAME} is not a results store: no such table: meta"


def test_a_plan_is_replaced_in_one_transaction(tmp_path):
    """A failure while the new plan is written leaves the old plan (and metadata) untouched."""
    _fill(tmp_path)

    def points():
        yield (0, "n0", _cfg(a=7))
        raise RuntimeError("spec error half-way")

    with ResultStore.open_for_run(tmp_path) as s:
        with pytest.raises(RuntimeError):
            s.write_plan({"name": "new"}, points())
        assert s.n_planned() == 3 and s.meta()["name"] == "demo"
    with ResultStore.open_existing(tmp_path) as s:
        assert s.n_planned() == 3 and [r["config_hash"] for r in s.rows()] == ["h0", "h2"]


def test_a_store_of_another_version_is_refused(tmp_path):
    with ResultStore.open_for_run(tmp_path):
        pass
    con = sqlite3.connect(tmp_path / DB_NAME)
    con.execute("UPDATE meta SET value = '0' WHERE key = 'store_version'")
    con.commit()
    assert _refusal(tmp_path) == f"{tmp_path / DB_NAME} has store version 0, expected {STORE_VERSION}"
    con.execute("DELETE FROM meta")
    con.commit()
    assert _refusal(tmp_path) == f"{tmp_path / DB_NAME} has store version ?, expected {STORE_VERSION}"
    with ResultStore.open_for_run(tmp_path) as s:      # a driver writes the missing version back
        assert s.meta() == {"store_version": STORE_VERSION}


def test_a_second_driver_is_refused(tmp_path):
    with ResultStore.open_for_run(tmp_path):
        with pytest.raises(SweepError) as exc:
            with ResultStore.open_for_run(tmp_path):
                pass
        assert str(exc.value) == f"another nmsim sweep is running in {tmp_path}"
    with ResultStore.open_for_run(tmp_path):            # the lock went with the first driver
        pass


# ----------------------------------------------------------------------------- export


def test_cells():
    assert [cell(None), cell(True), cell(False), cell(3), cell(0.1), cell(1e-7), cell("a,b")] == \
        ["", "true", "false", "3", "0.1", "1e-07", "a,b"]
    assert cell({"b": [1, 2], "a": "\u00e9"}) == '{"a":"\u00e9","b":[1,2]}'


def test_table_and_csv_bytes(tmp_path):
    _fill(tmp_path)
    header, body, params, metrics = table(tmp_path)
    assert header == ["config_hash", "point_index", "kind", "nmsim_version", "a", "b", "m", "ok", "v"]
    assert (params, metrics) == (["a", "b"], ["m", "ok", "v"])
    assert body == [["h0", "0", "synthetic", "1.0", "1", "x", "1", "", "[1,2]"],
                    ["h2", "2", "synthetic", "1.0", "3", "", "0.5", "true", ""]]
    n = export_csv(tmp_path, tmp_path / "out" / "sub" / "t.csv")
    assert n == 2
    assert (tmp_path / "out" / "sub" / "t.csv").read_bytes() == (
        b"config_hash,point_index,kind,nmsim_version,a,b,m,ok,v\n"
        b'h0,0,synthetic,1.0,1,x,1,,"[1,2]"\n'
        b"h2,2,synthetic,1.0,3,,0.5,true,\n")
    assert sorted(os.listdir(tmp_path / "out" / "sub")) == ["t.csv"]


def test_the_csv_goes_through_a_hidden_temporary_beside_it(tmp_path, monkeypatch):
    _fill(tmp_path)
    seen = []
    real = os.replace

    def spy(src, dst):
        seen.append((os.path.dirname(src), os.path.basename(src)))
        real(src, dst)

    monkeypatch.setattr(export_mod.os, "replace", spy)
    export_csv(tmp_path, tmp_path / "t.csv")
    (d, name), = seen
    assert d == str(tmp_path) and name.startswith(".t.csv.") and name.endswith(".tmp")


def test_timing_columns_only_on_request(tmp_path, capsys):
    _fill(tmp_path)
    header, body, _, _ = table(tmp_path, with_timing=True)
    assert header[-3:] == list(TIMING_COLUMNS) == ["wall_s", "worker", "finished_at"]
    assert body[0][-3:-1] == ["", ""] and body[1][-3:-1] == ["2.5", "w1"]
    assert body[0][:9] == ["h0", "0", "synthetic", "1.0", "1", "x", "1", "", "[1,2]"] and len(body[0]) == 12
    assert export_csv(tmp_path, "-") == 2
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "config_hash,point_index,kind,nmsim_version,a,b,m,ok,v"
    assert len(out.splitlines()) == 3
    export_csv(tmp_path, "-", with_timing=True)
    assert capsys.readouterr().out.splitlines()[0].endswith(",v,wall_s,worker,finished_at")


@pytest.mark.parametrize("params, metrics, clash", [
    ({"x": 1}, {"x": 2}, "x"),
    ({"kind": 1}, {"m": 2}, "kind"),
    ({"a": 1}, {"wall_s": 2}, "wall_s"),
    ({"y": 1, "x": 1}, {"x": 2, "y": 2}, "x, y"),
])
def test_column_clashes_are_refused(tmp_path, params, metrics, clash):
    with ResultStore.open_for_run(tmp_path) as s:
        s.write_plan({}, [(0, "h", _cfg(**params))])
        s.add_result("h", "k", _cfg(**params), metrics, "1")
    with pytest.raises(SweepError) as exc:
        table(tmp_path)
    assert str(exc.value) == f"column name(s) {clash} used by both a parameter and a metric"
    assert set(ID_COLUMNS) == {"config_hash", "point_index", "kind", "nmsim_version"}


def test_an_unwritable_csv_is_one_error_and_leaves_nothing(tmp_path, monkeypatch):
    _fill(tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(SweepError, match=rf"^cannot write {tmp_path / 'file' / 'x.csv'}: "):
        export_csv(tmp_path, tmp_path / "file" / "x.csv")

    def broken(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_mod.os, "replace", broken)
    with pytest.raises(SweepError) as exc:
        export_csv(tmp_path, tmp_path / "y.csv")
    assert str(exc.value) == f"cannot write {tmp_path / 'y.csv'}: [Errno 28] No space left on device"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp") or p.startswith(".y.csv")]


def test_reading_never_creates_the_store_file(tmp_path):
    """The read-only connection (``open_existing``'s) opens ``mode=rw``: a store file removed after the check
    is an error, not a new empty store."""
    path = tmp_path / DB_NAME
    with pytest.raises(SweepError, match=rf"^cannot open results store {path}: unable to open database file$"):
        ResultStore._connect(path, create=False)
    assert not path.exists()
    ResultStore._connect(path).close()               # the driver's connection creates it
    assert path.is_file()
