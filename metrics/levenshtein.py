"""Scores of predicted phrases (SPEC §7).

* `competition_score`: the official Kaggle metric, normalised total Levenshtein distance `(N - D) / N`
  over the corpus (N = total ground-truth characters, D = total edit distance).
* `damerau_score`: the original's local variant (`metric_1`), the same formula with the unrestricted
  Damerau-Levenshtein distance (an adjacent transposition costs 1). It is never lower than the official score.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rapidfuzz.distance import DamerauLevenshtein, Levenshtein

DISTANCES = {"levenshtein": Levenshtein.distance, "damerau": DamerauLevenshtein.distance}


def per_sample_scores(truths: Sequence[str], preds: Sequence[str], distance: str = "damerau") -> np.ndarray:
    """Per-sample `(N_i - D_i) / N_i` (can be negative; used by the OOF script). Empty truths score 0."""
    if len(truths) != len(preds):
        raise ValueError(f"{len(truths)} ground-truth phrases but {len(preds)} predictions")
    dist = DISTANCES[distance]
    n = np.array([len(t) for t in truths], dtype=np.float64)
    d = np.array([dist(t, p) for t, p in zip(truths, preds)], dtype=np.float64)
    return np.divide(n - d, n, out=np.zeros_like(n), where=n > 0)


def corpus_score(truths: Sequence[str], preds: Sequence[str], distance: str) -> float:
    """Normalised total edit distance `(sum N - sum D) / sum N` with the named distance."""
    if len(truths) != len(preds):
        raise ValueError(f"{len(truths)} ground-truth phrases but {len(preds)} predictions")
    dist = DISTANCES[distance]
    total_n = sum(len(t) for t in truths)
    total_d = sum(dist(t, p) for t, p in zip(truths, preds))
    if total_n == 0:
        raise ValueError("all ground-truth phrases are empty")
    return (total_n - total_d) / total_n


def competition_score(truths: Sequence[str], preds: Sequence[str]) -> float:
    """The official competition metric (normalised total Levenshtein)."""
    return corpus_score(truths, preds, "levenshtein")


def damerau_score(truths: Sequence[str], preds: Sequence[str]) -> float:
    """The original's local metric_1 (normalised total unrestricted Damerau-Levenshtein)."""
    return corpus_score(truths, preds, "damerau")


def all_scores(truths: Sequence[str], preds: Sequence[str], suffix: str = "") -> dict[str, float]:
    """Both metrics under clear names, e.g. {'score_lev': ..., 'score_dl': ...}."""
    return {f"score_lev{suffix}": competition_score(truths, preds), f"score_dl{suffix}": damerau_score(truths, preds)}
