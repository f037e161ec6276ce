"""Keras twin of models/mdl_2_pt.py (same file name, so the twin is found at the same path under keras/): `Net`'s
inference path, feature extractors, encoder, forward decoder, aux head.

Works on one unpadded sequence (no batch axis). The backward decoder (`decoder2`) is training-only and has no
twin (SPEC §9.1).
"""
from __future__ import annotations

from types import SimpleNamespace

import keras
import tensorflow as tf

from data.landmarks import PART_NAMES, SELECTED_LANDMARKS, part_indices
from models.keras.decoder import TransformerDecoder
from models.keras.feature_extractor import FeatureExtractor, normalize_parts
from models.keras.layers import dense
from models.keras.llama_attention import LlamaAttention
from models.keras.squeezeformer import encoder_from_cfg


class Net(keras.layers.Layer):
    """Inference twin of `models.mdl_2_pt.Net`: `encode` (T, 130, 3) -> (T, D), `aux_logits`, teacher-forced
    `call`."""

    def __init__(self, cfg: SimpleNamespace, landmarks: list[str] = SELECTED_LANDMARKS, **kwargs) -> None:
        super().__init__(**kwargs)
        dim, heads = cfg.encoder_dim, cfg.num_heads
        self.parts = part_indices(list(landmarks))
        self.feature_extractor = FeatureExtractor(len(landmarks), dim)
        for name in PART_NAMES:  # feature_extractor_lhand, _rhand, _face, _pose
            setattr(self, f"feature_extractor_{name}",
                    FeatureExtractor(len(self.parts[name]), dim // len(PART_NAMES)))
        rope_shape = (1, 1, cfg.max_len, dim // heads)  # ported from the PyTorch buffers (models.rope.rotary_tables)
        self.cos = self.add_weight(shape=rope_shape, initializer="zeros", trainable=False, name="cos")
        self.sin = self.add_weight(shape=rope_shape, initializer="zeros", trainable=False, name="sin")
        self.encoder = encoder_from_cfg(cfg, lambda: LlamaAttention(dim, heads), "mhsa_llama")
        self.decoder = TransformerDecoder.from_cfg(cfg)
        self.aux_fc = dense(dim, 1)

    def rope(self, length: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """cos/sin tables (length, dh) for positions 0..length-1."""
        return self.cos[0, 0, :length], self.sin[0, 0, :length]

    def encode(self, x: tf.Tensor, parts: dict[str, tf.Tensor] | None = None) -> tf.Tensor:
        """Globally normalised landmarks (T, 130, 3), T <= max_len -> encoder states (T, D).

        `parts` (from `normalize_parts`, seed-independent) may be passed in to share it across an ensemble.
        """
        parts = normalize_parts(x, self.parts) if parts is None else parts
        part_features = [getattr(self, f"feature_extractor_{name}")(parts[name]) for name in PART_NAMES]
        # NOTE(original): the full-body extractor sees the globally normalised input, not the part-normalised one.
        h = self.feature_extractor(x) + tf.concat(part_features, axis=-1)
        return self.encoder(h, *self.rope(tf.shape(x)[0]))

    def aux_logits(self, enc: tf.Tensor) -> tf.Tensor:
        """Confidence logit (1,) from the first frame."""
        return self.aux_fc(enc[:1])[0]

    def call(self, x: tf.Tensor, decoder_ids: tf.Tensor) -> dict[str, tf.Tensor]:
        """Encoder states, aux logit and teacher-forced forward-decoder logits (L, 63)."""
        enc = self.encode(x)
        return {"encoder_out": enc, "aux_logits": self.aux_logits(enc), "logits": self.decoder(decoder_ids, enc)}
