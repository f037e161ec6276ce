"""Keras twin of mdl_2: weight port completeness and PyTorch <-> Keras parity (float32)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("tensorflow")

from data.tokenizer import EOS_ID  # noqa: E402
from export.parity import (compare_all, graph_outputs, module_parity, parity_lengths, parity_sequences,  # noqa: E402
                           torch_outputs)
from inference.torch_graph import predict_sequence  # noqa: E402
from inference.tflite_graph import build_inference_module  # noqa: E402
from models.keras.mdl_2_pt import Net  # noqa: E402
from models.keras.port import PortError, port_weights  # noqa: E402
from tests.export_helpers import EXPORT_MAX_LEN, random_net, raw_frames  # noqa: E402
from tests.model_helpers import tiny_cfg  # noqa: E402

pytestmark = pytest.mark.tf
ATOL = 1e-4


@pytest.fixture(scope="module")
def cfg():
    torch.set_num_threads(1)
    return tiny_cfg("cfg_2", max_len=EXPORT_MAX_LEN)


@pytest.fixture(scope="module")
def pair(cfg):
    """A random PyTorch net and its ported Keras twin."""
    net = random_net(cfg, seed=0)
    twin = Net(cfg)
    report = port_weights(net, twin)
    return net, twin, report


def test_port_uses_every_tensor_exactly_once(pair):
    net, twin, report = pair
    keys = set(net.state_dict())
    exported = {k for k in keys if not k.startswith("decoder2.")}
    assert sorted(report.used) == sorted(exported)  # each key once, none missing
    assert set(report.excluded) == keys - exported and report.excluded
    assert len(report.assigned) == len(twin.weights)


def test_port_rejects_a_wrong_shape(cfg):
    net = random_net(cfg, seed=0)
    cfg_wrong = tiny_cfg("cfg_2", max_len=EXPORT_MAX_LEN)
    cfg_wrong.decoder_ffn_dim = 48
    with pytest.raises(PortError, match=r"decoder\.decoder\.layers\.0\.fc1\.weight.*shape"):
        port_weights(net, Net(cfg_wrong))


def test_port_rejects_a_keras_variable_without_tensor(cfg):
    twin = Net(cfg)
    twin.add_weight(shape=(3,), initializer="zeros", name="extra")
    with pytest.raises(PortError, match="received no PyTorch tensor"):
        port_weights(random_net(cfg, seed=0), twin)


def test_every_module_matches_pytorch(pair, cfg):
    net, twin, _ = pair
    frames = raw_frames(40, seed=3)
    frames[:, [i for i in range(frames.shape[1]) if i % 130 in range(40, 61)]] = np.nan  # no left hand
    diffs = module_parity(net, twin, frames, cfg.max_len)
    assert {"feature_extractor_lhand", "encoder.blocks.1", "decoder (cached steps)", "aux_fc"} <= set(diffs)
    assert max(diffs.values()) < ATOL, diffs


def test_port_changes_the_output(pair, cfg):
    """Guard against a vacuous parity check: an un-ported twin differs from PyTorch."""
    net, _, _ = pair
    diffs = module_parity(net, Net(cfg), raw_frames(30, seed=4), cfg.max_len)
    assert diffs["encoder (whole)"] > 1e-2


@pytest.fixture(scope="module")
def ensemble(cfg):
    nets = [random_net(cfg, seed) for seed in (1, 2)]
    twins = []
    for net in nets:
        twin = Net(cfg)
        port_weights(net, twin)
        twins.append(twin)
    return nets, build_inference_module(twins, cfg.max_len)


def test_whole_graph_matches_pytorch_pipeline(ensemble, cfg):
    nets, module = ensemble
    lengths = parity_lengths(cfg.max_len)
    rows = compare_all(parity_sequences(lengths, seed=5), torch_outputs(nets, cfg.max_len),
                       lambda f: graph_outputs(module, f))
    for c in rows:
        assert c.same_string and c.max_abs < ATOL, c
        assert c.shapes[1][0] >= 1


def test_low_confidence_and_eos_first_paths(cfg):
    """Both fallbacks of SPEC 9.3 agree with PyTorch: dummy rows, and a single EOS row (never zero rows)."""
    low, eos_first = random_net(cfg, seed=7), random_net(cfg, seed=8)
    with torch.no_grad():
        low.aux_fc.bias.fill_(-10.0)
        final = eos_first.decoder.decoder.layer_norm
        final.weight.zero_()
        final.bias.fill_(1.0)
        eos_first.decoder.lm_head.weight[EOS_ID].fill_(10.0)
    frames = raw_frames(30, seed=9)
    for net, expected_rows in ((low, 11), (eos_first, 1)):
        twin = Net(cfg)
        port_weights(net, twin)
        graph = graph_outputs(build_inference_module([twin], cfg.max_len), frames)
        reference = predict_sequence([net], frames, cfg.max_len)
        assert graph.shape == reference.rows.shape == (expected_rows, 63)
        np.testing.assert_allclose(graph, reference.rows, atol=ATOL)
    assert reference.phrase == ""
