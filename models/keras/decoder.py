"""Keras twin of models/decoder.py: the forward decoder (HF Speech2TextDecoder + lm_head, SPEC §5.2) with a
fixed-size KV cache. Classes and attribute names are the PyTorch module's; `POSITION_TABLE_EXTRA_ROWS` is imported
from it.

One code path serves teacher-forced decoding (parity checks) and single-token cached steps (the TFLite
greedy loop): a decoder layer receives its self-attention keys/values either for the whole sequence or as a
cache of `max_steps` slots into which the current token's key/value is written. Shapes are unbatched:
tokens (L,), hidden states (L, D), keys/values (H, S, dh).
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import keras
import tensorflow as tf

from data.tokenizer import PAD_ID, VOCAB_SIZE
from models.attention import head_dim
from models.decoder import POSITION_TABLE_EXTRA_ROWS
from models.keras.attention import MASKED_SCORE, attend, merge_heads, split_heads
from models.keras.layers import built, dense, layer_norm

POSITION_OFFSET: int = PAD_ID + 1  # HF Speech2Text: position of the i-th non-pad token is padding_idx + i


class BartAttention(keras.layers.Layer):
    """BART attention: q/k/v/out projections with bias, q scaled by dh^-0.5, no dropout at inference. Twin of
    `models.decoder.BartAttention`."""

    def __init__(self, dim: int, num_heads: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.head_dim = head_dim(dim, num_heads, "encoder_dim / decoder_heads")
        self.k_proj = dense(dim, dim)
        self.v_proj = dense(dim, dim)
        self.q_proj = dense(dim, dim)
        self.out_proj = dense(dim, dim)

    def key_values(self, states: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """(S, D) -> keys and values (H, S, dh)."""
        return split_heads(self.k_proj(states), self.num_heads), split_heads(self.v_proj(states), self.num_heads)

    def call(self, h: tf.Tensor, keys: tf.Tensor, values: tf.Tensor, bias: tf.Tensor | None = None) -> tf.Tensor:
        """Queries from h (L, D) attend to keys/values (H, S, dh); bias broadcasts to (H, L, S)."""
        q = split_heads(self.q_proj(h) * (self.head_dim ** -0.5), self.num_heads)
        return self.out_proj(merge_heads(attend(q, keys, values, bias)))


class DecoderLayer(keras.layers.Layer):
    """Pre-LN layer: self-attention, cross-attention, ReLU FFN, each with a residual. Twin of
    `models.decoder.DecoderLayer`."""

    def __init__(self, dim: int, num_heads: int, ffn_dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.self_attn = BartAttention(dim, num_heads)
        self.self_attn_layer_norm = layer_norm(dim)
        self.encoder_attn = BartAttention(dim, num_heads)
        self.encoder_attn_layer_norm = layer_norm(dim)
        self.fc1 = dense(dim, ffn_dim)
        self.fc2 = dense(ffn_dim, dim)
        self.final_layer_norm = layer_norm(dim)

    def call(self, h: tf.Tensor, cross_kv: tuple[tf.Tensor, tf.Tensor], self_bias: tf.Tensor,
             cache: tuple[tf.Tensor, tf.Tensor] | None = None,
             slot: tf.Tensor | None = None) -> tuple[tf.Tensor, tuple[tf.Tensor, tf.Tensor]]:
        """Returns the new hidden state and the self-attention keys/values (the updated cache).

        Without `cache` the keys/values are h's own (teacher forcing, `self_bias` causal). With `cache`
        (H, S, dh) zero-initialised slots, h is one token whose key/value is added at the one-hot `slot`
        (1, S, 1); `self_bias` hides the slots after the current step.
        """
        r = self.self_attn_layer_norm(h)
        keys, values = self.self_attn.key_values(r)
        if cache is not None:
            keys, values = cache[0] + keys * slot, cache[1] + values * slot
        h = h + self.self_attn(r, keys, values, self_bias)
        h = h + self.encoder_attn(self.encoder_attn_layer_norm(h), *cross_kv)
        h = h + self.fc2(tf.nn.relu(self.fc1(self.final_layer_norm(h))))
        return h, (keys, values)


class SinusoidalPositionalEmbedding(keras.layers.Layer):
    """The (max_positions + 2, D) sinusoidal table, a ported weight (`embed_positions.weights` in PyTorch). Twin of
    `models.decoder.SinusoidalPositionalEmbedding`."""

    # `weights` is a reserved Keras property: the PyTorch tensor of that name is stored as `table`.
    TORCH_NAME_ALIASES = {"weights": "table"}

    def __init__(self, num_positions: int, dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.table = self.add_weight(shape=(num_positions, dim), initializer="zeros", trainable=False, name="table")
        self.built = True

    def call(self, positions: tf.Tensor) -> tf.Tensor:
        return tf.gather(self.table, positions)


class Speech2TextDecoder(keras.layers.Layer):
    """Token embedding * sqrt(D) + sinusoidal positions -> layers -> final LayerNorm. Twin of
    `models.decoder.Speech2TextDecoder`."""

    def __init__(self, dim: int, num_layers: int, num_heads: int, ffn_dim: int, max_positions: int,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.embed_scale = math.sqrt(dim)
        self.embed_tokens = built(keras.layers.Embedding(VOCAB_SIZE, dim), (None,))
        self.embed_positions = SinusoidalPositionalEmbedding(max_positions + POSITION_TABLE_EXTRA_ROWS, dim)
        self.layers = [DecoderLayer(dim, num_heads, ffn_dim) for _ in range(num_layers)]
        self.layer_norm = layer_norm(dim)

    def call(self, ids: tf.Tensor, position_embeddings: tf.Tensor, cross_kvs: list, self_bias: tf.Tensor,
             caches: list | None = None, slot: tf.Tensor | None = None) -> tuple[tf.Tensor, list]:
        """ids (L,) and their position embeddings (L, D) -> hidden (L, D) and per-layer self keys/values."""
        h = self.embed_tokens(ids) * self.embed_scale + position_embeddings
        new_caches = []
        for i, layer in enumerate(self.layers):
            h, kv = layer(h, cross_kvs[i], self_bias, None if caches is None else caches[i], slot)
            new_caches.append(kv)
        return self.layer_norm(h), new_caches


def position_ids(ids: tf.Tensor) -> tf.Tensor:
    """PAD_ID + running count of non-pad tokens; pads get PAD_ID (HF `create_position_ids_from_input_ids`). Twin
    of `models.decoder.position_ids`."""
    not_pad = tf.cast(tf.not_equal(ids, PAD_ID), ids.dtype)
    return tf.cumsum(not_pad) * not_pad + PAD_ID


def causal_bias(length: tf.Tensor) -> tf.Tensor:
    """(L, L) additive bias hiding future tokens."""
    ones = tf.ones([length, length])
    return (ones - tf.linalg.band_part(ones, -1, 0)) * MASKED_SCORE


class TransformerDecoder(keras.layers.Layer):
    """The forward decoder wrapper: `decoder` (Speech2TextDecoder) + `lm_head` (Linear D -> 63, no bias). Twin of
    `models.decoder.TransformerDecoder` (the dropout and init settings are left out: the twin only runs inference).
    """

    def __init__(self, dim: int, num_layers: int, num_heads: int, ffn_dim: int, max_positions: int,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.decoder = Speech2TextDecoder(dim, num_layers, num_heads, ffn_dim, max_positions)
        self.lm_head = dense(dim, VOCAB_SIZE, use_bias=False)

    @classmethod
    def from_cfg(cls, cfg: SimpleNamespace) -> TransformerDecoder:
        """Decoder of width `cfg.encoder_dim` with the `cfg.decoder_*` settings, as the PyTorch `from_cfg`."""
        return cls(cfg.encoder_dim, cfg.decoder_layers, cfg.decoder_heads, cfg.decoder_ffn_dim,
                   cfg.decoder_max_positions)

    def cross_key_values(self, enc: tf.Tensor) -> list[tuple[tf.Tensor, tf.Tensor]]:
        """Encoder keys/values (H, T, dh) of every layer's cross-attention, computed once per sequence."""
        return [layer.encoder_attn.key_values(enc) for layer in self.decoder.layers]

    def call(self, ids: tf.Tensor, enc: tf.Tensor) -> tf.Tensor:
        """Teacher-forced logits (L, 63) for decoder inputs ids (L,) over encoder states enc (T, D)."""
        positions = self.decoder.embed_positions(position_ids(ids))
        h, _ = self.decoder(ids, positions, self.cross_key_values(enc), causal_bias(tf.shape(ids)[0]))
        return self.lm_head(h)

    def empty_cache(self, max_steps: int) -> list[tuple[tf.Tensor, tf.Tensor]]:
        """Zero self-attention key/value slots (H, max_steps, dh) for every layer."""
        attn = self.decoder.layers[0].self_attn
        zeros = tf.zeros([attn.num_heads, max_steps, attn.head_dim])
        return [(zeros, zeros) for _ in self.decoder.layers]

    def step(self, token: tf.Tensor, step: tf.Tensor, n_tokens: tf.Tensor, cross_kvs: list, cache: list,
             max_steps: int) -> tuple[tf.Tensor, list, tf.Tensor]:
        """One greedy step: token (1,) fed at decoder step `step` after `n_tokens` non-PAD tokens.

        Returns logits (1, 63), the updated cache and the new non-PAD count. Positions follow HF's rule
        (PAD_ID + running count of non-PAD tokens, PAD_ID for a PAD token), as PyTorch's cached decoder.
        NOTE(original): the original TF export used PAD_ID + 1 + step instead, which differs only once a PAD
        token was generated before the EOS.
        """
        slots = tf.range(max_steps)
        slot = tf.reshape(tf.cast(tf.equal(slots, step), tf.float32), [1, max_steps, 1])
        self_bias = tf.cast(slots > step, tf.float32) * MASKED_SCORE  # (S,), broadcasts over heads and queries
        not_pad = tf.cast(tf.not_equal(token, PAD_ID), n_tokens.dtype)
        n_tokens = n_tokens + not_pad
        # Rows PAD_ID .. PAD_ID + max_steps of the table: a static slice, so only these rows reach the model file.
        table = self.decoder.embed_positions.table[PAD_ID:POSITION_OFFSET + max_steps]
        position_embedding = tf.gather(table, n_tokens * not_pad)  # row 0 = position PAD_ID
        h, cache = self.decoder(token, position_embedding, cross_kvs, self_bias, cache, slot)
        return self.lm_head(h), cache, n_tokens
