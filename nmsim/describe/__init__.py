"""Stage 1, *describe*: chip descriptions and spiking networks as plain, frozen data."""
