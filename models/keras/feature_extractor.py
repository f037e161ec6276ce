"""Keras twin of the landmark stem `FeatureExtractor` (SPEC §5.1, §9.2) for one unpadded sequence."""
from __future__ import annotations

import keras
import tensorflow as tf

from data.landmarks import COORDS
from models.keras.layers import batch_norm, built, dense, swish

STEM_CHANNELS: int = 32  # Conv2d(3 -> 32) of the stem
STEM_KERNEL: int = 3
STEM_STRIDE: tuple[int, int] = (1, 2)  # (time, landmark)
STEM_PADDING: int = 1  # PyTorch pads 1 on both sides of both axes; Keras 'same' would pad right-only


class FeatureExtractor(keras.layers.Layer):
    """Conv2d(3x3, stride (1,2)) -> BN -> SiLU -> flatten -> Linear -> BN over (T, n_landmarks, 3) inputs."""

    def __init__(self, n_landmarks: int, out_dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.n_landmarks = n_landmarks
        width = -(-n_landmarks // STEM_STRIDE[1])  # ceil(n / 2) output columns
        self.stem_linear = dense(width * STEM_CHANNELS, out_dim, use_bias=False)
        self.stem_bn = batch_norm(out_dim)
        self.conv_stem = built(keras.layers.Conv2D(STEM_CHANNELS, STEM_KERNEL, strides=STEM_STRIDE, padding="valid",
                                                   use_bias=False), (None, None, None, len(COORDS)))
        self.bn_conv = batch_norm(STEM_CHANNELS, rank=4)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        """(T, n, 3) -> (T, out_dim)."""
        pad = STEM_PADDING
        x = tf.pad(x[None], [[0, 0], [pad, pad], [pad, pad], [0, 0]])  # (1, T + 2, n + 2, 3): H = time
        x = swish(self.bn_conv(self.conv_stem(x)))  # (1, T, ceil(n/2), 32)
        x = tf.reshape(x, [-1, x.shape[2] * x.shape[3]])  # (T, ceil(n/2) * 32): feature index w * 32 + c
        return self.stem_bn(self.stem_linear(x))
