"""Stage 1, *describe*: chip descriptions and spiking networks as plain, frozen data."""

from nmsim.describe.chip import ChipSpec, list_chips, load_chip  # noqa: F401
from nmsim.describe.network import Network, Population, Projection  # noqa: F401
from nmsim.describe.reference import run_reference, run_reference_full  # noqa: F401
