"""Stage 5, *account*: counts x cost tables -> energy and latency (pure functions of the counters)."""

from nmsim.account.energy import (CATEGORIES, CATEGORY, HOST_CHARGED, EnergyReport, StepEnergy,  # noqa: F401
                                  account, by_category, host_mask, price_steps, static_pj)
