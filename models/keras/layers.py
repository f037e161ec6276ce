"""Small Keras building blocks shared by the twin: built-at-construction layers with PyTorch's conventions.

Every factory builds its layer immediately from the known input width, so a freshly constructed twin owns
all its variables (the weight port needs them) without a dummy forward pass.
"""
from __future__ import annotations

import keras
import tensorflow as tf

TORCH_NORM_EPS: float = 1e-5  # nn.LayerNorm / nn.BatchNorm default epsilon


def layer_norm(dim: int) -> keras.layers.LayerNormalization:
    """LayerNorm over the last axis with PyTorch's epsilon."""
    layer = keras.layers.LayerNormalization(epsilon=TORCH_NORM_EPS)
    layer.build((None, dim))
    return layer


def batch_norm(dim: int, rank: int = 2) -> keras.layers.BatchNormalization:
    """Inference-mode BatchNorm over the last axis of rank-`rank` inputs with PyTorch's epsilon."""
    layer = keras.layers.BatchNormalization(epsilon=TORCH_NORM_EPS)
    layer.build((None,) * (rank - 1) + (dim,))
    return layer


def dense(in_dim: int, units: int, use_bias: bool = True) -> keras.layers.Dense:
    """Linear layer (kernel = PyTorch weight transposed)."""
    layer = keras.layers.Dense(units, use_bias=use_bias)
    layer.build((None, in_dim))
    return layer


def built(layer: keras.layers.Layer, input_shape: tuple) -> keras.layers.Layer:
    """Build any Keras layer for `input_shape` and return it."""
    layer.build(input_shape)
    return layer


def swish(x: tf.Tensor) -> tf.Tensor:
    """x * sigmoid(x) (Swish / SiLU)."""
    return x * tf.sigmoid(x)

