"""Keras twin of the mdl_2 Squeezeformer encoder (SPEC §5.1, §5.4, §9.2) for one unpadded sequence (T, D).

Without padding every mask of the PyTorch block is all-true, so the block reduces to its plain post-LN form:
MHSA -> LN -> FF -> LN -> Conv -> LN -> FF -> LN, each sub-module preceded by a learned scale/bias.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from models.keras.layers import ConvWrapper, batch_norm, built, dense, layer_norm, swish

# The per-channel affine "pre-op" of each sub-module, in the PyTorch block's state-dict order.
SCALE_BIAS_NAMES: tuple[str, ...] = ("mhsa", "ff_mhsa", "conv", "ff_conv")


def rotate_half(x: tf.Tensor) -> tf.Tensor:
    """Llama rotation along the last axis: concat(-x[..., d/2:], x[..., :d/2])."""
    half = x.shape[-1] // 2
    return tf.concat([-x[..., half:], x[..., :half]], axis=-1)


def split_heads(x: tf.Tensor, num_heads: int) -> tf.Tensor:
    """(S, D) -> (H, S, D/H)."""
    return tf.transpose(tf.reshape(x, [-1, num_heads, x.shape[-1] // num_heads]), [1, 0, 2])


def merge_heads(x: tf.Tensor) -> tf.Tensor:
    """(H, S, dh) -> (S, H*dh)."""
    return tf.reshape(tf.transpose(x, [1, 0, 2]), [-1, x.shape[0] * x.shape[2]])


def attend(q: tf.Tensor, keys: tf.Tensor, values: tf.Tensor, bias: tf.Tensor | None = None) -> tf.Tensor:
    """softmax(q k^T + bias) v per head; q (H, L, dh), keys/values (H, S, dh); q carries the 1/sqrt(dh) scale."""
    scores = tf.matmul(q, keys, transpose_b=True)
    if bias is not None:
        scores = scores + bias
    return tf.matmul(tf.nn.softmax(scores, axis=-1), values)


class LlamaAttention(keras.layers.Layer):
    """Multi-head self-attention with rotary positions, no biases, no mask (`mhsa_llama`)."""

    def __init__(self, dim: int, num_heads: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.q_proj = dense(dim, dim, use_bias=False)
        self.k_proj = dense(dim, dim, use_bias=False)
        self.v_proj = dense(dim, dim, use_bias=False)
        self.o_proj = dense(dim, dim, use_bias=False)

    def fused_kernel(self) -> tf.Tensor:
        """(D, 3D) kernel of [q, k, v] (one matmul); the 1/sqrt(dh) score scale is folded into q.

        The exported graph folds this into one constant of the same size as the three kernels.
        """
        scale = self.head_dim ** -0.5
        return tf.concat([self.q_proj.kernel * scale, self.k_proj.kernel, self.v_proj.kernel], axis=1)

    def call(self, x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor) -> tf.Tensor:
        """x (T, D); cos/sin (T, dh) rotary tables for positions 0..T-1."""
        q, k, v = [split_heads(t, self.num_heads) for t in tf.split(tf.matmul(x, self.fused_kernel()), 3, axis=-1)]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        return self.o_proj(merge_heads(attend(q, k, v)))


class FeedForwardModule(keras.layers.Layer):
    """Linear -> Swish -> Linear (dropout is a no-op at inference)."""

    def __init__(self, dim: int, expansion: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ffn1 = dense(dim, dim * expansion)
        self.ffn2 = dense(dim * expansion, dim)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return self.ffn2(swish(self.ffn1(x)))


class ConvModule(keras.layers.Layer):
    """Pointwise conv -> GLU -> depthwise conv -> BN -> Swish -> pointwise conv, on (T, D)."""

    def __init__(self, dim: int, kernel_size: int, expansion: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pw_conv_1 = ConvWrapper(built(keras.layers.Conv1D(dim * expansion, 1), (None, None, dim)))
        # NOTE(original): the PyTorch depthwise conv has no bias (the original Keras twin zeroed one).
        self.dw_conv = ConvWrapper(built(keras.layers.DepthwiseConv1D(kernel_size, padding="same", use_bias=False),
                                         (None, None, dim)))
        self.bn = batch_norm(dim)
        self.pw_conv_2 = ConvWrapper(built(keras.layers.Conv1D(dim, 1), (None, None, dim)))

    def call(self, x: tf.Tensor) -> tf.Tensor:
        value, gate = tf.split(pointwise(self.pw_conv_1, x), 2, axis=-1)
        x = depthwise_over_time(self.dw_conv, value * tf.sigmoid(gate))
        return pointwise(self.pw_conv_2, swish(self.bn(x)))


def pointwise(wrapper: ConvWrapper, x: tf.Tensor) -> tf.Tensor:
    """A kernel-size-1 Conv1D applied as the equivalent matmul on (T, C) (one FULLY_CONNECTED op in TFLite)."""
    conv = wrapper.conv
    return tf.matmul(x, conv.kernel[0]) + conv.bias


def depthwise_over_time(wrapper: ConvWrapper, x: tf.Tensor) -> tf.Tensor:
    """The 'same'-padded depthwise Conv1D of `wrapper` on (T, C), as a DEPTHWISE_CONV_2D with a runtime filter.

    Speed only: LiteRT's XNNPACK delegate takes depthwise convolutions with a constant filter and runs this
    51-tap one about 2.5x slower than the builtin kernel. Multiplying the filter by a 1 computed from the input
    shape makes it a runtime tensor, which XNNPACK leaves to the builtin kernel (same maths, ~3 ms less per
    block at 384 frames).
    """
    one = tf.cast(tf.shape(x)[0] >= 0, x.dtype)
    kernel = wrapper.conv.kernel[:, None] * one  # (k, 1, C, 1): height = time
    return tf.nn.depthwise_conv2d(x[None, :, None], kernel, strides=[1, 1, 1, 1], padding="SAME")[0, :, 0]


class SqueezeformerBlock(keras.layers.Layer):
    """Post-LN block MHSA -> LN -> FF -> LN -> Conv -> LN -> FF -> LN with per-sub-module scale/bias."""

    def __init__(self, dim: int, num_heads: int, ff_expansion: int, conv_expansion: int, conv_kernel_size: int,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        for part in SCALE_BIAS_NAMES:
            setattr(self, f"scale_{part}", self.add_weight(shape=(1, 1, dim), initializer="ones", trainable=False,
                                                           name=f"scale_{part}"))
            setattr(self, f"bias_{part}", self.add_weight(shape=(1, 1, dim), initializer="zeros", trainable=False,
                                                          name=f"bias_{part}"))
        self.mhsa_llama = LlamaAttention(dim, num_heads)
        self.ln_mhsa = layer_norm(dim)
        self.ff_mhsa = FeedForwardModule(dim, ff_expansion)
        self.ln_ff_mhsa = layer_norm(dim)
        self.conv = ConvModule(dim, conv_kernel_size, conv_expansion)
        self.ln_conv = layer_norm(dim)
        self.ff_conv = FeedForwardModule(dim, ff_expansion)
        self.ln_ff_conv = layer_norm(dim)

    def _pre(self, x: tf.Tensor, part: str) -> tf.Tensor:
        return x * getattr(self, f"scale_{part}")[0] + getattr(self, f"bias_{part}")[0]

    def call(self, x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor) -> tf.Tensor:
        x = self.ln_mhsa(x + self.mhsa_llama(self._pre(x, "mhsa"), cos, sin))
        x = self.ln_ff_mhsa(x + self.ff_mhsa(self._pre(x, "ff_mhsa")))
        x = self.ln_conv(x + self.conv(self._pre(x, "conv")))
        return self.ln_ff_conv(x + self.ff_conv(self._pre(x, "ff_conv")))


class SqueezeformerEncoder(keras.layers.Layer):
    """`num_layers` blocks applied in sequence (no input projection, no final norm)."""

    def __init__(self, dim: int, num_layers: int, num_heads: int, ff_expansion: int, conv_expansion: int,
                 conv_kernel_size: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.blocks = [SqueezeformerBlock(dim, num_heads, ff_expansion, conv_expansion, conv_kernel_size)
                       for _ in range(num_layers)]

    def call(self, x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor) -> tf.Tensor:
        for block in self.blocks:
            x = block(x, cos, sin)
        return x
