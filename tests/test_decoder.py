"""models/decoder.py and models/decoding.py: position ids and table, cached step == teacher forcing, greedy decoders
agree, the decoder labels (shift, input masking, backward-decoder reversal)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from data.tokenizer import EOS_ID, MASK_ID, MAX_DECODE_STEPS, MAX_PHRASE_LEN, PAD_ID, SOS_ID, VOCAB_SIZE, tokenize
from models.decoder import (TransformerDecoder, mask_decoder_inputs, position_ids, reversed_labels, shift_right,
                            sinusoidal_table)
from models.decoding import cut_at_first_eos, generate_ids, greedy_generate, greedy_generate_cached
from tests.model_helpers import tiny_cfg

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

DIM = 32


def make_decoder(seed: int = 0, init_std: float = 0.02) -> TransformerDecoder:
    """Tiny eval-mode decoder (width 32)."""
    torch.manual_seed(seed)
    decoder = TransformerDecoder.from_cfg(tiny_cfg("cfg_2", decoder_init_std=init_std))
    decoder.eval()
    return decoder


def encoder_output(lengths=(9, 5, 1, 7, 3, 8), max_len: int = 9, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random encoder output and its valid-frame mask."""
    g = torch.Generator().manual_seed(seed)
    valid = torch.arange(max_len)[None] < torch.tensor(lengths)[:, None]
    return torch.randn(len(lengths), max_len, DIM, generator=g), valid


def test_sinusoidal_table_layout():
    table = sinusoidal_table(1026, DIM, PAD_ID)
    assert table.shape == (1026, DIM) and (table[PAD_ID] == 0).all()
    p, k, half = 70, 3, DIM // 2
    w = math.exp(-k * math.log(10000) / (half - 1))
    assert table[p, k].item() == pytest.approx(math.sin(p * w), abs=1e-5)
    assert table[p, half + k].item() == pytest.approx(math.cos(p * w), abs=1e-5)
    decoder = make_decoder()
    assert "decoder.embed_positions.weights" in decoder.state_dict()  # persistent, under the original's key
    assert torch.equal(decoder.decoder.embed_positions.weights, table)


def test_position_ids_count_non_pad_tokens():
    ids = torch.tensor([[SOS_ID, 5, PAD_ID, 7, MASK_ID, PAD_ID]])
    assert position_ids(ids).tolist() == [[60, 61, PAD_ID, 62, 63, PAD_ID]]
    assert position_ids(ids[:, 3:], torch.tensor([2])).tolist() == [[62, 63, PAD_ID]]


def test_decoder_init_follows_hf():
    decoder = make_decoder()
    emb = decoder.decoder.embed_tokens.weight
    assert (emb[PAD_ID] == 0).all() and 0.015 < emb.std() < 0.025
    assert (decoder.decoder.layers[0].fc1.bias == 0).all()
    assert decoder.lm_head.weight.abs().max() <= 1 / math.sqrt(DIM)  # PyTorch default init, not N(0, 0.02)


def test_cached_steps_equal_teacher_forcing_with_pad_and_mask_tokens():
    decoder = make_decoder()
    enc, valid = encoder_output()
    tokens = torch.tensor([[SOS_ID, 4, PAD_ID, 9, MASK_ID, EOS_ID, 3]] * 6)
    tokens[1, 3] = PAD_ID
    with torch.no_grad():
        full = decoder.logits(tokens, enc, valid)
        cache = decoder.start_cache(enc, valid)
        for t in range(tokens.shape[1]):
            step, cache = decoder.step(tokens[:, t], cache)
            torch.testing.assert_close(step, full[:, t], rtol=1e-5, atol=1e-5)
    assert cache.n_tokens.tolist() == [6, 5, 6, 6, 6, 6]


def eos_prone_decoder(seed: int) -> TransformerDecoder:
    """A random decoder (large weights, boosted EOS logit) whose rows finish at different steps, some never."""
    decoder = make_decoder(seed, init_std=0.5)
    with torch.no_grad():
        decoder.lm_head.weight[EOS_ID] *= 2.0
    return decoder


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cached_greedy_equals_original_greedy(seed):
    decoder = eos_prone_decoder(seed)
    enc, valid = encoder_output(seed=seed)
    with torch.no_grad():
        original = greedy_generate(decoder, enc, valid)
        cached = greedy_generate_cached(decoder, enc, valid)
        reference_logits = decoder.logits(original[:, :-1], enc, valid)  # = the original's step logits
    assert cached.ids.shape == (6, MAX_DECODE_STEPS + 1)
    assert torch.equal(cut_at_first_eos(original), cut_at_first_eos(cached.ids))
    for row in range(6):
        eos = (cached.ids[row] == EOS_ID).nonzero()
        n = int(eos[0]) if len(eos) else MAX_DECODE_STEPS
        assert torch.equal(cached.ids[row, :n + 1], original[row, :n + 1])
        assert (cached.ids[row, n + 1:] == PAD_ID).all()
        torch.testing.assert_close(cached.logits[row, :n], reference_logits[row, :n], rtol=1e-5, atol=1e-5)


def test_rows_finish_at_different_steps():
    decoder = eos_prone_decoder(1)
    enc, valid = encoder_output()
    with torch.no_grad():
        ids = greedy_generate_cached(decoder, enc, valid).ids
    eos_steps = [int((row == EOS_ID).int().argmax()) for row in ids]
    assert len(set(eos_steps) - {0}) > 1 and 0 in eos_steps  # rows stop at different steps, one never stops


def test_original_greedy_stops_when_every_row_has_eos():
    decoder = eos_prone_decoder(0)
    enc, valid = encoder_output()
    with torch.no_grad():
        ids = greedy_generate(decoder, enc, valid)
    assert ids.shape[1] <= MAX_DECODE_STEPS + 1 and (ids[:, 0] == SOS_ID).all()
    assert (ids == EOS_ID).any(1).all() or ids.shape[1] == MAX_DECODE_STEPS + 1
    assert not (ids[:, :-1] == EOS_ID).any(1).all()  # it did not run past the step where all rows finished


def test_cut_at_first_eos():
    ids = torch.full((3, MAX_DECODE_STEPS + 1), 7)
    ids[:, 0] = SOS_ID
    ids[0, 4] = EOS_ID
    ids[2, MAX_DECODE_STEPS] = EOS_ID  # EOS in the last column: 32 characters survive
    out = cut_at_first_eos(ids)
    assert out.shape == (3, MAX_PHRASE_LEN)
    assert out[0].tolist() == [SOS_ID, 7, 7, 7] + [PAD_ID] * (MAX_PHRASE_LEN - 4)
    assert (out[1] == PAD_ID).all()  # no EOS: empty row, SOS included (Q9)
    assert out[2].tolist() == [SOS_ID] + [7] * (MAX_PHRASE_LEN - 1)


def test_generate_ids_methods_agree_and_reject_unknown():
    decoder = eos_prone_decoder(1)
    enc, valid = encoder_output()
    with torch.no_grad():
        assert torch.equal(generate_ids(decoder, enc, valid, "original"), generate_ids(decoder, enc, valid, "cached"))
    with pytest.raises(ValueError, match="val_decoder"):
        generate_ids(decoder, enc, valid, "beam")


def test_teacher_forcing_is_causal_and_uses_shifted_labels():
    decoder = make_decoder()
    enc, valid = encoder_output()
    labels = torch.randint(0, VOCAB_SIZE - 4, (6, 8))
    with torch.no_grad():
        logits = decoder(enc, labels, valid)
        changed = labels.clone()
        changed[:, 5:] = 3
        torch.testing.assert_close(decoder(enc, changed, valid)[:, :6], logits[:, :6])
    assert torch.equal(shift_right(labels)[:, 0], torch.full((6,), SOS_ID))
    assert torch.equal(shift_right(labels)[:, 1:], labels[:, :-1])


def test_backward_labels_are_reversed_phrase_then_eos_padded_with_zero():
    phrases = ["abc", "hello", "xy"]
    ids = torch.tensor(np.stack([tokenize(p)[0] for p in phrases]))
    mask = torch.tensor(np.stack([tokenize(p)[1] for p in phrases]))
    expected = [[tokenize(p[::-1])[0][i] for i in range(len(p) + 1)] for p in phrases]
    width = max(len(p) for p in phrases) + 1
    expected = torch.tensor([row + [0] * (width - len(row)) for row in expected])
    out = reversed_labels(ids, mask)
    assert torch.equal(out, expected)
    assert out[1, -1] == EOS_ID and out[0, 3:].tolist() == [EOS_ID, 0, 0]


def test_decoder_masking_rate():
    torch.manual_seed(0)
    labels = torch.full((400, 33), 5)
    rate = (mask_decoder_inputs(labels, 0.2) == MASK_ID).float().mean()
    assert 0.18 < rate < 0.22
