"""Score a model.tflite on one fold of raw competition-format data, exactly as Kaggle's harness runs it.

Sequences come from the raw parquet files (only the `selected_columns` of the model's inference_args.json),
the rows and ground truth from the chosen fold of the datamount's train_folded.csv.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from common.atomic import write_json_atomic
from data.raw_format import read_landmark_parquet
from export.litert import TFLiteRunner, decode_outputs
from metrics.levenshtein import competition_score, damerau_score

RAW_TRAIN_DIR: str = "train_landmarks"  # raw layout: <raw>/train_landmarks/<file_id>.parquet


def fold_rows(train_folded: str | Path, fold: int, limit: int | None = None) -> pd.DataFrame:
    """Rows of `fold` in train_folded.csv (file order), at most `limit` of them."""
    path = Path(train_folded)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run the data preparation steps first")
    df = pd.read_csv(path, dtype={"phrase": str}, keep_default_na=False)
    missing = {"file_id", "sequence_id", "phrase", "fold"} - set(df.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    rows = df[df["fold"] == fold]
    if rows.empty:
        raise ValueError(f"{path}: no row has fold == {fold} (folds present: {sorted(df['fold'].unique())})")
    return rows.head(limit) if limit else rows


def raw_file_of(raw_dir: str | Path, file_id: int) -> Path:
    """The raw parquet of a train.csv file_id."""
    return Path(raw_dir) / RAW_TRAIN_DIR / f"{int(file_id)}.parquet"


def check_raw_files(rows: pd.DataFrame, raw_dir: str | Path) -> None:
    """Before any scoring: every parquet file of the rows exists (FileNotFoundError naming the first missing)."""
    for file_id in rows["file_id"].unique():
        if not raw_file_of(raw_dir, file_id).is_file():
            raise FileNotFoundError(f"raw landmark file {raw_file_of(raw_dir, file_id)} (file_id {file_id}) does "
                                    f"not exist; is --raw the folder the fold was prepared from?")


def iter_sequences(rows: pd.DataFrame, raw_dir: str | Path, columns: list[str]) -> Iterator[tuple[int, np.ndarray]]:
    """(sequence_id, frames (T, len(columns)) float32) for every row, reading each parquet file once."""
    check_raw_files(rows, raw_dir)
    for file_id, group in rows.groupby("file_id", sort=False):
        path = raw_file_of(raw_dir, file_id)
        sequences = read_landmark_parquet(path, columns)
        for sequence_id in group["sequence_id"]:
            if int(sequence_id) not in sequences:
                raise ValueError(f"{path}: no frames for sequence_id {sequence_id}")
            yield int(sequence_id), sequences[int(sequence_id)]


@dataclass
class ScoreResult:
    """Scores, latency and size of one scoring run."""

    model: str
    size_bytes: int
    fold: int
    n_sequences: int
    score_lev: float  # official metric: normalised total Levenshtein
    score_dl: float  # the original's local metric_1 (Damerau-Levenshtein)
    latency_ms_median: float  # wall clock per sequence, 1 interpreter thread
    latency_ms_p95: float
    cpu_ms_median: float  # CPU time of the calling thread (robust when the machine is shared)
    cpu_ms_p95: float

    def to_json(self, path: str | Path) -> None:
        write_json_atomic(asdict(self), path)


def run_sequences(runner: TFLiteRunner, sequences: Iterator[tuple[int, np.ndarray]],
                  reverse_map: dict[int, str]) -> tuple[dict[int, str], np.ndarray, np.ndarray]:
    """Kaggle's loop over sequences: predictions by sequence_id, wall and CPU seconds per call."""
    preds, wall, cpu = {}, [], []
    for sequence_id, frames in sequences:
        w0, c0 = time.perf_counter(), time.thread_time()
        outputs = runner(frames)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.thread_time() - c0)
        preds[sequence_id] = decode_outputs(outputs, reverse_map)
    return preds, np.array(wall), np.array(cpu)


def score_rows(runner: TFLiteRunner, rows: pd.DataFrame, raw_dir: str | Path, columns: list[str],
               reverse_map: dict[int, str], size_bytes: int, fold: int) -> tuple[ScoreResult, pd.DataFrame]:
    """Predict every row, then the official and Damerau scores; also returns the per-sequence predictions."""
    preds, wall, cpu = run_sequences(runner, iter_sequences(rows, raw_dir, columns), reverse_map)
    truths = rows["phrase"].astype(str).tolist()
    predictions = [preds[int(s)] for s in rows["sequence_id"]]
    ms = 1000.0
    result = ScoreResult(str(runner.path), size_bytes, fold, len(rows), competition_score(truths, predictions),
                         damerau_score(truths, predictions), float(np.median(wall) * ms),
                         float(np.percentile(wall, 95) * ms), float(np.median(cpu) * ms),
                         float(np.percentile(cpu, 95) * ms))
    table = pd.DataFrame({"sequence_id": rows["sequence_id"].to_numpy(), "phrase": truths,
                          "prediction": predictions, "latency_ms": wall * ms})
    return result, table
