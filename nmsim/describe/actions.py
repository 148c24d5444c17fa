"""The counted actions: one column of every counter array, one row of every cost table.

The engine only counts; :mod:`nmsim.account` multiplies counts by a cost
table ordered like :data:`ACTIONS`, so new costs never need a re-run.
Counters are attributed per core as documented below (the host, which owns
the input populations, is the extra core index ``n_cores``).
"""

#: Action names, in counter-column order.  Energy tables have one entry each (pJ).
ACTIONS: tuple[str, ...] = (
    "neuron_update_active",  # per neuron update of an active neuron (at its core)
    "neuron_update_idle",  # per neuron update of an idle neuron (at its core)
    "spike",  # per neuron firing / event emitted (at the firing core)
    "packet_send",  # per packet injected into the mesh (at the sending core)
    "packet_receive",  # per packet accepted by a core's synapse unit (at the receiving core)
    "synapse_read",  # per synaptic-memory read, ceil(nnz/synapses_per_read) per row (receiving core)
    "synaptic_op",  # per nonzero synapse accumulated, weight x payload (receiving core)
    "flit_hop_east_west",  # per flit per east-west router-to-router hop (sending core)
    "flit_hop_north_south",  # per flit per north-south router-to-router hop (sending core)
    "local_delivery",  # per packet ejected from a router to a core on it (receiving core)
    "io_packet",  # per packet through the host I/O port, in or out (host column)
    "barrier",  # per timestep, chip-wide (host column; one per step)
    "multicast_replication",  # per extra packet copy made where a multicast tree branches (sending core)
    "routing_table_lookup",  # per routing-table look-up, one per router a multicast packet enters (sending core)
    "flit_hop_chip",  # per flit per chip-to-chip link hop on a board (sending core; docs/systems.md)
)

#: Actions a chip description may leave out, with the default (pJ) and its source.
DEFAULT_PJ: dict[str, tuple[float, str]] = {
    "flit_hop_chip": (0.0, "default: a single chip has no chip-to-chip links; a system description "
                           "(nmsim/describe/system.py) prices them"),
}

#: Column index of each action.
A = {name: i for i, name in enumerate(ACTIONS)}
N_ACTIONS = len(ACTIONS)
