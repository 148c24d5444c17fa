"""Token-by-token replay of an exported language model on a simulated chip (``docs/replay.md``)."""

from nmsim.replay.core import (DEFAULT_CHIP, DEFAULT_MODEL, DEFAULT_TOKENS, ReplayConfig, ReplayResult,
                               build_replay, load_replay_chip, replay)
from nmsim.replay.sweep_point import sweep_point, validate_sweep_params, warm

__all__ = ["DEFAULT_CHIP", "DEFAULT_MODEL", "DEFAULT_TOKENS", "ReplayConfig", "ReplayResult", "build_replay",
           "load_replay_chip", "replay", "sweep_point", "validate_sweep_params", "warm"]
