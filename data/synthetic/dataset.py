"""Presets, metadata and files of the synthetic data set in the competition's raw layout.

    <out>/train.csv, supplemental_metadata.csv       path,file_id,sequence_id,participant_id,phrase
    <out>/train_landmarks/<file_id>.parquet          index sequence_id, `frame` + 1,629 x_/y_/z_ float32 columns
    <out>/supplemental_landmarks/<file_id>.parquet
    <out>/character_to_prediction_index.json
    <out>/synthetic_metadata.csv                     all rows + split, signer, n_frames (not part of the real format)

Everything is a deterministic function of (preset, seed): the metadata (phrases, signers, ids, lengths)
is drawn in one process, each file from its own rng streams, so the worker count changes nothing.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from data.raw_format import METADATA_COLUMNS, write_landmark_parquet
from data.synthetic.phrases import TrainPhraseGenerator, draw_supplemental, supplemental_pool
from data.synthetic.sequence import synthesize_sequence
from data.synthetic.signer import Signer, sample_signer
from data.synthetic.timing import TIMING_STREAM, plan_timing
from data.tokenizer import write_character_map

log = logging.getLogger(__name__)

META_STREAM = 404  # rng stream key of the metadata draw: [seed, META_STREAM]
SPLITS = {"train": ("train.csv", "train_landmarks"), "supplemental": ("supplemental_metadata.csv",
                                                                      "supplemental_landmarks")}
ID_RANGE = (1_000_000, 2**31 - 1)  # file and sequence ids: large unique ints, like the real ones
PARTICIPANT_RANGE = (1, 300)
SIGNER_WEIGHT_SIGMA = 0.5  # log-normal spread of how many sequences each signer recorded
METADATA_FILE = "synthetic_metadata.csv"
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class Preset:
    """Size of a synthetic data set."""

    n_train: int
    n_supplemental: int
    n_signers: int
    train_files: int
    supplemental_files: int
    sentence_pool: int  # distinct supplemental sentences


PRESETS: dict[str, Preset] = {
    "tiny": Preset(40, 12, 4, 2, 1, 8),
    "demo": Preset(2_000, 600, 12, 8, 3, 150),
    "full": Preset(67_208, 52_958, 94, 68, 53, 500),  # the competition's counts
}


def _unique_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct random ints in ID_RANGE."""
    ids = np.zeros(0, dtype=np.int64)
    while len(ids) < n:
        ids = pd.unique(np.r_[ids, rng.integers(*ID_RANGE, size=2 * n)])
    return ids[:n].astype(np.int64)


@lru_cache(maxsize=4096)
def signer_for(seed: int, index: int, participant_id: int, n_signers: int) -> Signer:
    """Cached `sample_signer` (one per process)."""
    return sample_signer(seed, index, participant_id, n_signers)


def _split_rows(split: str, phrases: list[str], n_files: int, participants: np.ndarray,
                rng: np.random.Generator) -> pd.DataFrame:
    """Rows of one split: signer, file and sequence ids, phrase (n_frames filled in later)."""
    n = len(phrases)
    weights = np.exp(SIGNER_WEIGHT_SIGMA * rng.standard_normal(len(participants)))
    signer = rng.choice(len(participants), size=n, p=weights / weights.sum())
    file_ids = _unique_ids(rng, n_files)
    file_of_row = np.repeat(np.arange(n_files), [len(a) for a in np.array_split(np.arange(n), n_files)])
    folder = SPLITS[split][1]
    return pd.DataFrame({
        "path": [f"{folder}/{file_ids[f]}.parquet" for f in file_of_row],
        "file_id": file_ids[file_of_row],
        "sequence_id": 0,
        "participant_id": participants[signer],
        "phrase": phrases,
        "split": split,
        "signer": signer,
    })


def build_metadata(preset: str = "full", seed: int = 0) -> pd.DataFrame:
    """All rows of a synthetic data set without generating landmarks (full scale in about a minute).

    Returns columns path, file_id, sequence_id, participant_id, phrase, split ('train' | 'supplemental'),
    signer (index into the preset's signers) and n_frames (the exact length the generator will emit).
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    p = PRESETS[preset]
    rng = np.random.default_rng([seed, META_STREAM])
    participants = np.sort(rng.choice(np.arange(*PARTICIPANT_RANGE), size=p.n_signers, replace=False))
    make_phrase = TrainPhraseGenerator(seed)
    train = _split_rows("train", [make_phrase() for _ in range(p.n_train)], p.train_files, participants, rng)
    pool = supplemental_pool(p.sentence_pool, seed)
    supp = _split_rows("supplemental", draw_supplemental(pool, p.n_supplemental, rng), p.supplemental_files,
                       participants, rng)
    meta = pd.concat([train, supp], ignore_index=True)
    meta["sequence_id"] = _unique_ids(rng, len(meta))
    meta["n_frames"] = [
        plan_timing(phrase, signer_for(seed, int(s), int(pid), p.n_signers),
                    np.random.default_rng([seed, TIMING_STREAM, sid])).n_frames
        for phrase, s, pid, sid in zip(meta["phrase"], meta["signer"], meta["participant_id"], meta["sequence_id"])
    ]
    return meta


def synthetic_metadata(preset: str = "full", seed: int = 0) -> pd.DataFrame:
    """Full-scale metadata for benchmarks: file_id, sequence_id, participant_id, phrase, n_frames, split."""
    return build_metadata(preset, seed)[["file_id", "sequence_id", "participant_id", "phrase", "n_frames", "split"]]


def write_file(out_dir: Path, seed: int, n_signers: int, rows: pd.DataFrame) -> int:
    """Generate and write the landmark parquet of one file (rows of one `path`); returns its frame count."""
    sequences = {}
    for sid, phrase, s, pid, n in zip(rows["sequence_id"], rows["phrase"], rows["signer"], rows["participant_id"],
                                      rows["n_frames"]):
        lm = synthesize_sequence(phrase, signer_for(seed, int(s), int(pid), n_signers), seed, int(sid))
        assert len(lm) == n, (sid, len(lm), n)
        sequences[int(sid)] = lm
    write_landmark_parquet(out_dir / rows["path"].iloc[0], sequences)
    return int(rows["n_frames"].sum())


def _write_file_task(task: tuple[Path, int, int, pd.DataFrame]) -> int:
    return write_file(*task)


def write_metadata(out_dir: Path, meta: pd.DataFrame) -> None:
    """train.csv, supplemental_metadata.csv, the character map and synthetic_metadata.csv."""
    for split, (csv, _) in SPLITS.items():
        meta.loc[meta["split"] == split, METADATA_COLUMNS].to_csv(out_dir / csv, index=False)
    write_character_map(out_dir / "character_to_prediction_index.json")
    meta.to_csv(out_dir / METADATA_FILE, index=False)


def _prepare_target(out: Path, overwrite: bool) -> Path:
    """Refuse a non-empty target without `overwrite`; return a fresh temp folder next to it."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise FileExistsError(f"{out} exists and is not empty; pass --overwrite to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    return tmp


@contextmanager
def _single_threaded_blas_env() -> Iterator[None]:
    """Spawned workers start with single-threaded BLAS (the work is many small products; threads only contend)."""
    saved = {k: os.environ.get(k) for k in BLAS_THREAD_VARS}
    os.environ.update({k: "1" for k in BLAS_THREAD_VARS})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _run_tasks(tasks: list[tuple[Path, int, int, pd.DataFrame]], workers: int, progress: bool) -> int:
    """Write every file (in `workers` processes when > 1); returns the number of frames written."""
    bar = tqdm(total=len(tasks), desc="synthetic files", unit="file", disable=not progress)
    frames = 0
    if workers <= 1:
        for task in tasks:
            frames += _write_file_task(task)
            bar.update()
    else:
        with _single_threaded_blas_env(), get_context("spawn").Pool(workers) as pool:
            for n in pool.imap_unordered(_write_file_task, tasks):
                frames += n
                bar.update()
    bar.close()
    return frames


def generate_dataset(out: str | Path, preset: str = "demo", seed: int = 0, workers: int = 1,
                     overwrite: bool = False, metadata_only: bool = False, progress: bool = True) -> dict:
    """Write a synthetic data set atomically (temp folder renamed at the end); returns a summary dict."""
    out = Path(out)
    start = time.time()
    tmp = _prepare_target(out, overwrite)
    try:
        meta = build_metadata(preset, seed)
        write_metadata(tmp, meta)
        n_signers = PRESETS[preset].n_signers
        tasks = [] if metadata_only else [(tmp, seed, n_signers, rows) for _, rows in meta.groupby("path", sort=False)]
        frames = _run_tasks(tasks, workers, progress)
        if out.exists():
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summarize(meta) | {"files": len(tasks), "frames_written": frames, "seconds": time.time() - start}


def summarize(meta: pd.DataFrame) -> dict:
    """Counts and length statistics of a metadata frame (as returned by build_metadata)."""
    train, supp = meta[meta["split"] == "train"], meta[meta["split"] == "supplemental"]
    n = train["n_frames"]
    return {
        "train_sequences": len(train), "supplemental_sequences": len(supp),
        "signers": int(meta["participant_id"].nunique()),
        "train_frames_mean": float(n.mean()), "train_frames_median": float(n.median()),
        "train_frames_max": int(n.max()), "train_under_15_frames": int((n < 15).sum()),
        "supplemental_frames_mean": float(supp["n_frames"].mean()) if len(supp) else 0.0,
        "supplemental_unique_phrases": int(supp["phrase"].nunique()),
    }
