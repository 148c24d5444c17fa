"""Stage 2, *map*: neurons onto cores (placement) within the chip's capacities."""

from nmsim.map.placement import Placement, STRATEGIES, place, place_manual, snake_order, traffic  # noqa: F401
