"""Relative-position self-attention of mdl_1 (Transformer-XL style, SPEC §5.5).

`score[i, j] = ((q_i + u) . k_j + (q_i + v) . P_{i-j}) / sqrt(dh)`, where `P_r` is the projected sinusoid of
relative position r. The positional term is passed to `scaled_dot_product_attention` as an additive bias,
together with the key-padding bias (see models/attention.py for why key-only masking is exact on valid rows).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from models.attention import attend, head_dim, key_padding_bias, merge_heads, split_heads
from models.fused import Affine, Dropout, affine_linear

SINUSOID_BASE: float = 10000.0


def relative_sinusoids(length: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """Sinusoids of relative positions `length-1, ..., 0, ..., -(length-1)`: `(1, 2*length - 1, dim)` float32.

    Even dims `sin(p * w_k)`, odd dims `cos(p * w_k)`, `w_k = exp(-2k ln(10000) / dim)` (the slice of the
    original's 9999-row `RelPositionalEncoding.pe` that a length-`length` input uses).
    """
    positions = torch.arange(length - 1, -length, -1, dtype=torch.float32, device=device)[:, None]
    div_term = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32, device=device)
                         * -(math.log(SINUSOID_BASE) / dim))
    pe = torch.zeros(2 * length - 1, dim, device=device)
    pe[:, 0::2] = torch.sin(positions * div_term)
    pe[:, 1::2] = torch.cos(positions * div_term)
    return pe[None]


def relative_shift(scores: torch.Tensor) -> torch.Tensor:
    """`(..., L, 2L)` scores against relative positions `L-1 .. -(L-1)` (+ one ignored column) -> `(..., L, L)`.

    Output `[i, j]` = input `[i, L-1-i+j]`, i.e. the score of relative position `i - j`. Pure view arithmetic:
    in the flattened `(L, 2L)` matrix that element sits at `(L-1) + i*(2L-1) + j`.
    """
    length = scores.shape[-2]
    scores = scores.contiguous()
    # one as_strided view (not flatten/slice/unflatten/slice): its backward is one zero-fill and one copy
    return scores.as_strided((*scores.shape[:-1], length), (*scores.stride()[:-2], 2 * length - 1, 1),
                             scores.storage_offset() + length - 1)


class RelPositionalEncoding(nn.Module):
    """Parameter-free sinusoid table of relative positions (not in the state dict, as the original's `pe`)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, length: int, device: torch.device) -> torch.Tensor:
        """`(1, 2*length - 1, dim)` sinusoids for relative positions `length-1 .. -(length-1)`."""
        return relative_sinusoids(length, self.dim, device)


class RelativeMultiHeadAttention(nn.Module):
    """Transformer-XL attention with content bias `u_bias`, position bias `v_bias` and dropout on the weights."""

    def __init__(self, dim: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = head_dim(dim, num_heads, "encoder_dim / num_heads")
        self.dropout_p = dropout
        self.query_proj = nn.Linear(dim, dim)
        self.key_proj = nn.Linear(dim, dim)
        self.value_proj = nn.Linear(dim, dim)
        self.pos_proj = nn.Linear(dim, dim, bias=False)
        self.u_bias = nn.Parameter(nn.init.xavier_uniform_(torch.empty(num_heads, self.head_dim)))
        self.v_bias = nn.Parameter(nn.init.xavier_uniform_(torch.empty(num_heads, self.head_dim)))
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, valid: torch.Tensor, pos_embedding: torch.Tensor,
                pre: Affine | None = None) -> torch.Tensor:
        """x `(B, L, D)`, valid `(B, L)` bool, pos_embedding `(1, 2L-1, D)` -> `(B, L, D)`.

        `pre = (scale, shift)`: the input is `x * scale + shift` (folded into the projections, `affine_linear`);
        q, k and v come from one GEMM.
        """
        batch, length, dim = x.shape
        projections = (self.query_proj, self.key_proj, self.value_proj)
        qkv = affine_linear(x, torch.cat([m.weight for m in projections]), torch.cat([m.bias for m in projections]),
                            pre).view(batch, length, 3, self.num_heads, self.head_dim)
        q, k, v = (t.transpose(1, 2) for t in qkv.unbind(2))
        p = split_heads(self.pos_proj(pos_embedding.to(x.dtype)), self.num_heads)  # (1, H, 2L-1, dh)
        p = F.pad(p, (0, 0, 0, 1))  # one zero row: lets relative_shift work on views only
        pos_scores = relative_shift((q + self.v_bias[:, None].to(q.dtype)) @ p.transpose(-1, -2))
        scale = 1.0 / math.sqrt(self.head_dim)
        bias = pos_scores * scale + key_padding_bias(valid, pos_scores.dtype)
        out = attend(q + self.u_bias[:, None].to(q.dtype), k, v, bias, scale=scale,
                     dropout_p=self.dropout_p if self.training else 0.0)
        return self.out_proj(merge_heads(out))


class MultiHeadedSelfAttentionModule(nn.Module):
    """mdl_1's `mhsa`: relative-position attention followed by dropout (no LayerNorm inside)."""

    def __init__(self, dim: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.positional_encoding = RelPositionalEncoding(dim)
        self.attention = RelativeMultiHeadAttention(dim, num_heads, dropout)
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor, valid: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None = None,
                pre: Affine | None = None) -> torch.Tensor:
        """x `(B, L, D)`, valid `(B, L)` bool -> `(B, L, D)`; `rope` is ignored (relative positions instead)."""
        pos_embedding = self.positional_encoding(x.shape[1], x.device)
        return self.dropout(self.attention(x, valid, pos_embedding, pre))
