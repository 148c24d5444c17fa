"""nmsim.output_files: strict JSON, atomic single files, the --out check and whole output sets, on hand-made
inputs (expected bytes written out here)."""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

import pytest

from nmsim import output_files
from nmsim.errors import NmsimError
from nmsim.output_files import check_out_dir, dumps_json, output_set, strict, write_atomic


def test_strict_replaces_non_finite_floats_and_notes_why():
    obj = {"a": math.nan, "b": [1.0, math.inf, {"c": -math.inf}], "d": (2, "x"), "e": 0.5}
    assert strict(obj) == {"a": None, "a_note": "not a finite number (nan)", "b": [1.0, None, {"c": None,
                           "c_note": "not a finite number (-inf)"}], "d": [2, "x"], "e": 0.5}
    assert strict(obj, {"a": "no data"})["a_note"] == "no data"
    assert strict({"a": math.nan}, note_fields=False) == {"a": None}
    assert strict({"a": math.nan, "a_note": "kept"}) == {"a": None, "a_note": "kept"}
    assert strict(math.nan) is None and strict(3) == 3 and strict("nan") == "nan"


def test_strict_reaches_nested_values():
    assert strict({"o": {"a": math.nan}}, {"a": "why"}) == {"o": {"a": None, "a_note": "why"}}
    assert strict([{"a": math.nan}], {"a": "why"}) == [{"a": None, "a_note": "why"}]
    assert strict({"o": {"a": math.nan}}, note_fields=False) == {"o": {"a": None}}
    assert strict([{"a": math.nan}], note_fields=False) == [{"a": None}]


def test_a_nan_that_slips_past_the_sanitizer_is_an_error():
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        dumps_json({"a": object()}, default=lambda o: math.nan)


def test_exchange_swaps_two_directories_atomically(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                       # relative names: resolved against the working directory
    for d, f in (("a", "x"), ("b", "y")):
        os.mkdir(d)
        open(os.path.join(d, f), "w").close()
    assert output_files._exchange(Path("a"), Path("b")) is True
    assert os.listdir("a") == ["y"] and os.listdir("b") == ["x"]
    assert output_files._exchange(Path("a"), Path("missing")) is False


def test_the_out_check_probes_where_the_files_will_be_created(tmp_path, monkeypatch):
    seen = []
    real = output_files.tempfile.mkdtemp

    def spy(prefix=None, dir=None):
        seen.append((prefix, str(dir)))
        return real(prefix=prefix, dir=dir)

    monkeypatch.setattr(output_files.tempfile, "mkdtemp", spy)
    d = tmp_path / "d"
    d.mkdir()
    check_out_dir(d, own=["*.csv"])                   # replaced as a whole: created in its parent
    check_out_dir(d)                                  # content kept: created in it
    check_out_dir(tmp_path / "n" / "m")               # not there yet: the nearest existing parent
    assert seen == [(".nmsim-probe.", str(tmp_path)), (".nmsim-probe.", str(d)), (".nmsim-probe.", str(tmp_path))]


def test_dumps_json_text():
    assert dumps_json({"a": 1, "b": [1.5, math.nan]}) == '{\n  "a": 1,\n  "b": [\n    1.5,\n    null\n  ]\n}\n'
    assert dumps_json({"b": 1, "a": math.nan}, {"a": "why"}, indent=None, separators=(",", ":"),
                      sort_keys=True) == '{"a":null,"a_note":"why","b":1}'


@pytest.mark.parametrize("data", ["a\nb\u00e9\n", b"\x00\xff\r\n"])
def test_write_atomic_creates_the_directory_and_writes_exact_bytes(tmp_path, data):
    p = tmp_path / "new" / "dir" / "f.txt"
    assert write_atomic(p, data) == p
    want = data if isinstance(data, bytes) else data.encode("utf-8")
    assert p.read_bytes() == want
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o644
    assert sorted(os.listdir(p.parent)) == ["f.txt"]      # no temporary file left
    write_atomic(str(p), "second")                        # a str path, replacing the file
    assert p.read_text() == "second"


def test_write_atomic_uses_a_hidden_temporary_beside_the_target(tmp_path, monkeypatch):
    seen = []
    real = os.replace

    def spy(src, dst):
        seen.append((os.path.dirname(src), os.path.basename(src), os.path.exists(src)))
        real(src, dst)

    monkeypatch.setattr(output_files.os, "replace", spy)
    write_atomic(tmp_path / "summary.json", "{}")
    (d, name, existed), = seen
    assert d == str(tmp_path) and existed
    assert name.startswith(".summary.json.") and name.endswith(".tmp")


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    p = tmp_path / "tokens.csv"
    p.write_text("old\n")
    with pytest.raises(TypeError):
        write_atomic(p, 12345)                            # neither str nor bytes: write() fails
    assert p.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["tokens.csv"]


def test_a_failed_cleanup_still_raises_the_write_error(tmp_path, monkeypatch):
    def full(src, dst):
        raise OSError(28, "No space left on device")

    def no_unlink(path):
        raise OSError("read-only")

    monkeypatch.setattr(output_files.os, "replace", full)
    monkeypatch.setattr(output_files.os, "unlink", no_unlink)
    with pytest.raises(OSError, match="No space left on device"):
        write_atomic(tmp_path / "x", "text")


def test_check_out_dir(tmp_path):
    f = tmp_path / "f"
    f.write_text("")
    with pytest.raises(NmsimError) as exc:
        check_out_dir(f)
    assert str(exc.value) == f"--out {f}: exists and is not a directory"
    with pytest.raises(NmsimError) as exc:
        check_out_dir(f / "sub" / "out", "--dir")
    assert str(exc.value) == f"--dir {f / 'sub' / 'out'}: {f} is a file, not a directory"
    d = tmp_path / "d"
    d.mkdir()
    for n in ("a.csv", "b.csv", "c.txt", "d.txt", "e.txt", "f.txt"):
        (d / n).write_text("")
    assert check_out_dir(d) == d                                  # own=None: any content is kept
    assert check_out_dir(d, own=["*.csv", "*.txt"]) == d
    with pytest.raises(NmsimError) as exc:
        check_out_dir(d, own=["*.csv"])
    assert str(exc.value) == (f"--out {d}: holds files that are not outputs of this command (c.txt, d.txt, e.txt "
                              "and 1 more); give a new or empty directory")
    (d / "c.txt").unlink()
    with pytest.raises(NmsimError, match=r"\(d\.txt, e\.txt, f\.txt\); give"):
        check_out_dir(d, own=["*.csv"])
    assert [p for p in os.listdir(tmp_path) if p.startswith(".nmsim-probe")] == []


def test_check_out_dir_unwritable_via_probe(tmp_path, monkeypatch):
    def no(**kw):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(output_files.tempfile, "mkdtemp", no)
    with pytest.raises(NmsimError) as exc:
        check_out_dir(tmp_path / "a" / "b")
    assert str(exc.value) == f"--out {tmp_path / 'a' / 'b'}: cannot write in {tmp_path} (Permission denied)"
    with pytest.raises(NmsimError) as exc:
        check_out_dir(tmp_path)                                   # content kept: the directory itself is probed
    assert str(exc.value) == f"--out {tmp_path}: cannot write in {tmp_path} (Permission denied)"


@pytest.mark.parametrize("exchange", [True, False])
def test_output_set_replaces_the_whole_directory(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(output_files, "_exchange", lambda a, b: False)
    out = tmp_path / "new" / "out"
    with output_set(out) as t:
        assert t.parent == out.parent and t.name.startswith(".out.") and t.name.endswith(".tmp")
        (t / "a").write_text("1")
        (t / "stale").write_text("old")
    assert sorted(os.listdir(out)) == ["a", "stale"] and stat.S_IMODE(os.stat(out).st_mode) == 0o755
    with output_set(out) as t:
        (t / "a").write_text("2")
    assert sorted(os.listdir(out)) == ["a"] and (out / "a").read_text() == "2"
    assert sorted(os.listdir(out.parent)) == ["out"]              # no temporary or old set left


def test_a_failed_output_set_keeps_the_previous_one(tmp_path):
    out = tmp_path / "out"
    with output_set(out) as t:
        (t / "a").write_text("1")
    with pytest.raises(RuntimeError):
        with output_set(out) as t:
            (t / "a").write_text("2")
            raise RuntimeError("killed")
    assert (out / "a").read_text() == "1" and sorted(os.listdir(tmp_path)) == ["out"]
