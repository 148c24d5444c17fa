"""NIR (Neuromorphic Intermediate Representation) import: graph -> nmsim integer network (``docs/nir.md``).

:mod:`nmsim.nir.graph` reads a ``.nir`` file and reduces it to neuron populations (LIF, IF, CubaLIF) joined
by real-valued affine maps (Affine, Linear, Conv2d and Flatten chains composed into one sparse matrix per
source population); :mod:`nmsim.nir.quantize` turns that into an integer :class:`~nmsim.describe.network.Network`
by the documented scale rules and reports the scale factors.
"""

from nmsim.nir.graph import SUPPORTED_NODES, RealNet, read_graph, reduce_graph
from nmsim.nir.quantize import QuantReport, import_nir, quantize

__all__ = ["SUPPORTED_NODES", "RealNet", "read_graph", "reduce_graph", "QuantReport", "import_nir", "quantize"]
