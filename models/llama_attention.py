"""Encoder self-attention of mdl_2: Llama attention with rotary positions (mdl_1's is `rel_attention.py`)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.attention import head_dim, key_padding_bias, merge_heads
from models.fused import Affine, affine_linear, rotate_pairs
from models.rope import interleave_index, rotary_freqs


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
        # q/k row order of `rotate_pairs` (derived, so not in the state dict: the weights keep the original order)
        self.register_buffer("qk_order", interleave_index(num_heads, dim // num_heads), persistent=False)

    def forward(self, x: torch.Tensor, valid: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None = None,
                pre: Affine | None = None) -> torch.Tensor:
        """x `(B, L, D)`, valid `(B, L)` bool, rope = (cos, sin) for positions 0..L-1 -> `(B, L, D)`.

        `pre = (scale, shift)`: the input is `x * scale + shift` (folded into the projections, `affine_linear`).
        q, k and v come from one GEMM; q and k rows are in `interleave_index` order so that the rotary embedding
        (`apply_rotary` in the original order) is one complex multiplication, `rotate_pairs`.
        """
        if rope is None:
            raise ValueError("LlamaAttention needs the rotary tables (cos, sin)")
        batch, length, dim = x.shape
        heads = self.num_heads
        order = self.qk_order
        weight = torch.cat((self.q_proj.weight[order], self.k_proj.weight[order], self.v_proj.weight))
        qkv = affine_linear(x, weight, None, pre).view(batch, length, 3, heads, dim // heads)
        freqs = rotary_freqs(*rope)[0, 0, :length, None, None]  # (L, 1, 1, dh/2)
        qk, v = qkv.split((2, 1), dim=2)  # split/unbind, not indexing: their backward is a cat, not zeros + copies
        q, k = (t.transpose(1, 2) for t in rotate_pairs(qk, freqs).unbind(2))
        v = v.squeeze(2).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=key_padding_bias(valid, q.dtype))
        return self.o_proj(merge_heads(out))
