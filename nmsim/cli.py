"""``nmsim`` command line.

Each sub-command lives in ``nmsim/commands/<name>.py`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (a callable
taking the parsed ``argparse.Namespace`` and returning an exit status).
Every input error, option errors included, prints exactly one line
``nmsim: error: ...`` on stderr and exits with status 2 (no usage dump, no
traceback); Ctrl-C prints one line and exits 130; a full or closed stdout
ends the command cleanly.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys

from nmsim import __version__
from nmsim.errors import NmsimError

#: Sub-command modules, in the order they appear in ``nmsim --help``.
COMMAND_MODULES = ["run", "map", "chips", "lm", "validate", "sweep", "nir"]


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line ``nmsim: error: <command>: <message>``,
    exit status 2 (sub-command parsers inherit the class)."""

    def error(self, message: str):
        command = self.prog.split(" ", 1)[1] if " " in self.prog else ""
        print(f"nmsim: error: {command + ': ' if command else ''}{message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser(command: str | None = None, action: str | None = None) -> argparse.ArgumentParser:
    """The ``nmsim`` parser.  ``command``: build only that sub-command's full parser (the others
    get their one help line, so an error path imports nothing heavy); ``None``: build all.
    ``action``: the sub-command's action, for commands that build heavy actions lazily."""
    parser = OneLineParser(
        prog="nmsim",
        description="Cycle-level neuromorphic chip simulator for sparse, event-based language models.",
    )
    parser.add_argument("--version", action="version", version=f"nmsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        mod = importlib.import_module(f"nmsim.commands.{name}")
        commands = command_helps(mod, name)
        if command is None or command in commands:
            if name == "lm" and command is not None:
                mod.register(sub, action=action)
            else:
                mod.register(sub)
        else:
            for cmd, text in commands.items():
                sub.add_parser(cmd, help=text, add_help=False)
    return parser


def command_helps(mod, name: str) -> dict[str, str]:
    """``{command: help line}`` of a sub-command module: its ``COMMANDS`` when it registers several
    commands, else ``{name: HELP}``."""
    return dict(getattr(mod, "COMMANDS", None) or {name: mod.HELP})


def _command_of(argv: list[str]) -> tuple[str, str | None]:
    """The sub-command named in ``argv`` ("" if none) and the word after it."""
    words = [a for a in argv if not a.startswith("-")]
    if not words:
        return "", None
    i = argv.index(words[0])
    rest = [a for a in argv[i + 1:] if not a.startswith("-")]
    return words[0], rest[0] if rest else None


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # pragma: no cover - no real stdout
        pass


def _run(argv: list[str] | None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    command, action = _command_of(argv)
    parser = build_parser(command, action)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if not argv else 2
    return int(args.func(args) or 0)


def main(argv: list[str] | None = None) -> int:
    try:
        try:
            rc = _run(argv)
        finally:
            sys.stdout.flush()  # here, not at exit: a full disk is reported, not a traceback
        return rc
    except NmsimError as exc:
        print(f"nmsim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nmsim: error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        _quiet_stdout()
        return 0
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise
        _quiet_stdout()
        where = exc.filename or "standard output"
        print(f"nmsim: error: cannot write {where}: {exc.strerror}", file=sys.stderr)
        return 2
