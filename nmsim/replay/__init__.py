"""Token-by-token replay of an exported language model on a simulated chip (``docs/replay.md``).

inputs (configuration, model, tokens, chip) -> mapped (network, placement, compiled arrays) -> driver (the
step loop) -> check (bit-exactness against the golden reference) and metrics (latency, energy, traffic) ->
outputs (the run's files).
"""

from nmsim.replay.check import CHUNK, Mismatch, TokenChecker, decode_batch
from nmsim.replay.driver import replay
from nmsim.replay.inputs import (DEFAULT_CHIP, DEFAULT_DATASET, DEFAULT_MODEL, DEFAULT_SPLIT, DEFAULT_TOKENS,
                                 DEFAULT_TRACE_STEPS, ReplayConfig, load_replay_chip, load_tokens, parse_tokens,
                                 resolve_model_path)
from nmsim.replay.mapped import PLACEMENTS, Mapped, build_replay
from nmsim.replay.metrics import ReplayResult, RunRecord
from nmsim.replay.sweep_point import sweep_point, validate_sweep_params, warm

__all__ = ["CHUNK", "DEFAULT_CHIP", "DEFAULT_DATASET", "DEFAULT_MODEL", "DEFAULT_SPLIT", "DEFAULT_TOKENS",
           "DEFAULT_TRACE_STEPS", "PLACEMENTS", "Mapped", "Mismatch", "ReplayConfig", "ReplayResult", "RunRecord",
           "TokenChecker", "build_replay", "decode_batch", "load_replay_chip", "load_tokens", "parse_tokens",
           "replay", "resolve_model_path", "sweep_point", "validate_sweep_params", "warm"]
