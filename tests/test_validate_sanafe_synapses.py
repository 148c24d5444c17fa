"""Zero-weight synapses and repeated (source, target) synapses: stored, read and counted like any other."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from nmsim.describe.network import Network
from nmsim.describe.reference import run_reference
from nmsim.errors import NetworkError


def _net(weights) -> Network:
    net = Network("zd")
    net.add_input("in", 2)
    net.add_lif("out", 3, threshold=1, reset="zero")
    net.connect("in", "out", weights)
    return net


def test_network_keeps_what_the_caller_gives():
    # COO with a stored 0 and two entries for (0, 1): three synapses from input 0, none merged or dropped
    w = sp.coo_matrix(([2, 0, 3, 1], ([0, 0, 0, 1], [1, 2, 1, 0])), shape=(2, 3))
    q = _net(w).projections[0]
    assert q.nnz == 4 and q.weights.indptr.tolist() == [0, 3, 4]
    assert q.weights.indices.tolist() == [1, 1, 2, 0] and q.weights.data.tolist() == [2, 3, 0, 1]  # stable order
    assert q.weights.toarray().tolist() == [[0, 5, 0], [1, 0, 0]]  # what the synapses add up to
    # CSR given with duplicates and explicit zeros: the same
    c = sp.csr_matrix((np.array([0, 2, 2]), np.array([2, 1, 1]), np.array([0, 3, 3])), shape=(2, 3))
    assert _net(c).projections[0].nnz == 3
    # a dense matrix has no stored zeros: its non-zero entries are the synapses (pruned weights stay absent)
    assert _net(np.array([[0, 4, 0], [0, 0, 0]])).projections[0].nnz == 1
    with pytest.raises(NetworkError, match="padding zeros"):
        _net(sp.dia_matrix(np.ones((2, 3))))


def test_save_load_keeps_zero_and_repeated_synapses(tmp_path):
    w = sp.coo_matrix(([2, 0, 3], ([0, 0, 0], [1, 2, 1])), shape=(2, 3))
    back = Network.load(_net(w).save(tmp_path / "n.npz"))
    q = back.projections[0]
    assert q.nnz == 3 and q.weights.data.tolist() == [2, 3, 0]


def test_engine_reads_and_counts_them():
    from nmsim.describe.actions import A
    from nmsim.describe.chip import load_chip
    from nmsim.map.placement import place_manual
    from nmsim.pipeline import build
    from nmsim.sim import simulate
    from nmsim.validate.microbench import host_array

    w = sp.coo_matrix(([2, 0, 3, 0], ([0, 0, 0, 1], [1, 2, 1, 0])), shape=(2, 3))
    net = _net(w)
    chip = load_chip("test-2x2")
    pl = place_manual(chip, net, {"out": np.zeros(3, np.int64)})
    model = build(chip, net, placement=pl)
    assert model.row_ptr[-1] == 4  # four stored synapses
    ins = {"in": np.array([[1, 1], [1, 0], [0, 1]])}
    res = simulate(model, 3, host_array(model, ins, 3))
    syn = res.counters[:, :, A["synaptic_op"]].sum(axis=1)
    # by hand: step 0 both inputs fire (3 + 1 synapses), step 1 input 0 (3), step 2 input 1 (1)
    assert syn.tolist() == [4, 3, 1]
    # same spikes as the reference, which sums the weights: out.1 gets 2 + 3 = 5 > 1 at steps 1 and 2
    ref = run_reference(net, ins, 3)["out"]
    from nmsim.compile.build import gather
    assert (gather(model, res.fired, "out") == ref).all()
    assert ref[:, 1].tolist() == [0, 1, 1] and ref[:, 2].sum() == 0 and ref[:, 0].sum() == 0


def test_pruned_lm_weights_stay_absent():
    """The LM builder hands the network only the model file's stored (non-zero) weights: a pruned weight is
    an absent synapse, and the network's synapse count is the golden reference's count of stored weights."""
    from nmsim.lm.golden import GoldenModel
    from nmsim.lm.modelfile import load_model
    from nmsim.paths import project_root
    from nmsim.replay.network import build_lm_network

    g = GoldenModel(load_model(project_root() / "workloads" / "models" / "ptb-egru-tiny.nmm"))
    lm = build_lm_network(g)
    stored = sum(int(np.count_nonzero(L.W_data)) + int(np.count_nonzero(L.R_data)) for L in g.layers)
    assert stored == sum(int(L.W_colnnz.sum() + L.R_colnnz.sum()) for L in g.layers)  # the file stores no zeros
    assert lm.net.nnz == stored + int(np.count_nonzero(g.emb))  # + the tied decoder's non-zero embedding weights
    assert all((q.weights.data != 0).all() for q in lm.net.projections)


@pytest.mark.parametrize("flag,active", [(0, 2), (1, 6)])
def test_update_on_event_counts_zero_weight_deliveries(flag, active):
    """By hand: in.0 fires at steps 0 and 1, in.1 at steps 0 and 2; out.1 gets 2 + 3 = 5 each time in.0
    fires (2 active updates either way); out.2 (from in.0) and out.0 (from in.1) get only zero weights:
    idle under the plain rule, 2 + 2 more active updates with update_on_event = 1 (SANA-FE's soma rule)."""
    from nmsim.describe.actions import A
    from nmsim.describe.chip import load_chip
    from nmsim.map.placement import place_manual
    from nmsim.pipeline import build
    from nmsim.sim import simulate
    from nmsim.validate.microbench import host_array

    w = sp.coo_matrix(([2, 0, 3, 0], ([0, 0, 0, 1], [1, 2, 1, 0])), shape=(2, 3))
    net = Network("zd")
    net.add_input("in", 2)
    net.add_lif("out", 3, threshold=1, reset="zero", update_on_event=flag)
    net.connect("in", "out", w)
    chip = load_chip("test-2x2")
    model = build(chip, net, placement=place_manual(chip, net, {"out": np.zeros(3, np.int64)}))
    ins = {"in": np.array([[1, 1], [1, 0], [0, 1], [0, 0]])}
    res = simulate(model, 4, host_array(model, ins, 4))
    assert int(res.counters[:, :-1, A["neuron_update_active"]].sum()) == active
    assert int(res.counters[:, :-1, A["neuron_update_active"]].sum()
               + res.counters[:, :-1, A["neuron_update_idle"]].sum()) == 4 * 3  # every LIF updates every step
