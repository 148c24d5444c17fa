"""SANA-FE's analytic ``simple`` timing model, computed from the counts of an nmsim run.

SANA-FE 2.2.9's ``simple`` model (its ``timing_model="simple"``; described in
``docs/validation.md`` §3, learnt from its documentation and behaviour, no code
copied) charges no network time and no contention.  Per core and timestep it
sums two things: the **neuron side**, every latency the core spends producing
messages (soma access of every neuron, update of every updated neuron, spike-out
of every firing one, ``latency_message_out`` per message sent), and the
**message side**, every latency of the messages it receives
(``latency_message_in`` per message + ``latency_process_spike`` per synaptic
event).  The step takes the largest of all those sums over all cores, plus the
``latency_sync`` of the step.

All the counts are nmsim's own, per core and step: ``neuron_update_active`` /
``_idle``, ``spike``, ``packet_send``, ``packet_receive``, ``synaptic_op``;
plus the messages of input neurons attributed to the SANA-FE core they are
mapped to.  (The imported LIF neurons have ``update_on_event`` 1, so nmsim's
active updates are SANA-FE's updated neurons.)  Latencies are the architecture's, in
seconds, without nmsim's rounding to cycles.
"""

from __future__ import annotations

import numpy as np

from nmsim.describe.actions import A
from nmsim.validate.sanafe.arch import unit_costs


def latencies(snet) -> dict:
    """Per-event latencies (s) of the units the imported network uses, and the step's sync latency."""
    arch = snet.arch
    soma = unit_costs(arch, arch.unit("soma", snet.units["soma"])) if snet.units["soma"] else {}
    syn = unit_costs(arch, arch.unit("synapse", snet.units["synapse"]))
    ain = unit_costs(arch, arch.unit("axon_in", None))
    aout = unit_costs(arch, arch.unit("axon_out", None))
    return {"access": soma.get("latency_access_neuron", 0.0), "update": soma.get("latency_update_neuron", 0.0),
            "spike_out": soma.get("latency_spike_out", 0.0), "message_out": aout.get("latency_message_out", 0.0),
            "message_in": ain.get("latency_message_in", 0.0), "synapse": syn.get("latency_process_spike", 0.0),
            "sync": arch.sync_seconds(snet.tiles_in_use)}


def input_messages(snet, model, res) -> np.ndarray:
    """``int64[n_steps, C]``: messages sent by input neurons, on the core each sits on in SANA-FE."""
    from nmsim.compile.build import neuron_index

    n_steps, C = res.fired.shape[0], model.n_cores
    out = np.zeros((n_steps, C), np.int64)
    n_routes = np.diff(model.route_ptr)
    for pop, cores in snet.input_core_of.items():
        idx = neuron_index(model, pop)
        msgs = res.fired[:, idx].astype(np.int64) * n_routes[idx][None, :]
        for c in np.unique(cores).tolist():
            out[:, c] += msgs[:, cores == c].sum(axis=1)
    return out


def simple_step_times(snet, model, res) -> np.ndarray:
    """``float64[n_steps]`` seconds per step under SANA-FE's ``simple`` model."""
    lat = latencies(snet)
    C = model.n_cores
    cnt = res.counters[:, :C, :].astype(np.float64)
    active, idle = cnt[:, :, A["neuron_update_active"]], cnt[:, :, A["neuron_update_idle"]]
    sent = cnt[:, :, A["packet_send"]] + input_messages(snet, model, res)
    neuron = ((active + idle) * lat["access"] + active * lat["update"]
              + cnt[:, :, A["spike"]] * lat["spike_out"] + sent * lat["message_out"])
    message = cnt[:, :, A["packet_receive"]] * lat["message_in"] + cnt[:, :, A["synaptic_op"]] * lat["synapse"]
    return np.maximum(neuron.max(axis=1), message.max(axis=1)) + lat["sync"]
