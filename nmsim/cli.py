"""``nmsim`` command line.

Each sub-command lives in ``nmsim/commands/<name>.py`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (a callable
taking the parsed ``argparse.Namespace`` and returning an exit status).
Input errors (:class:`nmsim.errors.NmsimError`) print one line and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from nmsim import __version__
from nmsim.errors import NmsimError

#: Sub-command modules, in the order they appear in ``nmsim --help``.
COMMAND_MODULES = ["run", "map", "chips", "lm", "validate", "sweep"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nmsim",
        description="Cycle-level neuromorphic chip simulator for sparse, event-based language models.",
    )
    parser.add_argument("--version", action="version", version=f"nmsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(f"nmsim.commands.{name}")
        except ModuleNotFoundError as exc:  # command not built yet
            if exc.name == f"nmsim.commands.{name}":
                continue
            raise
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    if argv is None:
        argv = sys.argv[1:]
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if not argv else 2
    try:
        return int(args.func(args) or 0)
    except NmsimError as exc:
        print(f"nmsim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nmsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 0
