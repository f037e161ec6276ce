"""Keras twin of models/squeezeformer.py (SPEC §5.1, §5.4, §9.2) for one unpadded sequence (T, D).

Without padding every mask of the PyTorch block is all-true, so the block reduces to its plain post-LN form:
MHSA -> LN -> FF -> LN -> Conv -> LN -> FF -> LN, each sub-module preceded by a learned scale/bias. Classes,
attribute names and constructor parameters are the PyTorch module's (the dropout settings are left out: the
twin only runs inference); `SUBLAYERS` is imported from it.
"""
from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import keras
import tensorflow as tf

from models.keras.layers import batch_norm, built, dense, layer_norm, swish
from models.squeezeformer import SUBLAYERS


class FeedForward(keras.layers.Layer):
    """Linear -> Swish -> Linear (dropout is a no-op at inference). Twin of `models.squeezeformer.FeedForward`."""

    def __init__(self, dim: int, expansion: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ffn1 = dense(dim, dim * expansion)
        self.ffn2 = dense(dim * expansion, dim)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return self.ffn2(swish(self.ffn1(x)))


class Conv1dWrapper(keras.layers.Layer):
    """Holds one convolution as attribute `conv` (the original's `pw_conv_*.conv` / `dw_conv.conv` names), applied
    on (T, C). Twin of `models.squeezeformer.Conv1dWrapper`: a kernel-size-1 conv runs as a matmul, the
    depthwise one as `depthwise_over_time`."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 1, groups: int = 1, bias: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if groups == 1:
            conv = keras.layers.Conv1D(out_ch, kernel_size, use_bias=bias)
        elif groups == in_ch == out_ch:
            conv = keras.layers.DepthwiseConv1D(kernel_size, padding="same", use_bias=bias)
        else:
            raise ValueError(f"a Conv1d with groups={groups} has no Keras twin")
        self.conv = built(conv, (None, None, in_ch))
        self.built = True

    def call(self, x: tf.Tensor) -> tf.Tensor:
        """(T, C_in) -> (T, C_out)."""
        if isinstance(self.conv, keras.layers.DepthwiseConv1D):
            return depthwise_over_time(self.conv, x)
        return pointwise(self.conv, x)


def pointwise(conv: keras.layers.Conv1D, x: tf.Tensor) -> tf.Tensor:
    """A kernel-size-1 Conv1D applied as the equivalent matmul on (T, C) (one FULLY_CONNECTED op in TFLite)."""
    return tf.matmul(x, conv.kernel[0]) + conv.bias


def depthwise_over_time(conv: keras.layers.DepthwiseConv1D, x: tf.Tensor) -> tf.Tensor:
    """The 'same'-padded depthwise Conv1D `conv` on (T, C), as a DEPTHWISE_CONV_2D with a runtime filter.

    Speed only: LiteRT's XNNPACK delegate takes depthwise convolutions with a constant filter and runs this
    51-tap one about 2.5x slower than the builtin kernel. Multiplying the filter by a 1 computed from the input
    shape makes it a runtime tensor, which XNNPACK leaves to the builtin kernel (same maths, ~3 ms less per
    block at 384 frames).
    """
    one = tf.cast(tf.shape(x)[0] >= 0, x.dtype)
    kernel = conv.kernel[:, None] * one  # (k, 1, C, 1): height = time
    return tf.nn.depthwise_conv2d(x[None, :, None], kernel, strides=[1, 1, 1, 1], padding="SAME")[0, :, 0]


class ConvModule(keras.layers.Layer):
    """Pointwise conv -> GLU -> depthwise conv -> BN -> Swish -> pointwise conv, on (T, D). Twin of
    `models.squeezeformer.ConvModule`."""

    def __init__(self, dim: int, kernel_size: int, expansion: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pw_conv_1 = Conv1dWrapper(dim, dim * expansion)
        # NOTE(original): the PyTorch depthwise conv has no bias (the original Keras twin zeroed one).
        self.dw_conv = Conv1dWrapper(dim, dim, kernel_size, groups=dim, bias=False)
        self.bn = batch_norm(dim)
        self.pw_conv_2 = Conv1dWrapper(dim, dim)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        value, gate = tf.split(self.pw_conv_1(x), 2, axis=-1)
        x = self.dw_conv(value * tf.sigmoid(gate))
        return self.pw_conv_2(swish(self.bn(x)))


class SqueezeformerBlock(keras.layers.Layer):
    """Post-LN block MHSA -> LN -> FF -> LN -> Conv -> LN -> FF -> LN with per-sub-module scale/bias, around an
    injected attention layer registered under `attention_name`. Twin of `models.squeezeformer.SqueezeformerBlock`."""

    def __init__(self, dim: int, attention: keras.layers.Layer, attention_name: str, *, ff_expansion: int,
                 conv_kernel_size: int, conv_expansion: int, **kwargs) -> None:
        super().__init__(**kwargs)
        for name in SUBLAYERS:
            setattr(self, f"scale_{name}", self.add_weight(shape=(1, 1, dim), initializer="ones", trainable=False,
                                                           name=f"scale_{name}"))
            setattr(self, f"bias_{name}", self.add_weight(shape=(1, 1, dim), initializer="zeros", trainable=False,
                                                          name=f"bias_{name}"))
        self.attention_name = attention_name
        setattr(self, attention_name, attention)
        self.ln_mhsa = layer_norm(dim)
        self.ff_mhsa = FeedForward(dim, ff_expansion)
        self.ln_ff_mhsa = layer_norm(dim)
        self.conv = ConvModule(dim, conv_kernel_size, conv_expansion)
        self.ln_conv = layer_norm(dim)
        self.ff_conv = FeedForward(dim, ff_expansion)
        self.ln_ff_conv = layer_norm(dim)

    def pre_op(self, x: tf.Tensor, name: str) -> tf.Tensor:
        """`x * scale_<name> + bias_<name>`."""
        return x * getattr(self, f"scale_{name}")[0] + getattr(self, f"bias_{name}")[0]

    def call(self, x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor) -> tf.Tensor:
        """x (T, D), rotary tables cos/sin (T, dh) -> (T, D)."""
        attention = getattr(self, self.attention_name)
        x = self.ln_mhsa(x + attention(self.pre_op(x, "mhsa"), cos, sin))
        x = self.ln_ff_mhsa(x + self.ff_mhsa(self.pre_op(x, "ff_mhsa")))
        x = self.ln_conv(x + self.conv(self.pre_op(x, "conv")))
        return self.ln_ff_conv(x + self.ff_conv(self.pre_op(x, "ff_conv")))


class SqueezeformerEncoder(keras.layers.Layer):
    """`blocks` applied in sequence (no input projection, no final norm). Twin of
    `models.squeezeformer.SqueezeformerEncoder`."""

    def __init__(self, blocks: list[SqueezeformerBlock], **kwargs) -> None:
        super().__init__(**kwargs)
        self.blocks = list(blocks)

    def call(self, x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor) -> tf.Tensor:
        for block in self.blocks:
            x = block(x, cos, sin)
        return x


def encoder_from_cfg(cfg: SimpleNamespace, make_attention: Callable[[], keras.layers.Layer],
                     attention_name: str) -> SqueezeformerEncoder:
    """`cfg.num_layers` blocks of width `cfg.encoder_dim`. Twin of `models.squeezeformer.encoder_from_cfg`."""
    return SqueezeformerEncoder([
        SqueezeformerBlock(cfg.encoder_dim, make_attention(), attention_name, ff_expansion=cfg.ff_expansion,
                           conv_kernel_size=cfg.conv_kernel_size, conv_expansion=cfg.conv_expansion)
        for _ in range(cfg.num_layers)])
