"""`cfg.compile` (train.py: `model.compile()`): the compiled model trains and decodes like the eager one."""
from __future__ import annotations

import copy

import pytest
import torch

from models import build_model
from scripts.benchmark_models import make_batch
from tests.model_helpers import tiny_cfg

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]
NO_DROPOUT = {key: 0.0 for key in ("ff_dropout", "conv_dropout", "attn_dropout", "decoder_dropout",
                                   "decoder_attention_dropout", "decoder_activation_dropout", "decoder_mask_aug")}


def test_compiled_model_matches_eager_losses_gradients_and_decoding():
    """Random parts off (the compiled graph draws its own random numbers); padded batch; state dict unchanged."""
    torch.manual_seed(0)
    eager = build_model(tiny_cfg("cfg_2", **NO_DROPOUT)).train()
    compiled = copy.deepcopy(eager)
    compiled.compile()
    assert list(compiled.state_dict()) == list(eager.state_dict())  # checkpoints keep the original's keys
    batch = make_batch(3, 48, torch.device("cpu"))
    batch["input_mask"][1, 30:] = 0
    batch["input"][1, 30:] = 0
    for model in (eager, compiled):
        model(batch)["loss"].backward()
    torch.testing.assert_close(compiled(batch)["loss"], eager(batch)["loss"], atol=1e-5, rtol=1e-5)
    for (name, a), b in zip(eager.named_parameters(), compiled.parameters()):
        torch.testing.assert_close(b.grad, a.grad, atol=1e-5, rtol=1e-4, msg=name)
    eager.eval(), compiled.eval()
    with torch.no_grad():
        assert torch.equal(compiled(batch)["generated_ids"], eager(batch)["generated_ids"])
