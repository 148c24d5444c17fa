"""Stage 5, *account*: counts x cost tables -> energy and latency (pure functions of the counters)."""

from nmsim.account.energy import HOST_CHARGED, EnergyReport, account, account_chip, host_mask  # noqa: F401
from nmsim.account.static import LINES, PowerParams  # noqa: F401
