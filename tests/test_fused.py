"""models/fused.py: each training-speed form against the plain form it replaces (values, gradients, statistics)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from models.fused import Dropout, affine_linear, dropout, keep_mask, rotate_pairs
from models.rope import apply_rotary, interleave_index, rotary_freqs, rotary_tables


@pytest.mark.parametrize("with_bias", [True, False])
def test_affine_linear_is_the_linear_of_the_affine_input_values_and_gradients(with_bias):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 7, 10, generator=g, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(6, 10, generator=g, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(6, generator=g, dtype=torch.float64, requires_grad=True) if with_bias else None
    scale = torch.randn(1, 1, 10, generator=g, dtype=torch.float64, requires_grad=True)
    shift = torch.randn(1, 1, 10, generator=g, dtype=torch.float64, requires_grad=True)
    leaves = [t for t in (x, weight, bias, scale, shift) if t is not None]
    upstream = torch.randn(3, 7, 6, generator=g, dtype=torch.float64)

    def grads(out):
        return torch.autograd.grad(out, leaves, upstream)

    fused = affine_linear(x, weight, bias, (scale, shift))
    plain = F.linear(x * scale + shift, weight, bias)
    torch.testing.assert_close(fused, plain)
    for a, b in zip(grads(fused), grads(plain)):
        torch.testing.assert_close(a, b)
    assert torch.equal(affine_linear(x, weight, bias), F.linear(x, weight, bias))


def test_keep_mask_values_rate_and_seeding():
    torch.manual_seed(0)
    mask = keep_mask(torch.Size([1000, 1000]), 0.9, torch.device("cpu"))
    assert mask.dtype == torch.float32 and mask.unique().tolist() == [0.0, pytest.approx(1 / 0.9)]
    rate = (mask > 0).double().mean().item()
    assert abs(rate - 0.9) < 5 * math.sqrt(0.9 * 0.1 / 1e6)  # 5 sigma
    torch.manual_seed(0)
    assert torch.equal(keep_mask(torch.Size([1000, 1000]), 0.9, torch.device("cpu")), mask)
    assert not torch.equal(keep_mask(torch.Size([1000, 1000]), 0.9, torch.device("cpu")), mask)
    for keep in (0.5, 0.75):  # every element independent: neighbouring pairs are not correlated
        m = keep_mask(torch.Size([200_000, 2]), keep, torch.device("cpu")) > 0
        both = (m[:, 0] & m[:, 1]).double().mean().item()
        assert abs(both - keep * keep) < 5 * math.sqrt(keep * keep * (1 - keep * keep) / 200_000)


def test_dropout_forward_and_backward_use_one_mask_and_match_nn_dropout_semantics():
    x = torch.randn(4, 50, 30, requires_grad=True)
    torch.manual_seed(1)
    out = dropout(x, 0.25, True)
    kept = out != 0
    torch.testing.assert_close(out[kept], x[kept] / 0.75)
    assert 0.6 < kept.float().mean() < 0.9
    (grad,) = torch.autograd.grad(out, x, torch.ones_like(out))
    torch.testing.assert_close(grad, kept.float() / 0.75)  # the backward reuses the forward's mask
    assert dropout(x, 0.25, False) is x and dropout(x, 0.0, True) is x
    assert torch.equal(dropout(x, 1.0, True), torch.zeros_like(x))
    layer = Dropout(0.25)
    assert layer.eval()(x) is x and layer.p == 0.25 and not list(layer.state_dict())


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16])
def test_rotate_pairs_on_interleaved_rows_is_apply_rotary(dtype):
    """q (in the original row order) rotated by `apply_rotary` == permuted q rotated by `rotate_pairs`."""
    heads, head_dim, length = 3, 8, 11
    cos, sin = rotary_tables(head_dim, 16)
    x = torch.randn(2, length, heads * head_dim, dtype=torch.float64)
    order = interleave_index(heads, head_dim)
    expected = apply_rotary(x.view(2, length, heads, head_dim).transpose(1, 2), cos[:, :, :length].double(),
                            sin[:, :, :length].double())
    expected = expected.transpose(1, 2).reshape(2, length, heads * head_dim)[..., order]
    freqs = rotary_freqs(cos, sin)[0, 0, :length, None]  # (L, 1, dh/2)
    got = rotate_pairs(x[..., order].to(dtype).view(2, length, heads, head_dim), freqs)
    assert got.dtype == dtype
    tol = {torch.float64: 1e-6, torch.float32: 1e-6, torch.bfloat16: 3e-2}[dtype]
    torch.testing.assert_close(got.reshape(2, length, -1).double(), expected, atol=tol, rtol=tol)


def test_interleave_index_pairs_each_heads_halves():
    order = interleave_index(2, 6).tolist()
    assert order == [0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11]


@pytest.mark.parametrize("is_causal", [False, True])
def test_attend_with_cpu_dropout_is_sdpa_maths_with_the_dropout_mask(is_causal):
    """models.attention.attend: with dropout on CPU, softmax(q.k * scale + causal + bias) * mask @ v."""
    from models.attention import attend, key_padding_bias
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 7, 5, generator=g, dtype=torch.float64) for _ in range(3))
    valid = torch.ones(2, 7, dtype=torch.bool)
    valid[1, 5:] = False
    bias = key_padding_bias(valid, q.dtype) + torch.randn(2, 3, 7, 7, generator=g, dtype=torch.float64)
    sdpa_bias = None if is_causal else bias  # SDPA takes one or the other
    assert torch.equal(attend(q, k, v, sdpa_bias, 0.0, is_causal), F.scaled_dot_product_attention(
        q, k, v, attn_mask=sdpa_bias, is_causal=is_causal))
    torch.manual_seed(3)
    got = attend(q, k, v, bias, 0.3, is_causal, scale=0.7)
    torch.manual_seed(3)
    mask = keep_mask(torch.Size([2, 3, 7, 7]), 0.7, torch.device("cpu")).double()
    scores = q @ k.transpose(-1, -2) * 0.7 + bias
    if is_causal:
        scores = scores.masked_fill(torch.ones(7, 7, dtype=torch.bool).triu(1), float("-inf"))
    torch.testing.assert_close(got, (torch.softmax(scores, -1) * mask) @ v)
