"""Keras twin of models/rope.py: applying the Llama rotary embedding to queries and keys.

The cos/sin tables are not rebuilt here: they are `mdl_2_pt.Net`'s `cos` / `sin` buffers (built by
`models.rope.rotary_tables`), ported as weights.
"""
from __future__ import annotations

import tensorflow as tf


def rotate_half(x: tf.Tensor) -> tf.Tensor:
    """concat(-x[..., d/2:], x[..., :d/2]) along the last axis. Twin of `models.rope.rotate_half`."""
    half = x.shape[-1] // 2
    return tf.concat([-x[..., half:], x[..., :half]], axis=-1)


def apply_rotary(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor) -> tf.Tensor:
    """Rotate `x (H, T, dh)` by the tables `cos`, `sin (T, dh)`. Twin of `models.rope.apply_rotary`."""
    return x * cos + rotate_half(x) * sin
