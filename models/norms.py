"""Normalisation layers with the original's state-dict names (SPEC §5.1).

* `MaskedBatchNorm1d`: BatchNorm1d whose statistics come from valid (non-padded) frames only. The original
  gathers the valid rows, runs `nn.BatchNorm1d` on them and scatters the result back; here the batch
  statistics are masked reductions, so there is no gather/scatter round trip (and no host sync on CUDA).
  The maths on valid rows is the same: biased batch variance for normalisation, unbiased for the running
  estimate, `running = (1 - momentum) * running + momentum * batch`.
* `BatchNormAct2d`: timm's `BatchNormAct2d(act_layer=SiLU)` = BatchNorm2d followed by SiLU, with plain
  BatchNorm2d parameter names.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm1d over the last (channel) axis of `x (..., C)` with statistics over rows where `valid` is True.

    Rows where `valid` is False are normalised with the same statistics; callers decide what to do with them
    (the feature extractor zeroes them, the conv module discards them later).
    """

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Normalise `x (..., C)`; `valid (...)` bool marks the rows that enter the batch statistics."""
        x32 = x.float()
        if self.training:
            mean, var = self._masked_stats(x32, valid)
        else:
            mean, var = self.running_mean, self.running_var
        scale = self.weight * torch.rsqrt(var + self.eps)
        shift = self.bias - mean * scale
        return torch.addcmul(shift, x32, scale).to(x.dtype)

    def _masked_stats(self, x32: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch mean and biased variance over valid rows; updates the running estimates in place."""
        if self.momentum is None:
            raise ValueError("MaskedBatchNorm1d needs a float momentum (cumulative averaging is not supported)")
        rows = x32.reshape(-1, x32.shape[-1])
        weight = valid.reshape(-1, 1).to(rows.dtype)
        count = weight.sum()
        # NOTE(original): nn.BatchNorm1d raises on fewer than 2 valid rows in training; here the count is clamped
        # (no host sync) so such a batch gives finite numbers instead of an error.
        mean = (rows * weight).sum(0) / count.clamp(min=1)
        centred = (rows - mean) * weight
        var = (centred * centred).sum(0) / count.clamp(min=1)
        with torch.no_grad():
            unbiased = var * count / (count - 1).clamp(min=1)
            self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), self.momentum)
            self.running_var.lerp_(unbiased.to(self.running_var.dtype), self.momentum)
            self.num_batches_tracked.add_(1)
        return mean, var


class BatchNormAct2d(nn.BatchNorm2d):
    """timm `BatchNormAct2d(act_layer=nn.SiLU)`: BatchNorm2d then SiLU; statistics over every position."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        return F.silu(super().forward(x))
