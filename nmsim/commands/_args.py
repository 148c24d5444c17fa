"""Shared argparse value types for the sub-commands (argparse turns their errors into exit status 2)."""

from __future__ import annotations

import argparse
from typing import Callable


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse ``type`` accepting integers ``>= minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}: {value}")
        return value

    parse.__name__ = f"int>={minimum}"
    return parse


def needs_action(command: str, actions) -> Callable:
    """A ``func`` for a command given without its action: one error line naming the choices."""

    def no_action(args: argparse.Namespace) -> int:
        from nmsim.errors import NmsimError

        raise NmsimError(f"{command}: missing action; choices: {', '.join(actions.choices)}")

    return no_action
