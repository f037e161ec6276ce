"""Round-2 data preparation: round 1's out-of-fold quality scores -> the round-2 training table
`train_folded_oof_supp.csv` (SPEC §8; run by scripts/get_train_folded_oof_supp.py, the original's script name).

It reads a training run's outputs (`val_data_seed*.pth` through models.weights.safe_load), which is why it sits in
training/ and not in data/ (data/ imports neither models nor training).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from common.run_layout import VAL_DATA_GLOB, fold_dir
from data.tokenizer import DUMMY_PHRASE, MAX_PHRASE_LEN
from metrics.levenshtein import competition_score, damerau_score, per_sample_scores
from postprocess.confidence_fallback import decode_batch
from models.weights import safe_load

SUPPLEMENTAL_SCORE = 0.5  # NOTE(original): get_train_folded_oof_supp.py gives every supplemental row score 0.5


@dataclass
class OofSummary:
    """Pooled round-1 scores over every fold and seed file (each seed weighted equally)."""

    n_rows: int = 0
    files: dict[int, list[str]] = field(default_factory=dict)
    total_chars: float = 0.0
    weighted: dict[str, float] = field(default_factory=lambda: {"score_dl": 0.0, "score_lev": 0.0,
                                                                  "score_dl_dummy": 0.0, "score_lev_dummy": 0.0})

    def add(self, truths: list[str], preds: list[str]) -> None:
        """Pool one (fold, seed file) prediction set."""
        n = float(sum(len(t) for t in truths))
        dummy = [DUMMY_PHRASE] * len(truths)
        for key, fn, p in (("score_dl", damerau_score, preds), ("score_lev", competition_score, preds),
                           ("score_dl_dummy", damerau_score, dummy), ("score_lev_dummy", competition_score, dummy)):
            self.weighted[key] += n * fn(truths, p)
        self.total_chars += n

    def scores(self) -> dict[str, float]:
        """Corpus scores `(sum N - sum D) / sum N` over everything added."""
        return {k: v / self.total_chars for k, v in self.weighted.items()}

    def as_dict(self) -> dict:
        return {"n_rows": self.n_rows, "files": {str(k): v for k, v in self.files.items()}, **self.scores()}


def fold_files(weights_dir: Path, fold: int) -> list[Path]:
    """The `val_data_seed*.pth` files of one fold; an error naming the folder when there are none."""
    files = sorted(fold_dir(weights_dir, fold).glob(VAL_DATA_GLOB))
    if not files:
        raise FileNotFoundError(f"no {VAL_DATA_GLOB} in {fold_dir(weights_dir, fold)}: train fold {fold} of round 1 "
                                f"first (python train.py -C <config> --fold {fold})")
    return files


def predictions_of(path: Path, n_rows: int) -> list[str]:
    """Decoded `generated_ids` of a val_data file, checked against the fold's row count."""
    val_data = safe_load(path)
    if not isinstance(val_data, dict) or "generated_ids" not in val_data:
        keys = sorted(val_data) if isinstance(val_data, dict) else type(val_data).__name__
        raise ValueError(f"{path}: not a val_data file: no 'generated_ids' (found {keys})")
    ids = val_data["generated_ids"]
    if len(ids) != n_rows:
        raise ValueError(f"{path}: {len(ids)} predictions but the fold has {n_rows} rows in train_folded.csv; "
                         "was it trained on another train_folded.csv?")
    return decode_batch(ids.numpy() if torch.is_tensor(ids) else ids)


def oof_scores(train: pd.DataFrame, weights_dir: Path) -> tuple[pd.Series, OofSummary]:
    """Per-row score `(N - D) / N` (Damerau-Levenshtein) averaged over the seed files of the row's fold."""
    summary = OofSummary(n_rows=len(train))
    parts = []
    for fold in sorted(train["fold"].unique()):
        val_df = train[train["fold"] == fold]
        truths = val_df["phrase"].astype(str).tolist()
        files = fold_files(weights_dir, int(fold))
        summary.files[int(fold)] = [str(f) for f in files]
        per_file = []
        for path in files:
            preds = predictions_of(path, len(val_df))
            per_file.append(per_sample_scores(truths, preds, distance="damerau"))
            summary.add(truths, preds)
        parts.append(pd.Series(np.mean(per_file, axis=0), index=val_df.index))
    return pd.concat(parts).loc[train.index], summary


def build_oof_table(train: pd.DataFrame, supplemental: pd.DataFrame,
                    weights_dir: Path) -> tuple[pd.DataFrame, OofSummary]:
    """Train rows with `score`, `phrase_len`, `is_sup=0`, then supplemental rows shorter than 33 characters
    with `score=0.5`, `is_sup=1` (the round-2 `train_df`)."""
    scores, summary = oof_scores(train, weights_dir)
    train = train.assign(score=scores, phrase_len=train["phrase"].astype(str).str.len(), is_sup=0)
    supplemental = supplemental.assign(phrase_len=supplemental["phrase"].astype(str).str.len())
    supplemental = supplemental[supplemental["phrase_len"] < MAX_PHRASE_LEN].assign(score=SUPPLEMENTAL_SCORE,
                                                                                     is_sup=1)
    return pd.concat([train, supplemental], ignore_index=True), summary
