"""Scores of a validation pass (train.py, every evaluated epoch; SPEC §7): post-process the decoded predictions,
score them against the ground truth with both metrics, and the dummy-phrase floor. Moved out of training/engine.py,
which runs the passes, so that scoring sits with the metrics it reports.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pandas as pd

from data.tokenizer import DUMMY_PHRASE
from metrics.levenshtein import all_scores
from postprocess.confidence_fallback import POST_PROCESSORS


def truths_of(val_df: pd.DataFrame) -> list[str]:
    """Ground-truth phrases of the validation frame, in prediction order."""
    return val_df["phrase"].astype(str).tolist()


def dummy_baseline(val_df: pd.DataFrame) -> dict[str, float]:
    """Both metrics when every prediction is the dummy phrase: the floor a trained model must beat."""
    truths = truths_of(val_df)
    return all_scores(truths, [DUMMY_PHRASE] * len(truths), suffix="_dummy")


def score_predictions(val_data: dict[str, Any], val_df: pd.DataFrame, cfg: SimpleNamespace) -> dict:
    """Post-process (cfg.post_process) and score with both metrics: score_lev / score_dl, raw and `_pp`.

    `val_data` is `training.engine.validate`'s output (tensors). `score_lev` is the official competition metric
    (Levenshtein), `score_dl` the original's metric_1 (Damerau-Levenshtein).
    NOTE(original): pp_1 edited val_data in place after saving (Q26); here it does not.
    """
    if cfg.post_process not in POST_PROCESSORS:
        raise ValueError(f"cfg.post_process={cfg.post_process!r}; expected one of {tuple(POST_PROCESSORS)}")
    truths = truths_of(val_df)
    if len(truths) != len(val_data["generated_ids"]):
        raise ValueError(f"{len(val_data['generated_ids'])} predictions for {len(truths)} validation rows")
    preds, preds_pp = POST_PROCESSORS[cfg.post_process](val_data, cfg)
    metrics = {**all_scores(truths, preds), **all_scores(truths, preds_pp, suffix="_pp")}
    metrics["loss"] = float(val_data["loss"].mean())
    return metrics


def format_metrics(metrics: dict[str, float]) -> str:
    """One line, e.g. 'loss 1.234 | score_lev 0.412 | score_dl 0.420 | ...'."""
    return " | ".join(f"{k} {v:.4f}" for k, v in metrics.items())
