"""Keras twin of models/attention.py: the helpers shared by the twin's attentions, on unbatched tensors.

`split_heads`, `merge_heads` and `attend` are the twins of the PyTorch helpers of the same name (without the batch
axis, dropout or `is_causal`); `head_dim` is not re-stated: the Keras layers import it from models.attention. The
twin runs on one unpadded sequence, so there is no key-padding bias; the decoder's causal and cache-slot masks are
additive biases of `MASKED_SCORE`.
"""
from __future__ import annotations

import tensorflow as tf

MASKED_SCORE: float = -1e9  # additive attention bias of hidden keys (softmax weight exactly 0 in fp32)


def split_heads(x: tf.Tensor, num_heads: int) -> tf.Tensor:
    """(S, D) -> (H, S, D/H). Twin of `models.attention.split_heads`."""
    return tf.transpose(tf.reshape(x, [-1, num_heads, x.shape[-1] // num_heads]), [1, 0, 2])


def merge_heads(x: tf.Tensor) -> tf.Tensor:
    """(H, S, dh) -> (S, H*dh). Twin of `models.attention.merge_heads`."""
    return tf.reshape(tf.transpose(x, [1, 0, 2]), [-1, x.shape[0] * x.shape[2]])


def attend(q: tf.Tensor, keys: tf.Tensor, values: tf.Tensor, bias: tf.Tensor | None = None) -> tf.Tensor:
    """softmax(q k^T + bias) v per head; q (H, L, dh), keys/values (H, S, dh); q carries the 1/sqrt(dh) scale.
    Twin of `models.attention.attend`."""
    scores = tf.matmul(q, keys, transpose_b=True)
    if bias is not None:
        scores = scores + bias
    return tf.matmul(tf.nn.softmax(scores, axis=-1), values)
