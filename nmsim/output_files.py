"""Output files that are never half-written, and strict JSON (``docs/replay.md``, "Outputs").

- :func:`dumps_json`: the one JSON writer of nmsim outputs.  Non-finite floats become
  ``null`` with a ``<key>_note`` field giving the reason, then ``json.dumps`` runs with
  ``allow_nan=False``, so a NaN that slips past the sanitizer is a loud bug, never a
  ``NaN`` token that strict parsers reject.
- :func:`write_atomic`: one file, through a temporary file in the same directory and
  ``os.replace``.
- :func:`check_out_dir`: an output directory checked before any work starts (not a file,
  not under a file, writable, holding nothing but an earlier output set of the same kind).
- :func:`output_set`: a whole directory of outputs written into a temporary directory next
  to the target and swapped into place at the end, so a failure or a kill leaves the
  previous complete set or the new complete one, never a mix, and never a stale file.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from nmsim.errors import NmsimError


def strict(obj, notes: Mapping[str, str] | None = None, note_fields: bool = True):
    """A copy of ``obj`` with every non-finite float replaced by ``None``.

    In a dict, a replaced value ``d[k]`` also gets ``d[k + "_note"]``: ``notes[k]`` if given,
    else ``"not a finite number (nan)"`` (``note_fields=False``: no note fields)."""
    notes = notes or {}
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            out[k] = strict(v, notes, note_fields)
            if note_fields and isinstance(v, float) and not math.isfinite(v):
                out.setdefault(f"{k}_note", notes.get(k, f"not a finite number ({v!r})"))
        return out
    if isinstance(obj, (list, tuple)):
        return [strict(v, notes, note_fields) for v in obj]
    return obj


def dumps_json(obj, notes: Mapping[str, str] | None = None, *, indent: int | None = 2, **kw) -> str:
    """Strict JSON text of ``obj`` (see :func:`strict`); ``indent=None``: compact, no newline."""
    text = json.dumps(strict(obj, notes), allow_nan=False, indent=indent, **kw)
    return text + "\n" if indent is not None else text


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``path`` through a temporary file in the same directory: never half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": "\n"})) as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def check_out_dir(path: str | Path, option: str = "--out", own: Iterable[str] | None = None) -> Path:
    """Check that ``path`` can take an output set, before any work starts.

    ``own``: file names (or glob patterns) of an earlier output set of the same kind; an
    existing directory holding anything else is refused (it would be replaced as a whole).  ``None``: any
    existing directory is accepted (its content is kept).  Raises :class:`NmsimError`
    ``<option> <path>: <problem>``."""
    p = Path(path)

    def fail(problem: str):
        raise NmsimError(f"{option} {path}: {problem}")

    if p.exists() and not p.is_dir():
        fail("exists and is not a directory")
    if p.is_dir() and own is not None:
        own = tuple(own)
        other = sorted(n for n in os.listdir(p) if not any(fnmatch.fnmatchcase(n, pat) for pat in own))
        if other:
            more = f" and {len(other) - 3} more" if len(other) > 3 else ""
            fail(f"holds files that are not outputs of this command ({', '.join(other[:3])}{more}); "
                 "give a new or empty directory")
    # where the files will be created: the directory itself when its content is kept, else its parent
    base = p.absolute() if own is None and p.is_dir() else p.absolute().parent
    while not base.exists():
        base = base.parent
    if not base.is_dir():
        fail(f"{base} is a file, not a directory")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".nmsim-probe.", dir=base))
    except OSError as exc:
        fail(f"cannot write in {base} ({exc.strerror or exc})")
    return p


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return fn(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange) == 0


@contextlib.contextmanager
def output_set(path: str | Path) -> Iterator[Path]:
    """Yield a temporary directory next to ``path``; on success it replaces ``path`` as a whole.

    An exception (or a kill) before the end leaves ``path`` as it was and removes the
    temporary directory (a kill leaves it as a hidden ``.<name>.*.tmp`` sibling)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        if not target.exists():
            os.rename(tmp, target)
        elif _exchange(tmp, target):
            shutil.rmtree(tmp)  # now holds the previous set
        else:  # no atomic swap here: move the old set aside, then the new one in
            old = Path(str(tmp) + ".old")
            os.rename(target, old)
            os.rename(tmp, target)
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
