"""The exported inference graph of SPEC §9.3: raw frames (T, 390) -> per-character logit rows (n, 63).

preprocess -> (bilinear resize to max_len frames when T >= max_len, no padding below) -> every seed's
encoder -> averaged aux logit -> confidence fallback -> KV-cached greedy decoding of the ensemble (logits
averaged at every step) -> the rows before the first EOS. Short sequences and low-confidence predictions
become the dummy phrase's one-hot rows.

The graph has no tf.cond: LiteRT runs IF branches as subgraphs whose tensors are re-allocated on every call,
which cost ~25 ms per seed at 160 frames. Instead, sequences shorter than `min_frames` are zero-padded to
`min_frames` (their result is discarded for the dummy rows), the decode loop runs zero steps on a fallback, and
the output rows are sliced out of [dummy rows; decoded rows].

The fallback thresholds `min_frames` / `min_conf` are constructor arguments (default: the module constants
MIN_FRAMES / MIN_CONFIDENCE); the export passes the ones its checkpoints were trained with (export.thresholds).
"""
from __future__ import annotations

import models.keras.tf_setup  # noqa: F401  (the TensorFlow set-up, before TensorFlow)

import tensorflow as tf

from data.landmarks import COORDS, N_LANDMARKS
from data.tokenizer import DUMMY_PHRASE_IDS, EOS_ID, MAX_DECODE_STEPS, SOS_ID, VOCAB_SIZE
from models.keras.feature_extractor import normalize_parts
from models.keras.mdl_2_pt import Net
from postprocess.confidence_fallback import MIN_CONFIDENCE, MIN_FRAMES

N_COLUMNS: int = len(COORDS) * N_LANDMARKS  # 390 selected columns
SIGNATURE_KEY: str = "serving_default"
INPUT_NAME: str = "inputs"
OUTPUT_NAME: str = "outputs"
N_DUMMY_ROWS: int = len(DUMMY_PHRASE_IDS)


def preprocess(frames: tf.Tensor, max_len: int) -> tf.Tensor:
    """(T, 390) raw columns -> (min(T, max_len), 130, 3) globally normalised frames (SPEC §3.1, §9.3).

    Mean and population std per coordinate over the landmarks whose x is present; NaN -> 0. At T >= max_len
    the time axis is resized bilinearly (half-pixel centres) to max_len; below, the resize to the same length
    is an exact identity, which keeps the graph free of a branch.
    NOTE(original): training resizes with 'nearest' instead (Q11).
    """
    x = tf.transpose(tf.reshape(frames, [-1, len(COORDS), N_LANDMARKS]), [0, 2, 1])
    present = ~tf.math.is_nan(x[..., :1])  # (T, 130, 1)
    count = tf.reduce_sum(tf.cast(present, tf.float32))
    zeros = tf.zeros_like(x)
    mean = tf.reduce_sum(tf.where(present, x, zeros), axis=[0, 1]) / count
    var = tf.reduce_sum(tf.where(present, tf.square(x - mean), zeros), axis=[0, 1]) / count
    x = (x - mean) / tf.sqrt(var)
    x = tf.where(tf.math.is_nan(x), zeros, x)
    length = tf.minimum(tf.shape(x)[0], max_len)
    return tf.image.resize(x, tf.stack([length, N_LANDMARKS]), method=tf.image.ResizeMethod.BILINEAR)


def dummy_rows() -> tf.Tensor:
    """One-hot rows of the dummy phrase (SPEC §7). Twin of `inference.torch_graph.dummy_rows`."""
    return tf.one_hot(list(DUMMY_PHRASE_IDS), VOCAB_SIZE)


class InferenceModule(tf.Module):
    """tf.Module wrapping one or more Keras `Net` seeds into the Kaggle signature `serving_default`.

    Known trap: Keras 3 variables are not tracked by tf.Module, so a SavedModel of this module would keep
    variable handles that the TFLite converter turns into uninitialised VAR_HANDLE/READ_VARIABLE ops
    (garbage weights, no error). `self.tracked_variables` lists the underlying tf.Variables so they are
    saved and frozen into constants.
    """

    def __init__(self, nets: list[Net], max_len: int, max_steps: int = MAX_DECODE_STEPS,
                 min_frames: int = MIN_FRAMES, min_conf: float = MIN_CONFIDENCE) -> None:
        super().__init__()
        if not nets:
            raise ValueError("the inference module needs at least one model")
        # Plain attribute on purpose: tracking the Keras layers themselves makes tf.saved_model.save serialise
        # every layer (minutes); their variables are tracked below instead.
        object.__setattr__(self, "nets", list(nets))
        self.max_len = max_len
        self.max_steps = max_steps
        self.min_frames = int(min_frames)  # fewer raw frames: the dummy phrase (cfg.max_len_for_dummy)
        self.min_conf = float(min_conf)  # sigmoid(mean aux logit) below this: the dummy phrase (cfg.pp_min_conf)
        self.ensemble_weight = 1.0 / len(nets)
        self.tracked_variables = [v.value for net in nets for v in net.weights]

    @tf.function(input_signature=[tf.TensorSpec([None, N_COLUMNS], tf.float32, name=INPUT_NAME)])
    def serve(self, inputs: tf.Tensor) -> dict[str, tf.Tensor]:
        """The exported signature: {'outputs': (n >= 1, 63) float32}."""
        return {OUTPUT_NAME: self.predict(inputs)}

    def predict(self, frames: tf.Tensor) -> tf.Tensor:
        """Logit rows of one raw sequence; never zero rows (LiteRT rejects empty outputs)."""
        n_frames = tf.shape(frames)[0]
        # NOTE(original): T == 0 and T < min_frames give the dummy rows (Q25); the padding only keeps the
        # (discarded) model run away from empty tensors.
        frames = tf.concat([frames, tf.zeros([tf.maximum(self.min_frames - n_frames, 0), N_COLUMNS])], axis=0)
        x = preprocess(frames, self.max_len)
        parts = normalize_parts(x, self.nets[0].parts)  # seed-independent: computed once
        encs = [net.encode(x, parts) for net in self.nets]
        aux = tf.add_n([net.aux_logits(enc) for net, enc in zip(self.nets, encs)]) * self.ensemble_weight
        # NOTE(original): the seeds' aux LOGITS are averaged, then the sigmoid is taken.
        fallback = tf.logical_or(n_frames < self.min_frames, tf.sigmoid(aux[0]) < self.min_conf)
        rows, n_rows = self.greedy_decode(encs, fallback)
        start = tf.where(fallback, 0, N_DUMMY_ROWS)
        size = tf.where(fallback, N_DUMMY_ROWS, n_rows)
        return tf.slice(tf.concat([dummy_rows(), rows], axis=0), tf.stack([start, 0]), tf.stack([size, VOCAB_SIZE]))

    def greedy_decode(self, encs: list[tf.Tensor], skip: tf.Tensor | bool = False) -> tuple[tf.Tensor, tf.Tensor]:
        """KV-cached greedy decoding of the ensemble, stopping right after the first EOS (no step when `skip`).

        Returns (max_steps, 63) rows of averaged logits and how many of them form the output (>= 1).
        """
        cross = [net.decoder.cross_key_values(enc) for net, enc in zip(self.nets, encs)]
        caches = [net.decoder.empty_cache(self.max_steps) for net in self.nets]
        rows = tf.zeros([self.max_steps, VOCAB_SIZE])

        def not_finished(step, token, n_tokens, done, rows, caches):
            return tf.logical_and(step < self.max_steps, tf.logical_not(done))

        def decode_step(step, token, n_tokens, done, rows, caches):
            logits, new_caches = [], []
            for net, cross_kv, cache in zip(self.nets, cross, caches):
                seed_logits, cache, new_n_tokens = net.decoder.step(token, step, n_tokens, cross_kv, cache,
                                                                    self.max_steps)
                logits.append(seed_logits)
                new_caches.append(cache)
            row = tf.add_n(logits) * self.ensemble_weight  # (1, 63): average of the seeds' logits
            token = tf.argmax(row, axis=-1, output_type=tf.int32)
            rows = rows + tf.one_hot(step, self.max_steps)[:, None] * row
            return step + 1, token, new_n_tokens, tf.equal(token[0], EOS_ID), rows, new_caches

        start = (tf.constant(0), tf.constant([SOS_ID]), tf.constant([0]), tf.convert_to_tensor(skip), rows, caches)
        step, _, _, done, rows, _ = tf.while_loop(not_finished, decode_step, start)
        # NOTE(original): the original returns zero rows when EOS comes first, which LiteRT rejects; the EOS
        # row is kept instead, which decodes to the same empty string.
        return rows, tf.maximum(step - tf.cast(done, tf.int32), 1)


def build_inference_module(nets: list[Net], max_len: int, min_frames: int = MIN_FRAMES,
                           min_conf: float = MIN_CONFIDENCE) -> InferenceModule:
    """Wrap Keras nets that carry their weights (see models.keras.port)."""
    for i, net in enumerate(nets):
        if not net.weights:
            raise ValueError(f"Keras net {i} has no variables")
    return InferenceModule(nets, max_len, min_frames=min_frames, min_conf=min_conf)
