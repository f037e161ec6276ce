"""Squeezeformer-style encoder shared by mdl_1 and mdl_2 (SPEC §5.1).

A block is post-LN: MHSA -> LN -> FF -> LN -> Conv -> LN -> FF -> LN, each sub-module preceded by a learned
per-channel scale/bias. The attention module is injected (mdl_2: `mhsa_llama`, mdl_1: `mhsa`), so both models
share this one block. LayerNorm/FF halves only update valid frames (the original's "skip pad" trick):
padded rows keep their post-attention values.
"""
from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

from models.fused import Affine, Dropout, affine_linear
from models.norms import MaskedBatchNorm1d

SUBLAYERS: tuple[str, ...] = ("mhsa", "ff_mhsa", "conv", "ff_conv")  # each gets scale_<name> / bias_<name>
Rope = tuple[torch.Tensor, torch.Tensor]


class FeedForward(nn.Module):
    """ffn1 -> Swish -> Dropout -> ffn2 -> Dropout (no norm, no residual)."""

    def __init__(self, dim: int, expansion: int, dropout: float) -> None:
        super().__init__()
        self.ffn1 = nn.Linear(dim, dim * expansion)
        self.ffn2 = nn.Linear(dim * expansion, dim)
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor, pre: Affine | None = None) -> torch.Tensor:
        """(..., D) -> (..., D); `pre = (scale, shift)`: the input is `x * scale + shift` (`affine_linear`)."""
        h = F.silu(affine_linear(x, self.ffn1.weight, self.ffn1.bias, pre))
        return self.dropout(self.ffn2(self.dropout(h)))


def _conv_time_channels_last(x: torch.Tensor, weight: torch.Tensor, padding: int) -> torch.Tensor:
    """Depthwise 'same' conv of a (B, T, C) tensor as a (k x 1) Conv2d on its free channels-last view (B, C, T, 1).

    oneDNN computes this forward and its input gradient accurately and ~2.5x faster than Conv1d on CPU; its
    WEIGHT gradient is not accurate (see `DepthwiseConvTime`), so autograd never differentiates this for weights.
    """
    batch, frames, channels = x.shape
    # (B, C, T, 1) with the strides PyTorch reads as channels-last (the unit axis' stride included), so the conv
    # neither copies its input nor returns a channels-first output: both sides stay (B, T, C)-contiguous.
    x4 = x.contiguous().as_strided((batch, channels, frames, 1), (frames * channels, 1, channels, channels))
    out = F.conv2d(x4, weight[..., None], None, padding=(padding, 0), groups=weight.shape[0])
    return out[..., 0].transpose(1, 2)


def depthwise_weight_grad(x: torch.Tensor, grad_out: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """`dW[c, 0, j] = sum_{b,t} x_pad[b, t + j, c] * grad_out[b, t, c]` for (B, T, C) inputs, 'same' padding.

    Computed as ONE forward grouped Conv1d: each (sample, channel) row of the padded input is correlated with
    the matching row of the upstream gradient (B*C groups, a kernel of T taps, k outputs), then summed over the
    batch. Forward convolutions are accurate on oneDNN (float64 agreement ~1e-6), and this is as fast as the
    inaccurate Conv2d weight-gradient kernel it replaces.
    """
    batch, frames, channels = x.shape
    pad = kernel_size // 2
    rows = F.pad(x.permute(0, 2, 1), (pad, pad)).reshape(1, batch * channels, frames + 2 * pad)
    taps = grad_out.permute(0, 2, 1).reshape(batch * channels, 1, frames)
    return F.conv1d(rows, taps, groups=batch * channels).view(batch, channels, kernel_size).sum(0)[:, None]


class DepthwiseConvTime(torch.autograd.Function):
    """Depthwise 'same' Conv1d over time on a channels-last (B, T, C) tensor with an accurate weight gradient.

    Why not autograd through the Conv2d route: on CPU, oneDNN's depthwise weight gradient is off by 2-30%
    relative for the model's shapes (kernel 51, 384 frames; worst when the input has an offset and the upstream
    gradient is zero-mean over time, as behind a BatchNorm), while Conv1d's is accurate but ~3x slower.
    Here the forward and the input gradient use the fast Conv2d route (both accurate: the input gradient is the
    same conv with the flipped kernel) and the weight gradient uses `depthwise_weight_grad`.
    """

    @staticmethod
    @torch.amp.custom_fwd(device_type="cpu")
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        return _conv_time_channels_last(x, weight, weight.shape[-1] // 2)

    @staticmethod
    @torch.amp.custom_bwd(device_type="cpu")  # the backward convs run under the forward's autocast state
    def backward(ctx, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        x, weight = ctx.saved_tensors
        kernel_size = weight.shape[-1]
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = _conv_time_channels_last(grad_out, weight.flip(-1), kernel_size // 2)
        if ctx.needs_input_grad[1]:
            grad_w = depthwise_weight_grad(x, grad_out.contiguous(), kernel_size).to(weight.dtype)
        return grad_x, grad_w


class Conv1dWrapper(nn.Module):
    """Holds a `conv` Conv1d (the original's `pw_conv_*.conv` / `dw_conv.conv` names) applied channels-last."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 1, groups: int = 1, bias: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_ch, out_ch, kernel_size, padding=kernel_size // 2, groups=groups, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C_in) -> (B, T, C_out), same maths as the Conv1d on (B, C, T).

        A 1x1 conv runs as a linear layer. The bias-free depthwise conv runs as `DepthwiseConvTime` on CPU
        (fast and accurate) and as the plain Conv1d elsewhere (cuDNN, the original's op, under autocast too).
        """
        conv = self.conv
        if conv.kernel_size[0] == 1 and conv.groups == 1:
            return F.linear(x, conv.weight[..., 0], conv.bias)
        if x.device.type == "cpu" and conv.bias is None and conv.groups == conv.in_channels == conv.out_channels:
            return DepthwiseConvTime.apply(x, conv.weight)
        return F.conv1d(x.transpose(1, 2), conv.weight, conv.bias, padding=conv.padding,
                        groups=conv.groups).transpose(1, 2)


class ConvModule(nn.Module):
    """Pointwise conv + GLU -> depthwise conv -> masked BN -> Swish -> pointwise conv -> Dropout."""

    def __init__(self, dim: int, kernel_size: int, expansion: int, dropout: float) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"conv_kernel_size must be odd ('same' padding), got {kernel_size}")
        self.pw_conv_1 = Conv1dWrapper(dim, dim * expansion)
        self.dw_conv = Conv1dWrapper(dim, dim, kernel_size, groups=dim, bias=False)
        self.bn = MaskedBatchNorm1d(dim)
        self.pw_conv_2 = Conv1dWrapper(dim, dim)
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """x `(B, T, D)`, valid `(B, T)` bool -> `(B, T, D)` with padded frames zeroed."""
        pad = ~valid[..., None]
        # NOTE(original): pads are zeroed BEFORE pw_conv_1 (which has a bias), so GLU(bias) of padded frames
        # reaches the depthwise conv and the last kernel//2 valid frames depend on the padding (Q14).
        h = F.glu(self.pw_conv_1(x.masked_fill(pad, 0.0)), dim=-1)
        h = F.silu(self.bn(self.dw_conv(h), valid))
        h = self.dropout(self.pw_conv_2(h))
        return h.masked_fill(pad, 0.0)


class SqueezeformerBlock(nn.Module):
    """One encoder block around an injected attention module registered under `attention_name`."""

    def __init__(self, dim: int, attention: nn.Module, attention_name: str, *, ff_expansion: int,
                 ff_dropout: float, conv_kernel_size: int, conv_expansion: int, conv_dropout: float) -> None:
        super().__init__()
        for name in SUBLAYERS:  # state-dict order: scale_mhsa, bias_mhsa, scale_ff_mhsa, ...
            self.register_parameter(f"scale_{name}", nn.Parameter(torch.ones(1, 1, dim)))
            self.register_parameter(f"bias_{name}", nn.Parameter(torch.zeros(1, 1, dim)))
        self.attention_name = attention_name
        self.add_module(attention_name, attention)
        self.ln_mhsa = nn.LayerNorm(dim)
        self.ff_mhsa = FeedForward(dim, ff_expansion, ff_dropout)
        self.ln_ff_mhsa = nn.LayerNorm(dim)
        self.conv = ConvModule(dim, conv_kernel_size, conv_expansion, conv_dropout)
        self.ln_conv = nn.LayerNorm(dim)
        self.ff_conv = FeedForward(dim, ff_expansion, ff_dropout)
        self.ln_ff_conv = nn.LayerNorm(dim)

    def affine(self, name: str) -> Affine:
        """`(scale_<name>, bias_<name>)`: the learned pre-op `x * scale + bias` of sub-module `name`."""
        return getattr(self, f"scale_{name}"), getattr(self, f"bias_{name}")

    def pre_op(self, x: torch.Tensor, name: str) -> torch.Tensor:
        """`x * scale_<name> + bias_<name>` in the activation dtype (where it cannot be folded into a linear)."""
        scale, bias = self.affine(name)
        return torch.addcmul(bias.to(x.dtype), x, scale.to(x.dtype))

    def norm_ff(self, x: torch.Tensor, ln: nn.LayerNorm, ff: FeedForward, ln_ff: nn.LayerNorm, name: str,
                valid: torch.Tensor) -> torch.Tensor:
        """`LN_ff(LN(x) + FF(pre_op(LN(x))))` on valid rows; padded rows keep `x` (skip-pad semantics)."""
        v = ln(x)
        v = ln_ff(v + ff(v, pre=self.affine(name)))
        return torch.where(valid[..., None], v.to(x.dtype), x)

    def forward(self, x: torch.Tensor, valid: torch.Tensor, rope: Rope | None = None) -> torch.Tensor:
        """x `(B, L, D)`, valid `(B, L)` bool, rope tables for mdl_2's attention -> `(B, L, D)`.

        The pre-ops of the attention and the feed-forward modules are folded into their first linear layers;
        the conv module's is applied here (its padded rows are zeroed between the pre-op and the linear).
        """
        attention = self._modules[self.attention_name]
        x = x + attention(x, valid, rope, pre=self.affine("mhsa"))
        x = self.norm_ff(x, self.ln_mhsa, self.ff_mhsa, self.ln_ff_mhsa, "ff_mhsa", valid)
        x = x + self.conv(self.pre_op(x, "conv"), valid)
        return self.norm_ff(x, self.ln_conv, self.ff_conv, self.ln_ff_conv, "ff_conv", valid)


class SqueezeformerEncoder(nn.Module):
    """`blocks`: the blocks applied in sequence (no input projection, subsampling or final norm)."""

    def __init__(self, blocks: list[SqueezeformerBlock]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor, valid: torch.Tensor, rope: Rope | None = None) -> torch.Tensor:
        """x `(B, L, D)`, valid `(B, L)` bool -> `(B, L, D)`."""
        for block in self.blocks:
            x = block(x, valid, rope)
        return x


def encoder_from_cfg(cfg: SimpleNamespace, make_attention: Callable[[], nn.Module],
                     attention_name: str) -> SqueezeformerEncoder:
    """`cfg.num_layers` blocks of width `cfg.encoder_dim`; `make_attention()` builds each block's attention.

    Each attention is created right before the rest of its block, which keeps the original's order of
    random initialisation (the scale/bias parameters draw no random numbers).
    """
    blocks = []
    for _ in range(cfg.num_layers):
        attention = make_attention()
        blocks.append(SqueezeformerBlock(
            cfg.encoder_dim, attention, attention_name, ff_expansion=cfg.ff_expansion, ff_dropout=cfg.ff_dropout,
            conv_kernel_size=cfg.conv_kernel_size, conv_expansion=cfg.conv_expansion, conv_dropout=cfg.conv_dropout))
    return SqueezeformerEncoder(blocks)
