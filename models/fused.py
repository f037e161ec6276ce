"""Training-speed forms of three operations of the models, each the same maths as the plain form it replaces.

* `affine_linear`: `F.linear(x * scale + shift, W, b)` with the per-channel affine folded into the (small) weight
  and bias, `F.linear(x, W * scale, b + W @ shift)`, so the activations are read once instead of twice (forward)
  and the affine's backward (two passes and a reduction over the activations) becomes a product of two
  `(D_out, D_in)` matrices. Used for the Squeezeformer's learned pre-op `x * scale_<name> + bias_<name>` in front
  of a linear layer (attention projections, feed-forward `ffn1`).
* `Dropout` / `dropout`: on CPU, the keep mask comes from 31 uniform random bits per element (numpy's PCG64,
  seeded from torch's generator) compared with a threshold, ~3x faster than `bernoulli_` and finer than its
  24-bit float draw, and is kept as the scaled float mask (one multiplication forward and backward; bool tensors
  are slow on CPU). On other devices it is `F.dropout` (the fused CUDA kernel). Same distribution as
  `nn.Dropout`, a different random stream.
* `rotate_pairs`: the rotary rotation as one complex multiplication over adjacent (even, odd) pairs; callers
  permute the rows of the q/k projections so that each head's `(i, i + dh/2)` pairs of `rotate_half` become
  adjacent (q.k is unchanged by one permutation applied to both; `rope.interleave_index`).

Numbers differ from the plain forms by float rounding only; `tests/test_fused.py` checks each against its plain
form, values and gradients, and the parity tests check the whole models against the original's fixtures.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

Affine = tuple[torch.Tensor, torch.Tensor]  # per-channel (scale, shift), any shape with D_in elements each
KEEP_BITS: int = 31  # random bits per element of a CPU dropout mask


def affine_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                  pre: Affine | None = None) -> torch.Tensor:
    """`F.linear(x * scale + shift, weight, bias)` for `pre = (scale, shift)`; plain `F.linear` if `pre` is None."""
    if pre is None:
        return F.linear(x, weight, bias)
    scale, shift = (t.reshape(-1) for t in pre)
    folded_bias = torch.mv(weight, shift) if bias is None else torch.addmv(bias, weight, shift)
    return F.linear(x, weight * scale, folded_bias)


def random_bits(shape: torch.Size) -> torch.Tensor:
    """int32 tensor of `shape`, uniform over all 2^32 values, on CPU.

    numpy's PCG64 makes 64 random bits ~3x faster than torch's CPU generator (mt19937) makes 32; it is seeded from
    torch's default generator, so `torch.manual_seed` still fixes every mask.
    """
    seed = int(torch.randint(0, 2 ** 62, (), dtype=torch.int64))
    words = np.random.PCG64(seed).random_raw((shape.numel() + 1) // 2)  # uint64, two int32 each
    return torch.from_numpy(words.view(np.int32)[:shape.numel()]).view(shape)


def keep_mask(shape: torch.Size, keep_prob: float, device: torch.device) -> torch.Tensor:
    """Float32 tensor of `shape`: `1 / keep_prob` with probability `keep_prob` (to 2^-31), else 0.

    `bits < threshold` on 31 uniform bits, taken from the sign of `bits - threshold` (integer ops and one
    conversion; bool tensors are slow on CPU).
    """
    half = random_bits(shape).bitwise_right_shift_(1)  # uniform on [-2^30, 2^30): the difference cannot overflow
    keep = half.sub_(round(keep_prob * 2 ** KEEP_BITS) - 2 ** (KEEP_BITS - 1)).bitwise_right_shift_(KEEP_BITS)
    return keep.to(device=device, dtype=torch.float32).mul_(-1.0 / keep_prob)  # -1 keep, 0 drop -> 1/keep, 0


class _CpuDropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, p: float) -> torch.Tensor:
        mask = keep_mask(x.shape, 1.0 - p, x.device).to(x.dtype)
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (mask,) = ctx.saved_tensors
        return grad * mask, None


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """`F.dropout(x, p, training)`; on CPU with the fast keep mask (see the module docstring)."""
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu" or p == 1.0:
        return F.dropout(x, p, training)
    return _CpuDropout.apply(x, p)


class Dropout(nn.Dropout):
    """`nn.Dropout` (same attributes, no state) whose CPU training path is `dropout` above."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)


def rotate_pairs(x: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """Rotate each adjacent pair `(x[2i], x[2i+1])` of the last axis by the angle of `freqs[..., i]`.

    `x (..., dh)` real, `freqs (..., dh/2)` complex unit numbers broadcastable to `x`'s pairs. Computed in float32
    at least (half-precision activations are rotated in float32 and cast back).
    """
    dtype = x.dtype
    pairs = x.float() if dtype in (torch.float16, torch.bfloat16) else x
    pairs = torch.view_as_complex(pairs.unflatten(-1, (-1, 2)))
    return torch.view_as_real(pairs * freqs).flatten(-2).to(dtype)
