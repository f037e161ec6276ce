"""Helpers shared by every attention of the models: head split/merge and the key-padding bias.

Padding (mdl_2's `LlamaAttention` and the decoder): the original masks score (i, j) unless both frame i and
frame j are valid, so a padded query row is fully masked and becomes a uniform average. Here only padded *keys*
are masked (one `(B, 1, 1, L)` bias, which lets `scaled_dot_product_attention` use its fused kernels). Valid
query rows are identical either way (each sees exactly the valid keys); padded rows differ, and padded rows never
reach a valid row (SPEC §5.1: keys masked in attention, inputs zeroed in the conv module, BN statistics over valid
rows only).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from models.fused import dropout


def head_dim(dim: int, num_heads: int, setting: str) -> int:
    """`dim // num_heads`; raises ValueError naming the config `setting` when it does not divide."""
    if dim % num_heads:
        raise ValueError(f"{setting}: width {dim} is not divisible by {num_heads} heads")
    return dim // num_heads


def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """(B, L, D) -> (B, H, L, D / H)."""
    b, length, dim = x.shape
    return x.view(b, length, num_heads, dim // num_heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, H, L, dh) -> (B, L, H * dh)."""
    b, h, length, dh = x.shape
    return x.transpose(1, 2).reshape(b, length, h * dh)


def key_padding_bias(valid: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Additive bias `(B, 1, 1, L)`: 0 on valid keys, `finfo(dtype).min` on padded ones (as HF's masks)."""
    bias = torch.zeros(valid.shape, dtype=dtype, device=valid.device)
    return bias.masked_fill(~valid, torch.finfo(dtype).min)[:, None, None, :]


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor | None = None,
           dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None) -> torch.Tensor:
    """`F.scaled_dot_product_attention(q, k, v, bias, dropout_p, is_causal, scale)`, `(B, H, L, dh)` tensors.

    With dropout on CPU, the same maths spelled out with the CPU dropout of models/fused.py: SDPA's CPU kernels
    have no dropout, and its fallback draws the mask with `bernoulli_` and re-checks every row for -inf (masked
    scores here are `finfo.min`, never -inf, so no row is empty). Elsewhere (no dropout, or CUDA) SDPA itself.
    """
    if dropout_p == 0.0 or q.device.type != "cpu":
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout_p, is_causal=is_causal,
                                              scale=scale)
    scores = torch.matmul(q, k.transpose(-1, -2)).mul_(q.shape[-1] ** -0.5 if scale is None else scale)
    if is_causal:  # top-left aligned, as SDPA: query i sees keys 0..i
        future = torch.ones(scores.shape[-2:], dtype=torch.bool, device=q.device).triu_(1)
        scores.masked_fill_(future, torch.finfo(scores.dtype).min)
    if bias is not None:
        scores.add_(bias)
    return dropout(torch.softmax(scores, dim=-1), dropout_p, True) @ v
