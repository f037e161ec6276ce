"""Keras twin of `mdl_2_pt.Net`'s inference path: feature extractors, encoder, forward decoder, aux head.

Works on one unpadded sequence (no batch axis). The backward decoder (`decoder2`) is training-only and has no
twin (SPEC §9.1).
"""
from __future__ import annotations

from types import SimpleNamespace

import keras
import tensorflow as tf

from data.landmarks import PART_NAMES, SELECTED_LANDMARKS, part_indices
from models.keras.decoder import Decoder
from models.keras.feature_extractor import FeatureExtractor
from models.keras.layers import dense
from models.keras.squeezeformer import SqueezeformerEncoder


def normalize_parts(x: tf.Tensor, parts: dict[str, list[int]]) -> list[tf.Tensor]:
    """Per-part standardisation of SPEC §5.3 on (T, 130, 3): one (T, n_part, 3) tensor per part.

    NOTE(original): mean/std (population) over the part's landmarks include missing (zero) landmarks; a
    landmark is "dropped" when x + y == 0 in the input (Q16) and is zeroed after normalisation.
    """
    dropped = tf.equal(x[..., 0] + x[..., 1], 0.0)  # (T, 130)
    out = []
    for name in PART_NAMES:
        part = tf.gather(x, parts[name], axis=1)
        mean = tf.reduce_mean(part, axis=1, keepdims=True)
        std = tf.sqrt(tf.reduce_mean(tf.square(part - mean), axis=1, keepdims=True))
        part = (part - mean) / std
        keep = tf.logical_and(tf.math.is_finite(part), ~tf.gather(dropped, parts[name], axis=1)[..., None])
        out.append(tf.where(keep, part, tf.zeros_like(part)))
    return out


class Net(keras.layers.Layer):
    """Inference twin of mdl_2: `encode` (T, 130, 3) -> (T, D), `aux_logits`, teacher-forced `call`."""

    def __init__(self, cfg: SimpleNamespace, landmarks: list[str] = SELECTED_LANDMARKS, **kwargs) -> None:
        super().__init__(**kwargs)
        dim = cfg.encoder_dim
        self.parts = part_indices(landmarks)
        self.feature_extractor = FeatureExtractor(len(landmarks), dim)
        for name in PART_NAMES:
            setattr(self, f"feature_extractor_{name}",
                    FeatureExtractor(len(self.parts[name]), dim // len(PART_NAMES)))
        rope_shape = (1, 1, cfg.max_len, dim // cfg.num_heads)
        self.cos = self.add_weight(shape=rope_shape, initializer="zeros", trainable=False, name="cos")
        self.sin = self.add_weight(shape=rope_shape, initializer="zeros", trainable=False, name="sin")
        self.encoder = SqueezeformerEncoder(dim, cfg.num_layers, cfg.num_heads, cfg.ff_expansion,
                                            cfg.conv_expansion, cfg.conv_kernel_size)
        self.decoder = Decoder(dim, cfg.decoder_layers, cfg.decoder_heads, cfg.decoder_ffn_dim,
                               cfg.decoder_max_positions)
        self.aux_fc = dense(dim, 1)

    def encode(self, x: tf.Tensor, parts: list[tf.Tensor] | None = None) -> tf.Tensor:
        """Globally normalised landmarks (T, 130, 3), T <= max_len -> encoder states (T, D).

        `parts` (from `normalize_parts`, seed-independent) may be passed in to share it across an ensemble.
        """
        parts = normalize_parts(x, self.parts) if parts is None else parts
        part_features = [getattr(self, f"feature_extractor_{name}")(p) for name, p in zip(PART_NAMES, parts)]
        h = self.feature_extractor(x) + tf.concat(part_features, axis=-1)
        length = tf.shape(x)[0]
        return self.encoder(h, self.cos[0, 0, :length], self.sin[0, 0, :length])

    def aux_logits(self, enc: tf.Tensor) -> tf.Tensor:
        """Confidence logit (1,) from the first frame."""
        return self.aux_fc(enc[:1])[0]

    def call(self, x: tf.Tensor, decoder_ids: tf.Tensor) -> dict[str, tf.Tensor]:
        """Encoder states, aux logit and teacher-forced forward-decoder logits (L, 63)."""
        enc = self.encode(x)
        return {"encoder_out": enc, "aux_logits": self.aux_logits(enc), "logits": self.decoder(decoder_ids, enc)}
