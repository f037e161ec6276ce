"""Encoder self-attention of mdl_2: Llama attention with rotary positions (mdl_1's is `rel_attention.py`)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.attention import head_dim, key_padding_bias, merge_heads, split_heads
from models.rope import apply_rotary


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
