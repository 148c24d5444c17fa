"""Each layout is defined once; the lists that name its entries derive from that definition."""

import numpy as np

from nmsim.compile.compiled import TIMING_FIELDS
from nmsim.compile.lif import DEFAULT_TIMING
from nmsim.describe.chip import TIMING_KEYS, TimingSpec, load_chip
from nmsim.oracle.random_cases import random_timing


def test_timing_fields_derive_from_timing_spec():
    spec_fields = [f for f in TimingSpec.__dataclass_fields__ if f != "sources"]
    assert list(TIMING_KEYS) == spec_fields == list(TIMING_FIELDS[:len(TIMING_KEYS)])
    assert list(load_chip("test-2x2").timing_cycles()) == list(TIMING_FIELDS)
    readout = {"readout_values_per_packet", "readout_flits_per_packet"}
    # the builder derives readout_flits_per_packet from flits_per_packet (one value per packet to the host)
    assert set(DEFAULT_TIMING) == set(TIMING_FIELDS) - {"readout_flits_per_packet"}
    # random_case(readout=True) draws the two readout fields from a generator of its own
    assert set(random_timing(np.random.default_rng(0), 2, 2)) == set(TIMING_FIELDS) - readout
