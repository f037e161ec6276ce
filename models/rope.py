"""Llama-style rotary position embedding (SPEC §5.4), as transformers 4.32's `LlamaRotaryEmbedding`."""
from __future__ import annotations

import torch

ROPE_BASE: float = 10000.0


def rotary_tables(head_dim: int, max_positions: int, base: float = ROPE_BASE) -> tuple[torch.Tensor, torch.Tensor]:
    """`cos`, `sin` tables of shape `(1, 1, max_positions, head_dim)` (float32).

    `inv_freq_k = 1 / base^(2k / head_dim)`, `freqs[t, k] = t * inv_freq_k`, `emb = concat(freqs, freqs)`.
    """
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2).float() / head_dim))
    t = torch.arange(max_positions, dtype=inv_freq.dtype)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos()[None, None], emb.sin()[None, None]


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """`concat(-x2, x1)` where `x1, x2` are the two halves of the last axis."""
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate `x (B, H, L, dh)` by the tables of positions 0..L-1 (`cos`, `sin` broadcastable to it)."""
    return x * cos.to(x.dtype) + rotate_half(x) * sin.to(x.dtype)


def interleave_index(num_heads: int, head_dim: int) -> torch.Tensor:
    """Row order of a `(num_heads * head_dim, D)` q/k projection that puts each head's `rotate_half` pairs
    `(i, i + head_dim/2)` next to each other: `[0, h, 1, h + 1, ...]` per head (h = head_dim/2), for `rotate_pairs`.
    """
    half = head_dim // 2
    within = torch.stack((torch.arange(half), torch.arange(half) + half), dim=1).flatten()
    return (torch.arange(num_heads)[:, None] * head_dim + within).flatten()


def rotary_freqs(cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """The `(..., L, head_dim)` cos/sin tables as complex unit numbers `(..., L, head_dim/2)` (`rotate_pairs`)."""
    half = cos.shape[-1] // 2
    return torch.complex(cos[..., :half].float(), sin[..., :half].float())
