"""Import SANA-FE architecture and SNN YAML files into nmsim (needs ``pyyaml`` only, not ``sanafe``).

The implementation lives in :mod:`nmsim.validate.sanafe` (YAML reading, attribute tables,
architecture import, SNN import); this module keeps the public names in one place.
"""

from nmsim.validate.sanafe.arch import (DEFAULT_CLOCK_HZ, ImportNotes, SanafeArch, Unit, import_arch,  # noqa: F401
                                        parse_arch, to_chip, unit_costs)
from nmsim.validate.sanafe.snn import SanafeNet, import_snn  # noqa: F401
from nmsim.validate.sanafe.yamlio import expand_name, read_yaml, split_ref  # noqa: F401

__all__ = ["DEFAULT_CLOCK_HZ", "ImportNotes", "SanafeArch", "SanafeNet", "Unit", "expand_name", "import_arch", "import_snn",
           "parse_arch", "read_yaml", "split_ref", "to_chip", "unit_costs"]
