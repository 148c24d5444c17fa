"""Stage 5, *account*: counts x cost tables -> energy and latency (pure functions of the counters)."""

from nmsim.account.energy import (CATEGORIES, CATEGORY, HOST_CHARGED, EnergyReport, StepEnergy,  # noqa: F401
                                  account, account_chip, by_category, host_mask, price_steps, price_steps_chip,
                                  static_pj)
from nmsim.account.static import LINES, PowerParams, busy_cycles, busy_vector  # noqa: F401
from nmsim.account.timestep import TimestepStats, apply_timestep  # noqa: F401
