"""Keras twin of models/feature_extractor.py (SPEC §5.1, §5.3, §9.2) for one unpadded sequence.

The stem's settings (`STEM_*`) are imported from the PyTorch module.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from data.landmarks import N_COORDS
from models.feature_extractor import STEM_CHANNELS, STEM_KERNEL, STEM_PADDING, STEM_STRIDE
from models.keras.layers import batch_norm, built, dense, swish


class FeatureExtractor(keras.layers.Layer):
    """Conv2d(3x3, stride (1,2)) -> BN -> SiLU -> flatten -> Linear -> BN over (T, n_landmarks, 3) inputs.
    Twin of `models.feature_extractor.FeatureExtractor`."""

    def __init__(self, n_landmarks: int, out_dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.n_landmarks = n_landmarks
        width = -(-n_landmarks // STEM_STRIDE[1])  # ceil(n / 2) output columns
        self.stem_linear = dense(width * STEM_CHANNELS, out_dim, use_bias=False)
        self.stem_bn = batch_norm(out_dim)
        # PyTorch pads both sides of both axes (STEM_PADDING); Keras 'same' would pad right-only, hence tf.pad.
        self.conv_stem = built(keras.layers.Conv2D(STEM_CHANNELS, STEM_KERNEL, strides=STEM_STRIDE, padding="valid",
                                                   use_bias=False), (None, None, None, N_COORDS))
        self.bn_conv = batch_norm(STEM_CHANNELS, rank=4)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        """(T, n, 3) -> (T, out_dim)."""
        pad_time, pad_landmarks = STEM_PADDING
        x = tf.pad(x[None], [[0, 0], [pad_time, pad_time], [pad_landmarks, pad_landmarks], [0, 0]])  # H = time
        x = swish(self.bn_conv(self.conv_stem(x)))  # (1, T, ceil(n/2), 32)
        x = tf.reshape(x, [-1, x.shape[2] * x.shape[3]])  # (T, ceil(n/2) * 32): feature index w * 32 + c
        return self.stem_bn(self.stem_linear(x))


def normalize_parts(x: tf.Tensor, parts: dict[str, list[int]]) -> dict[str, tf.Tensor]:
    """Per-part standardisation of SPEC §5.3 on (T, 130, 3): `{part: (T, n_part, 3)}` for the index lists `parts`.
    Twin of `models.feature_extractor.normalize_parts` (see there for the NOTE(original) on dropped landmarks).
    """
    dropped = tf.equal(x[..., 0] + x[..., 1], 0.0)  # (T, 130)
    out = {}
    for name, idx in parts.items():
        part = tf.gather(x, idx, axis=1)
        mean = tf.reduce_mean(part, axis=1, keepdims=True)
        std = tf.sqrt(tf.reduce_mean(tf.square(part - mean), axis=1, keepdims=True))
        part = (part - mean) / std
        keep = tf.logical_and(tf.math.is_finite(part), ~tf.gather(dropped, idx, axis=1)[..., None])
        out[name] = tf.where(keep, part, tf.zeros_like(part))
    return out
