"""Encoder self-attention of mdl_2 (Llama attention with rotary positions) and helpers shared by all attentions.

Padding: the original masks score (i, j) unless both frame i and frame j are valid, so a padded query row
is fully masked and becomes a uniform average. Here only padded *keys* are masked (one `(B, 1, 1, L)` bias,
which lets `scaled_dot_product_attention` use its fused kernels). Valid query rows are identical either way
(each sees exactly the valid keys); padded rows differ, and padded rows never reach a valid row (SPEC §5.1:
keys masked in attention, inputs zeroed in the conv module, BN statistics over valid rows only).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.rope import apply_rotary


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


class LlamaAttention(nn.Module):
    """Multi-head self-attention with rotary q/k, no biases and no dropout (`mhsa_llama` in mdl_2).

    NOTE(original): mdl_2_pt ignores its attention-dropout setting: there is no dropout in this path (Q20).
    """

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        head_dim(dim, num_heads, "encoder_dim / num_heads")
        self.num_heads = num_heads
        self.q_proj = nn.Linear(dim, dim, bias=False)
        self.k_proj = nn.Linear(dim, dim, bias=False)
        self.v_proj = nn.Linear(dim, dim, bias=False)
        self.o_proj = nn.Linear(dim, dim, bias=False)

    def forward(self, x: torch.Tensor, valid: torch.Tensor,
                rope: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """x `(B, L, D)`, valid `(B, L)` bool, rope = (cos, sin) for positions 0..L-1 -> `(B, L, D)`."""
        if rope is None:
            raise ValueError("LlamaAttention needs the rotary tables (cos, sin)")
        cos, sin = rope
        q = apply_rotary(split_heads(self.q_proj(x), self.num_heads), cos, sin)
        k = apply_rotary(split_heads(self.k_proj(x), self.num_heads), cos, sin)
        v = split_heads(self.v_proj(x), self.num_heads)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=key_padding_bias(valid, q.dtype))
        return self.o_proj(merge_heads(out))
