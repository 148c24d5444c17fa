"""Every SANA-FE attribute nmsim knows, and what it does with it: read, or refuse with a reason.

One table per place an attribute can appear.  An attribute in no table is
refused as unknown; one in a ``*_REFUSED`` table is refused with its reason.
Messages name the attribute, the group / unit / edge and the reason (see
``docs/validation.md`` §3 for the full mapping).
"""

from __future__ import annotations

UNIT_KINDS = ("axon_in", "synapse", "dendrite", "soma", "axon_out")
HOPS = ("north", "east", "south", "west")

# ----------------------------------------------------------------- architecture

ARCH_KEYS = {"topology", "width", "height", "link_buffer_size", "sync_model", "latency_sync"}
TILE_KEYS = {f"{q}_{d}_hop" for q in ("energy", "latency") for d in HOPS}
#: core attributes read with one accepted value each: ``{name: (accepted value, reason other values are refused)}``
CORE_VALUES = {
    "buffer_position": ("soma", "nmsim holds each step's synaptic input in a buffer before the soma (read at the next "
                                "step); SANA-FE 2.2.9 with the buffer before the dendrite or the axon out fires "
                                "other neurons (checked)"),
    "buffer_inside_unit": ("false", "SANA-FE 2.2.9 aborts its LIF soma with a buffer inside the unit (checked); nmsim "
                                    "models the buffer before the soma"),
}
CORE_KEYS = {"max_neurons_supported"} | set(CORE_VALUES)
LOG_KEYS = {"log_energy", "log_latency"}  # logging switches, no effect on the model
UNIT_KEYS = {
    "axon_in": {"energy_message_in", "latency_message_in"},
    "synapse": {"model", "energy_process_spike", "latency_process_spike"},
    "dendrite": {"model", "energy_update", "latency_update", "update_every_timestep"},
    "soma": {"model", "energy_access_neuron", "latency_access_neuron", "energy_update_neuron",
             "latency_update_neuron", "energy_spike_out", "latency_spike_out"},
    "axon_out": {"energy_message_out", "latency_message_out"},
}
#: unit models nmsim reproduces (the first is SANA-FE's default)
UNIT_MODELS = {"synapse": ("current_based",), "dendrite": ("accumulator",),
               "soma": ("leaky_integrate_fire", "input")}
#: unit models nmsim cannot reproduce, with the reason
MODEL_REFUSED = {
    ("soma", "truenorth"): "TrueNorth soma model (leak towards zero, stochastic thresholds, reverse threshold) is not "
                           "reproduced; nmsim's soma is an integer LIF",
    ("dendrite", "accumulator_with_delay"): "delayed delivery: nmsim delivers every synaptic event at the next "
                                            "timestep",
    ("dendrite", "multitap"): "multi-compartment (multi-tap) dendrite is not modelled",
    ("dendrite", "taps"): "multi-compartment (multi-tap) dendrite is not modelled",
    ("synapse", "conv"): "convolutional synapse memory is not modelled (write the edges out)",
}
SOMA_COST_KEYS = ("energy_access_neuron", "latency_access_neuron", "energy_update_neuron",
                  "latency_update_neuron", "energy_spike_out", "latency_spike_out")

# ----------------------------------------------------------------- SNN: neurons

#: LIF soma attributes nmsim reproduces
LIF_KEYS = {"threshold", "bias", "leak_decay", "reset_mode", "reset"}
NEURON_HW_KEYS = {"soma_hw_name", "synapse_hw_name", "dendrite_hw_name"}
NEURON_LOG_KEYS = {"log_spikes", "log_potential", "log_energy", "log_latency"}
#: accepted when false (nmsim updates idle neurons at the idle cost, as SANA-FE does without the flag)
FORCE_KEYS = {"force_update", "force_soma_update", "force_dendrite_update", "force_synapse_update"}
NEURON_KEYS = LIF_KEYS | NEURON_HW_KEYS | NEURON_LOG_KEYS | FORCE_KEYS | {"spikes", "model"}
NEURON_REFUSED = {
    "reverse_threshold": "nmsim's LIF has no negative (reverse) threshold",
    "reverse_reset": "nmsim's LIF has no negative (reverse) threshold or reset",
    "reverse_reset_mode": "nmsim's LIF has no negative (reverse) threshold or reset",
    "input_decay": "current-based input decay is not modelled: nmsim's LIF reads each step's input once",
    "noise": "stochastic soma noise is not reproduced (nmsim is deterministic)",
    "leak_towards_zero": "TrueNorth-style leak is not modelled",
    "force_potential": "forcing the potential is not modelled",
    "poisson": "rate / Poisson inputs are not reproduced (give 'spikes' lists of 0/1 per step)",
    "rate": "rate / Poisson inputs are not reproduced (give 'spikes' lists of 0/1 per step)",
    "delay": "delays are not modelled: nmsim delivers every synaptic event at the next timestep",
    "taps": "multi-compartment dendrites are not modelled",
    "time_constants": "multi-compartment dendrites are not modelled",
    "space_constants": "multi-compartment dendrites are not modelled",
    "plugin": "C++ plugin models cannot run in nmsim",
}
#: nested unit sections of a neuron's attributes (``soma: {threshold: 2}``)
NEURON_SECTIONS = ("soma", "dendrite", "synapse")

# ----------------------------------------------------------------- SNN: edges and mappings

EDGE_KEYS = {"weight", "type", "synapse_hw_name", "synapse", "dendrite"}
EDGE_REFUSED = {
    "delay": "synaptic delays are not modelled: nmsim delivers every synaptic event at the next timestep",
    "dendrite_hw_name": "a dendrite unit per edge is not modelled; set dendrite_hw_name on the target group",
    "plugin": "C++ plugin models cannot run in nmsim",
}
EDGE_TYPES = ("dense", "sparse")
MAP_KEYS = {"core", "soma", "synapse", "dendrite"}


def unknown(attr: str, where: str, known) -> str:
    return (f"{where}: unsupported attribute {attr!r}: not an attribute nmsim reproduces (known: "
            f"{', '.join(sorted(known))})")


def refusal(attr: str, where: str, table: dict, known) -> str:
    """The one-line reason for refusing ``attr`` at ``where``."""
    if attr in table:
        return f"{where}: unsupported attribute {attr!r}: {table[attr]}"
    return unknown(attr, where, known)
