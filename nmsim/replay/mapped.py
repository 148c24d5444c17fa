"""The language model mapped and compiled onto a chip: the network, its placement and the compiled arrays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nmsim.describe.chip import ChipSpec
from nmsim.errors import MappingError
from nmsim.replay.network import LMNetwork, build_lm_network

PLACEMENTS = ("snake", "partition")


@dataclass
class Mapped:
    golden: Any
    lm: LMNetwork
    chip: ChipSpec
    placement: Any
    model: Any           #: CompiledModel
    stage_index: list    #: compiled neuron indices per stage (stage 0 = host emb)
    layer_index: list    #: compiled indices of each layer's units, in unit order
    readout_index: np.ndarray | None


def build_replay(golden, chip: ChipSpec, placement: str = "snake", decoder: str = "chip", seed: int = 0) -> Mapped:
    """Build the LM network of ``golden``, place it on ``chip`` and compile it."""
    from nmsim.compile.build import compile_model, neuron_index
    from nmsim.map.placement import place

    if placement not in PLACEMENTS:
        raise MappingError(f"placement {placement!r}; choices: {', '.join(PLACEMENTS)}")
    lm = build_lm_network(golden, decoder=decoder)
    try:
        pl = place(chip, lm.net, strategy=placement, seed=seed)
    except MappingError as exc:
        sizes = (f"model {lm.net.name!r}: {lm.net.n_neurons - lm.emb_dim} neurons on cores "
                 f"(layers {lm.hidden}{', readout ' + str(lm.vocab_size) if lm.readout else ''}), "
                 f"{lm.net.nnz} synapses")
        raise MappingError(f"{exc} [{sizes}]") from None
    cm = compile_model(chip, lm.net, pl)
    layer_index = [neuron_index(cm, p) for p in lm.layer_pops]
    readout_index = neuron_index(cm, lm.readout) if lm.readout else None
    stage_index = [neuron_index(cm, lm.emb)] + layer_index + ([readout_index] if lm.readout else [])
    return Mapped(golden, lm, chip, pl, cm, stage_index, layer_index, readout_index)
