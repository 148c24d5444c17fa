"""Every bad input gets one clear line (issue 9): the CLI in subprocesses, as a user runs it.

For each case: exit status 2, exactly one stderr line starting ``nmsim: error:``, no
traceback anywhere, and nothing half-written or stale in ``--out``.  The bad-input
classes are: option, chip file, ``--set`` value, model file, token, sweep spec, ``--out``.
Cases that need no simulation stop before mapping; one case simulates (``--tokens 1``).
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from nmsim.lm import modelfile as M
from nmsim.output_files import output_set
from nmsim.paths import chips_dir, models_dir

ROOT = Path(__file__).resolve().parents[1]
TINY = models_dir() / "ptb-egru-tiny.nmm"
CHIP = (chips_dir() / "test-2x2.toml").read_text()
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p])}


def cli(args, cwd=None, env=None, timeout=120, stdout=subprocess.PIPE):
    return subprocess.run([sys.executable, "-m", "nmsim"] + [str(a) for a in args], cwd=cwd, env=env or ENV,
                          stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=timeout)


def assert_one_line(p, needle: str, status: int = 2) -> str:
    err = p.stderr
    assert "Traceback" not in err and "Traceback" not in (p.stdout or ""), err
    assert p.returncode == status, (p.returncode, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nmsim: error: "), err
    assert needle in lines[0], lines[0]
    return lines[0]


def run_args(tmp_path, *extra, out=None):
    """A ``run`` that would be valid except for ``extra``: tiny model, few tokens."""
    return ["run", "--no-progress", "--model", TINY, "--tokens", 2, "--out", out or tmp_path / "out", *extra]


# ------------------------------------------------------------------ options (argparse, missing actions)


@pytest.mark.parametrize("args,needle", [
    (["run", "--tokens"], "run: argument --tokens: expected one argument"),
    (["run", "--bogus"], "unrecognized arguments: --bogus"),
    (["run", "--seed", "-1"], "run: argument --seed: must be >= 0: -1"),
    (["run", "--workers", "0"], "run: argument --workers: must be >= 1: 0"),
    (["run", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"],
     "run: argument --scheduler: not allowed with argument --workers"),
    (["run", "--connect-timeout", "0"], "run: argument --connect-timeout: must be > 0"),
    (["run", "--trace", "--keep-record"], "--keep-record: not with --trace (a traced run uses the one-pass engine)"),
    (["run", "--trace", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not allowed with argument"),
    (["run", "--trace", "--scheduler", "tcp://127.0.0.1:1", "--keep-record"],
     "--scheduler, --keep-record: not with --trace"),
    (["run", "--mode", "fast"], "argument --mode: invalid choice: 'fast'"),
    (["run", "--set", "timing.x=1"], "argument --set: 'timing.x=1': expected chip.<table>.<key>"),
    (["chips", "show"], "chips show: the following arguments are required: chip"),
    (["chips"], "chips: missing action; choices: list, show"),
    (["sweep"], "sweep: missing action; choices: run, export, report"),
    (["lm"], "lm: missing action; choices: eval, info"),
    (["sweep", "run", "x.toml"], "the following arguments are required: --out"),
    (["sweep", "run", "x.toml", "--out", "d", "--connect-timeout", "0"], "--connect-timeout: must be > 0"),
    (["validate", "--oracle-cases", "0"], "validate: argument --oracle-cases: must be >= 1"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_option_errors_are_one_line(args, needle):
    assert_one_line(cli(args), needle)


# ------------------------------------------------------------------ chip files (chips show: no simulation)


def _energy_split(text: str) -> tuple[str, str]:
    """test-2x2 as a chip file with ``energy_table`` and the energy file it points to."""
    i = text.index("[energy]")
    return 'energy_table = "e.toml"\n' + text[:i], "schema_version = 1\n" + text[i:]


def _set(text: str, key: str, value: str) -> str:
    lines = text.splitlines()
    for n, line in enumerate(lines):
        if line.startswith(f"{key} = "):
            src = line.split("source", 1)[1]
            lines[n] = f"{key} = {{ value = {value}, source{src}"
            return "\n".join(lines) + "\n"
    raise AssertionError(key)


@pytest.mark.parametrize("edit,needle", [
    (lambda t: t.encode() + b"# caf\xe9 au lait\n", "not UTF-8 text: byte 0xe9"),
    (lambda t: _set(_set(t, "width", "10000"), "height", "10000"), "the engine packs core ids in 16 bits"),
    (lambda t: _set(_set(t, "width", "100"), "height", "100"), "the engine packs link ids in 16 bits"),
    (lambda t: _set(t, "hop_east_west_cycles", "1_000_000_000"), "latency limit 1048576 cycles"),
    (lambda t: _set(t, "hop_east_west_cycles", "1e9"), "expected an integer"),
    (lambda t: _set(t, "router_buffer_packets", "100_000_000"), "over the 4 GiB budget"),
    (lambda t: _set(t, "spike_send_cycles", "99999999999999999999"), "integer limit 2147483647"),
    (lambda t: _set(t, "frequency_hz", "1e-300"), "clock.frequency_hz: 1e-300 Hz is outside the range"),
])
def test_bad_chip_file_is_one_line(tmp_path, edit, needle):
    data = edit(CHIP)
    path = tmp_path / "chip.toml"
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    line = assert_one_line(cli(["chips", "show", path]), needle)
    assert str(path) in line


def test_non_utf8_energy_table_is_one_line(tmp_path):
    chip, energy = _energy_split(CHIP)
    (tmp_path / "chip.toml").write_text(chip)
    (tmp_path / "e.toml").write_bytes(b"# \xff\n" + energy.encode())
    line = assert_one_line(cli(["chips", "show", tmp_path / "chip.toml"]), "not UTF-8 text: byte 0xff at offset 2")
    assert "e.toml" in line
    (tmp_path / "e.toml").write_text(energy)  # the same pair, valid: loads
    assert cli(["chips", "show", tmp_path / "chip.toml"]).returncode == 0


# ------------------------------------------------------------------ --set values (checked before mapping)


@pytest.mark.parametrize("sets,needle", [
    (["chip.mesh.width=100", "chip.mesh.height=100"],
     "--set chip.mesh.width=100 --set chip.mesh.height=100: mesh: 100 x 100 routers"),
    (["chip.noc.router_buffer_packets=1000000"], "--set chip.noc.router_buffer_packets=1000000: the engine's "
                                                  "workspaces would take"),
    (["chip.timing.hop_east_west_cycles=1000000000"], "--set chip.timing.hop_east_west_cycles=1000000000: "
                                                      "1000000000 cycles is above the engine's latency limit"),
    (["chip.timing.hop_east_west_cycles=99999999999999999999"], "above the engine's integer limit"),
    (["chip.clock.frequency_hz=1e-300"], "--set chip.clock.frequency_hz=1e-300: 1e-300 Hz is outside"),
    (["chip.timing.hop_cycles=3"], "--set chip.timing.hop_cycles=3: unknown key"),
    (["chip.mesh.width=abc"], "--set chip.mesh.width=abc: expected a number, got str 'abc'"),
    (["chip.routing.x=1"], "--set chip.routing.x=1: unknown key"),
])
def test_bad_set_value_is_blamed_on_the_option(tmp_path, sets, needle):
    args = run_args(tmp_path)
    for s in sets:
        args += ["--set", s]
    line = assert_one_line(cli(args), needle)
    assert "loihi.toml" not in line  # blamed on the option, not on the chip file
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ model files and tokens


def _rewrite_model(tmp_path, change) -> Path:
    """The tiny model with its header changed and a valid checksum."""
    mf = M.load_model(TINY)
    header = json.loads(json.dumps(mf.header))
    header.pop("arrays"), header.pop("payload")
    change(header)
    path = tmp_path / "bad.nmm"
    path.write_bytes(M.dumps(header, mf.arrays))
    return path


@pytest.mark.parametrize("change,needle,command", [
    (lambda h: h["formats"].pop("payload_bits"), "header field formats.payload_bits is missing", "run"),
    (lambda h: h["arch"].update(hidden=[]), "header field arch.hidden = []: expected a non-empty list", "run"),
    (lambda h: h["arch"].update(hidden=[]), "header field arch.hidden = []: expected a non-empty list", "lm info"),
    (lambda h: h["formats"].update(state_bits="16"), "header field formats.state_bits = '16'", "lm info"),
])
def test_model_file_with_valid_checksum_but_bad_header(tmp_path, change, needle, command):
    path = _rewrite_model(tmp_path, change)
    args = ["run", "--no-progress", "--model", path, "--out", tmp_path / "out"] if command == "run" \
        else ["lm", "info", path]
    line = assert_one_line(cli(args), needle)
    assert str(path) in line
    assert not (tmp_path / "out").exists()


def test_out_of_vocabulary_token(tmp_path):
    from nmsim.lm.data import load_corpus

    corpus = load_corpus("ptb")
    first = corpus.vocab.decode(corpus.split("test")[:1])[0]

    def rename(h):
        h["vocab"][h["vocab"].index(first)] = "zzz-not-a-ptb-word"

    path = _rewrite_model(tmp_path, rename)
    args = ["run", "--no-progress", "--model", path, "--tokens", 2, "--out", tmp_path / "out"]
    assert_one_line(cli(args), f"ptb/test token 0 ({first!r}) is not in the vocabulary")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ --out (checked before simulating)


def _read_only_dir(tmp_path) -> Path:
    if os.geteuid() == 0:  # root writes through permissions: use a file system that takes no new entries
        return Path("/proc")
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    return d


# (a sweep directory is resumed in place, so other files in it are kept: no "foreign-files" case for it)
@pytest.mark.parametrize("command,case", [(c, k) for c in ("run", "sweep", "validate", "sweep report")
                                          for k in ("file", "under-file", "read-only", "foreign-files")
                                          if (c, k) != ("sweep", "foreign-files")])
def test_bad_out_fails_before_any_work(tmp_path, command, case):
    (tmp_path / "f").write_text("keep me\n")
    out = {"file": tmp_path / "f", "under-file": tmp_path / "f" / "sub" / "out",
           "read-only": _read_only_dir(tmp_path) / "nmsim-out", "foreign-files": tmp_path}[case]
    spec = tmp_path / "s.toml"
    spec.write_text('schema_version = 1\nname = "s"\nkind = "synthetic"\n[grid]\ncores = [4]\n')
    args = {"run": run_args(tmp_path, out=out), "sweep": ["sweep", "run", spec, "--out", out, "-q"],
            "validate": ["validate", "--quick", "--out", out],
            "sweep report": ["sweep", "report", tmp_path, "--out", out]}[command]
    needle = {"file": "exists and is not a directory", "under-file": "is a file, not a directory",
              "read-only": "cannot write in", "foreign-files": "holds files that are not outputs"}[case]
    line = assert_one_line(cli(args), needle)
    assert line.startswith(f"nmsim: error: --out {out}")
    assert (tmp_path / "f").read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f", "s.toml"]  # nothing written, no temporaries


def test_output_set_is_replaced_whole_or_not_at_all(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    for name in ("summary.json", "tokens.csv", "run.json", "trace.json"):
        (out / name).write_text("old\n")
    with pytest.raises(OSError):
        with output_set(out) as tmp:
            (tmp / "tokens.csv").write_text("new\n")
            raise OSError(28, "No space left on device")  # a full disk between two files
    assert {p.name: p.read_text() for p in out.iterdir()} == {n: "old\n" for n in ("summary.json", "tokens.csv",
                                                                                     "run.json", "trace.json")}
    with output_set(out) as tmp:
        (tmp / "tokens.csv").write_text("new\n")
        (tmp / "summary.json").write_text("new\n")
    assert {p.name: p.read_text() for p in out.iterdir()} == {"tokens.csv": "new\n", "summary.json": "new\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporaries left


def _wait_for(pred, proc, timeout=300.0):
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if pred():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_two_pass_run_leaves_no_outputs_and_a_rerun_succeeds(tmp_path, sig):
    """Ctrl-C (SIGINT) or SIGKILL during the functional pass: no --out, no record left by Ctrl-C (a SIGKILLed
    run's record is removed by the next run into the same --out); the rerun writes a complete set."""
    out = tmp_path / "run"
    records = lambda: list(tmp_path.glob(".run.record-*.npz.tmp"))  # noqa: E731
    p = subprocess.Popen([sys.executable, "-m", "nmsim", "run", "--no-progress", "--model", TINY, "--tokens", "all",
                          "--workers", "1", "--out", out], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        assert _wait_for(lambda: bool(records()), p), p.communicate()
        p.send_signal(sig)
        _, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert not out.exists()
    if sig == signal.SIGINT:
        assert p.returncode == 130 and err.strip().splitlines() == ["nmsim: error: interrupted"], err
        assert records() == []
    else:
        assert p.returncode == -signal.SIGKILL and len(records()) == 1
    q = cli(run_args(tmp_path, out=out))
    assert q.returncode == 0, q.stderr
    assert {"summary.json", "run.json", "tokens.csv"} <= {f.name for f in out.iterdir()}
    assert records() == []


def test_one_token_run_writes_strict_json_and_drops_a_stale_trace(tmp_path):
    """The one simulating case: --tokens 1 has no predictions -> null + reason, never NaN;
    the earlier run's trace.json is not kept or listed as this run's output."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "trace.json").write_text("{}")
    (out / "summary.json").write_text('{"old": true}')
    p = cli(["run", "--no-progress", "--model", TINY, "--tokens", 1, "--decoder", "host", "--out", out])
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    from nmsim.report.figures import FIGURES

    assert sorted(x.name for x in out.iterdir()) == sorted(["run.json", "summary.json", "tokens.csv", "steps.csv",
                                                            "cores.csv", "links.csv", "report.md", *FIGURES])
    assert "trace.json" not in p.stdout and "perplexity      n/a" in p.stdout

    def no_constants(name):
        raise AssertionError(f"non-strict JSON constant {name}")

    for name in ("summary.json", "run.json"):
        json.loads((out / name).read_text(), parse_constant=no_constants)
    s = json.loads((out / "summary.json").read_text())
    assert s["predictions"] == 0 and s["perplexity"] is None and s["golden_perplexity"] is None
    assert s["perplexity_note"] == "fewer than 2 tokens: no predictions"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out"]


# ------------------------------------------------------------------ sweep specs and schedulers


SPEC_REPLAY = """schema_version = 1
name = "r"
kind = "replay"
[base]
chip = "loihi"
model = "ptb-egru-tiny"
dataset = "ptb"
tokens = 2
{extra}
"""


@pytest.mark.parametrize("text,needle", [
    (SPEC_REPLAY.format(extra="seed = -1"), "parameter 'seed' must be >= 0, got -1"),
    (SPEC_REPLAY.format(extra='[grid]\n"chip.mesh.width" = [8, 100]\n"chip.mesh.height" = [100]'),
     "parameter chip.mesh.height=100 parameter chip.mesh.width=100: mesh: "),
    ('schema_version = 1\nname = "s"\nkind = "synthetic"\n[base]\nseed = -3\n', "seed"),
    (b'schema_version = 1\n# \xfe\nname = "s"\nkind = "synthetic"\n', "cannot read sweep file"),
])
def test_bad_sweep_spec_fails_before_the_sweep_starts(tmp_path, text, needle):
    spec = tmp_path / "spec.toml"
    spec.write_bytes(text if isinstance(text, bytes) else text.encode())
    assert_one_line(cli(["sweep", "run", spec, "--out", tmp_path / "sw", "-q"]), needle)
    assert not (tmp_path / "sw").exists()


class _Silent:
    """A TCP listener that accepts (in the kernel backlog) and never says a word."""

    def __enter__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        return self.sock.getsockname()[1]

    def __exit__(self, *exc):
        self.sock.close()


class _Http:
    def __enter__(self):
        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self.httpd.server_address[1]

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("command", ["sweep", "run"])
@pytest.mark.parametrize("server", [_Silent, _Http])
def test_scheduler_that_is_not_dask_fails_within_the_timeout(tmp_path, server, command):
    pytest.importorskip("distributed")
    spec = tmp_path / "spec.toml"
    spec.write_text('schema_version = 1\nname = "s"\nkind = "synthetic"\n[grid]\ncores = [4]\n')
    with server() as port:
        where = ["--scheduler", f"tcp://127.0.0.1:{port}", "--connect-timeout", "1"]
        p = cli(["sweep", "run", spec, "--out", tmp_path / "sw", *where] if command == "sweep" else
                run_args(tmp_path, *where, out=tmp_path / "sw"), timeout=60)
    assert_one_line(p, f"cannot reach Dask scheduler at tcp://127.0.0.1:{port} within 1 s: it accepted the "
                       "connection but sent no Dask handshake")
    assert not (tmp_path / "sw").exists()


@pytest.mark.parametrize("address,needle", [
    ("tcp://127.0.0.1:notaport", "bad Dask scheduler address 'tcp://127.0.0.1:notaport'"),
    ("tcp://no-such-host.invalid:8786", "unknown host 'no-such-host.invalid'"),
    (None, "cannot reach Dask scheduler at tcp://127.0.0.1:{port} within 1 s"),  # nothing listens
])
def test_run_with_a_bad_scheduler_address_is_one_line(tmp_path, address, needle):
    pytest.importorskip("distributed")
    with socket.socket() as s:  # a port that was free a moment ago: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = address or f"tcp://127.0.0.1:{port}"
    p = cli(run_args(tmp_path, "--scheduler", address, "--connect-timeout", "1"), timeout=60)
    assert_one_line(p, needle.format(port=port))
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ validate --sanafe, signals, stdout


def test_validate_sanafe_directory_and_non_utf8(tmp_path):
    assert_one_line(cli(["validate", "--sanafe", tmp_path]), "is a directory; give the YAML files")
    bad = tmp_path / "arch.yaml"
    bad.write_bytes(b"architecture:\n  name: caf\xe9\n")
    assert_one_line(cli(["validate", "--sanafe", bad]), "not UTF-8 text")


INTERRUPT_DURING_IMPORT = """
import importlib.abc, os, runpy, signal, sys
class Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "nmsim.cli":
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the CLI is being imported
        return None
sys.meta_path.insert(0, Hook())
sys.argv = ["nmsim", "chips", "list"]
runpy.run_module("nmsim", run_name="__main__", alter_sys=True)
"""


def test_ctrl_c_during_imports_is_one_line():
    p = subprocess.run([sys.executable, "-c", INTERRUPT_DURING_IMPORT], env=ENV, capture_output=True, text=True,
                       timeout=60)
    assert_one_line(p, "interrupted", status=130)
    assert p.stdout == ""


def test_full_stdout_is_one_line(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:
        p = cli(["chips", "list"], stdout=full)
    assert_one_line(p, "cannot write standard output: No space left on device")


# ------------------------------------------------------------------ compile cache


KERNEL = "from numba import njit\n\n@njit(cache=True)\ndef f(x):\n    return x + 1\n"


def test_compile_cache_falls_back_to_a_writable_temporary_location(tmp_path):
    """Package directories, $HOME and NUMBA_CACHE_DIR all unwritable (here: under a file, which
    even root cannot write into): kernels still compile and cache, in a temporary directory."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    pkg = tmp_path / "copy"
    shutil.copytree(ROOT / "nmsim", pkg / "nmsim", ignore=shutil.ignore_patterns("__pycache__"))
    for d in [pkg / "nmsim" / sub for sub in ("sim", "replay", "sweep")] + [tmp_path]:
        (d / "__pycache__").write_text("")  # numba's in-tree cache cannot be created
    (tmp_path / "kern.py").write_text(KERNEL)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "PYTHONPATH": f"{pkg}{os.pathsep}{tmp_path}", "HOME": str(blocker / "home"),
           "XDG_CACHE_HOME": str(blocker / "cache"), "TMPDIR": str(tmp), "PYTHONDONTWRITEBYTECODE": "1"}
    code = "import nmsim, os, kern; print(kern.f(41)); print(os.environ['NUMBA_CACHE_DIR'])"
    for cache in (None, str(blocker / "numba")):
        if cache:
            env["NUMBA_CACHE_DIR"] = cache
        p = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                           timeout=120)
        assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
        answer, where = p.stdout.split()
        assert answer == "42" and Path(where).parent == tmp and Path(where).name.startswith("nmsim-numba-cache-")
        assert any(Path(where).rglob("*.nbi")), "the kernel was not cached"


# ------------------------------------------------------------------ systems (boards of chips)
BOARD = """schema_version = 1
chip = "{chip}"
[board]
chips_x = {{ value = 2, source = "test value" }}
chips_y = {{ value = 1, source = "test value" }}
[ports]
east_west_row = {{ value = 1, source = "test value" }}
north_south_col = {{ value = 0, source = "test value" }}
[link]
latency_cycles = {{ value = 3, source = "test value" }}
bandwidth_bits_per_s = {{ value = 8e6, source = "test value" }}
energy_pj_per_flit = {{ value = 5.0, source = "test value" }}
buffer_packets = {{ value = 2, source = "test value" }}
"""


def test_system_too_small_for_the_model_is_one_line(tmp_path):
    """Two test-2x2 chips (16 cores x 64 neurons) cannot hold the tiny model's 10,000-unit decoder: one line
    naming the population that does not fit and what the board has, exit 2, nothing written."""
    path = tmp_path / "board.toml"
    path.write_text(BOARD.format(chip=chips_dir() / "test-2x2.toml"))
    p = cli(run_args(tmp_path, "--system", path))
    line = assert_one_line(p, "population 'dec' (10000 neurons) does not fit chip 'test-2x2@board': "
                              "16 cores × 64 neurons = 1024 neurons")
    assert "10064 neurons" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("edit,needle", [
    (('chips_x = {{ value = 2,', 'chips_x = {{ value = -2,'), "board.chips_x: must be positive, got -2"),
    (('[ports]', '[port]'), "port: unknown key; did you mean 'ports'?"),
])
def test_bad_system_file_is_one_line(tmp_path, edit, needle):
    path = tmp_path / "board.toml"
    path.write_text(BOARD.replace(*edit).format(chip="test-2x2"))
    assert_one_line(cli(run_args(tmp_path, "--system", path)), f"{path}: {needle}")


def test_unknown_system_preset_is_one_line(tmp_path):
    assert_one_line(cli(run_args(tmp_path, "--system", "loihi-nahuku")), "unknown system 'loihi-nahuku'; did you "
                                                                          "mean 'loihi-nahuku32'?")
