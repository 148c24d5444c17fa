"""The first three stages in one call: describe -> map -> compile."""

from __future__ import annotations

from nmsim.compile.build import compile_model
from nmsim.compile.compiled import CompiledModel
from nmsim.describe.chip import ChipSpec, load_chip
from nmsim.describe.network import Network
from nmsim.map.placement import Placement, place


def build(chip: ChipSpec | str, net: Network, placement: str | Placement = "snake", seed: int = 0) -> CompiledModel:
    """Load ``chip`` (preset name, path or :class:`ChipSpec`), place ``net`` with the named
    strategy (or use a given :class:`Placement`) and compile; ``check()`` has passed."""
    chip = load_chip(chip)
    if not isinstance(placement, Placement):
        placement = place(chip, net, strategy=placement, seed=seed)
    return compile_model(chip, net, placement)
