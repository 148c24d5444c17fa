"""Stage 5, *account*: counts x cost tables -> energy and latency (pure functions of the counters)."""

from nmsim.account.energy import HOST_CHARGED, EnergyReport, account, host_mask  # noqa: F401
