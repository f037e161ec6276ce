"""Post-processing of decoded phrases (SPEC §7): the dummy-phrase fallback of pp_1 / pp_2.

The same thresholds are used by validation, the OOF script and the TFLite graph.
"""
from __future__ import annotations

import numpy as np

from data.tokenizer import DUMMY_PHRASE, decode

MIN_CONFIDENCE: float = 0.15  # pp_2: predictions with sigmoid(aux_logit) below this become the dummy phrase
MIN_FRAMES: int = 15  # sequences with fewer raw frames become the dummy phrase (max_len_for_dummy)


def decode_batch(generated_ids) -> list[str]:
    """Decode every row of a (N, L) id array; ids >= 59 vanish."""
    return [decode(row) for row in np.asarray(generated_ids)]


def sigmoid(x) -> np.ndarray:
    """Numerically stable logistic function."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def fallback_mask(seq_len, aux_logits=None, min_frames: int = MIN_FRAMES,
                  min_conf: float = MIN_CONFIDENCE) -> np.ndarray:
    """True where the prediction is replaced by the dummy phrase: too few frames or (if given) low confidence."""
    mask = np.asarray(seq_len).reshape(-1) < min_frames
    if aux_logits is not None:
        conf = sigmoid(np.asarray(aux_logits, dtype=np.float64).reshape(len(mask), -1)[:, 0])
        mask |= conf < min_conf
    return mask


def apply_fallback(phrases: list[str], mask: np.ndarray, dummy: str = DUMMY_PHRASE) -> list[str]:
    """Replace the phrases where mask is True by the dummy phrase."""
    return [dummy if m else p for p, m in zip(phrases, mask)]


def pp_1(val_data: dict, cfg) -> tuple[list[str], list[str]]:
    """cfg_1: raw predictions and predictions with the short-sequence fallback."""
    preds = decode_batch(val_data["generated_ids"])
    mask = fallback_mask(val_data["seq_len"], None, cfg.max_len_for_dummy)
    return preds, apply_fallback(preds, mask, cfg.dummy_phrase)


def pp_2(val_data: dict, cfg) -> tuple[list[str], list[str]]:
    """cfg_2: raw predictions and predictions with the short-sequence and low-confidence fallback."""
    preds = decode_batch(val_data["generated_ids"])
    mask = fallback_mask(val_data["seq_len"], val_data["aux_logits"], cfg.max_len_for_dummy, cfg.pp_min_conf)
    return preds, apply_fallback(preds, mask, cfg.dummy_phrase)


POST_PROCESSORS = {"pp_1": pp_1, "pp_2": pp_2}
