"""Landmark feature extractor (SPEC §5.1): Conv2d stem over (time x landmark), BN+SiLU, linear, masked BN."""
from __future__ import annotations

import math

import torch
from torch import nn

from data.landmarks import N_COORDS
from models.norms import BatchNormAct2d, MaskedBatchNorm1d

STEM_CHANNELS: int = 32
STEM_KERNEL: int = 3
STEM_STRIDE: tuple[int, int] = (1, 2)  # (time, landmark): halves the landmark axis, keeps every frame
STEM_PADDING: tuple[int, int] = (1, 1)


class FeatureExtractor(nn.Module):
    """`(B, T, n_landmarks, 3)` landmarks -> `(B, T, out_dim)` frame features, padded frames zeroed.

    conv_stem (3 -> 32, 3x3, stride (1, 2)) -> bn_conv (BN2d + SiLU over all positions, padding included)
    -> flatten (landmark, channel) -> stem_linear (no bias) -> stem_bn (BN1d over valid frames only).
    """

    def __init__(self, n_landmarks: int, out_dim: int, stem_bn_momentum: float = 0.95) -> None:
        super().__init__()
        in_ch = STEM_CHANNELS * math.ceil(n_landmarks / 2)
        # NOTE(original): mdl_*_pt.FeatureExtractor creates stem_linear/stem_bn before conv_stem/bn_conv; the
        # order fixes both the state-dict order and the random initialisation sequence.
        self.stem_linear = nn.Linear(in_ch, out_dim, bias=False)
        # NOTE(original): momentum 0.95 (running = 0.05 * running + 0.95 * batch), kept (Q15).
        self.stem_bn = MaskedBatchNorm1d(out_dim, momentum=stem_bn_momentum)
        self.conv_stem = nn.Conv2d(N_COORDS, STEM_CHANNELS, STEM_KERNEL, stride=STEM_STRIDE, padding=STEM_PADDING,
                                   bias=False)
        # NOTE(original): the 2D BN statistics include padded frames (Q15).
        self.bn_conv = BatchNormAct2d(STEM_CHANNELS)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """x `(B, T, n, 3)`, valid `(B, T)` bool -> `(B, T, out_dim)`."""
        b, t = x.shape[:2]
        h = self.bn_conv(self.conv_stem(x.permute(0, 3, 1, 2)))  # (B, 32, T, ceil(n/2))
        h = h.permute(0, 2, 3, 1).reshape(b, t, -1)  # feature index = landmark * 32 + channel
        h = self.stem_bn(self.stem_linear(h), valid)
        return h.masked_fill(~valid[..., None], 0.0)


def normalize_parts(x: torch.Tensor, parts: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per-part standardisation of mdl_2 (SPEC §5.3): `{part: (B, T, n_part, 3)}` for index tensors `parts`.

    Each part is standardised per (sample, frame, coordinate) over its landmarks (population std); NaN/inf
    (e.g. a fully missing hand, padded frames) become 0; landmarks "dropped" in the input become 0.
    NOTE(original): dropped = (x + y == 0), a sum rather than a both-zero test, and dropped landmarks still
    enter the part's mean/std as zeros (Q16).
    """
    dropped = (x[..., 0] + x[..., 1] == 0)[..., None]  # (B, T, n, 1)
    out = {}
    for name, idx in parts.items():
        part = x[:, :, idx]
        mean = part.mean(dim=2, keepdim=True)
        std = part.std(dim=2, unbiased=False, keepdim=True)
        part = torch.nan_to_num((part - mean) / std, nan=0.0, posinf=0.0, neginf=0.0)
        out[name] = part.masked_fill(dropped[:, :, idx], 0.0)
    return out
