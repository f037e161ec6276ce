"""Keras twin of models/llama_attention.py: mdl_2's encoder self-attention with rotary positions."""
from __future__ import annotations

import keras
import tensorflow as tf

from models.attention import head_dim
from models.keras.attention import attend, merge_heads, split_heads
from models.keras.layers import dense
from models.keras.rope import apply_rotary


class LlamaAttention(keras.layers.Layer):
    """Multi-head self-attention with rotary q/k, no biases, no mask (`mhsa_llama`). Twin of
    `models.llama_attention.LlamaAttention`."""

    def __init__(self, dim: int, num_heads: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.head_dim = head_dim(dim, num_heads, "encoder_dim / num_heads")
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
        q = apply_rotary(q, cos, sin)
        k = apply_rotary(k, cos, sin)
        return self.o_proj(merge_heads(attend(q, k, v)))
