"""SANA-FE interoperability (SANA-FE: github.com/SLAM-Lab/SANA-FE, GPL-3.0, used as an external program;
nothing here is derived from its code).

- :mod:`.yamlio`: fast YAML reading (C loader, streamed edge and mapping lists, line numbers);
- :mod:`.attributes`: every SANA-FE attribute nmsim reads or refuses, with the reason;
- :mod:`.arch`: architecture YAML -> :class:`~nmsim.describe.chip.ChipSpec`;
- :mod:`.snn`: SNN YAML -> :class:`~nmsim.describe.network.Network`, placement and inputs (groups, mappings);
- :mod:`.edges`: the streamed, validated edge list;
- :mod:`.generate`: random integer LIF networks written in SANA-FE's format;
- :mod:`.simple_timing`: SANA-FE's analytic ``simple`` timing model, from nmsim's counts.
"""
