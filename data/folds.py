"""Cross-validation folds: train_folded.csv and supplemental_metadata_folded.csv (SPEC §1.4-1.5).

    python scripts/make_folds.py --datamount datamount [--n-folds 4] [--seed 42] [--strategy participant]

The original's fold procedure is unpublished (SPEC §1.4: fold sizes are not N/4, so a grouped split is
likely). Default `participant`: folds grouped by `participant_id`, balanced greedily by row count —
participants in decreasing row-count order, each to the fold with the fewest rows so far (ties: the
lowest fold). It is deterministic; the seed only orders participants with equal row counts. Strategy
`random`: a seeded shuffle of the rows dealt round-robin into the folds (rows of one signer may then
be in several folds).

Supplemental rows get folds 0..n-1 too, never -1 (SPEC Q28: `--fold -1` trains on `fold != -1`, so a
-1 would silently exclude them from the full fit). With `participant`, a signer who also appears in
train.csv keeps their train fold, so validation on fold k stays signer-disjoint from the supplemental
rows trained on; new signers are balanced greedily over the supplemental rows.

`seq_len` is the frame count read from each npy header; a listed row without its npy is an error.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data.datamount import SUPPLEMENTAL_CSV, TRAIN_CSV, Datamount, write_csv_atomic
from data.prepare import npy_frame_count, read_metadata

STRATEGIES: tuple[str, ...] = ("participant", "random")
DEFAULT_N_FOLDS = 4
DEFAULT_SEED = 42
MAX_IDS_SHOWN = 10


def sequence_lengths(df: pd.DataFrame, mount: Datamount, csv_name: str) -> np.ndarray:
    """Frame count of every row's npy; raises FileNotFoundError listing the rows without one."""
    paths = [mount.npy_path(f, s) for f, s in zip(df["file_id"], df["sequence_id"])]
    missing = [int(s) for s, p in zip(df["sequence_id"], paths) if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"{csv_name}: {len(missing)} listed sequence(s) have no npy under {mount.npy_dir}, "
            f"e.g. sequence_id {missing[:MAX_IDS_SHOWN]}; run scripts/prepare_data.py first "
            f"(rows it could not convert are listed in {mount.prepare_report})")
    return np.array([npy_frame_count(p) for p in paths], dtype=np.int64)


def balanced_group_folds(groups: pd.Series, n_folds: int, seed: int,
                         fixed: dict | None = None) -> tuple[np.ndarray, dict]:
    """Greedy group folds balanced by row count; groups in `fixed` keep their fold.

    Returns the fold of every row and the {group: fold} assignment (including `fixed`).
    """
    counts = groups.value_counts(sort=False)
    assignment = dict(fixed or {})
    loads = np.zeros(n_folds, dtype=np.int64)
    for group, n in counts.items():
        if group in assignment:
            loads[assignment[group]] += n
    new = [g for g in counts.index if g not in assignment]
    tiebreak = dict(zip(new, np.random.default_rng(seed).permutation(len(new))))
    for group in sorted(new, key=lambda g: (-counts[g], tiebreak[g])):
        k = int(np.argmin(loads))  # first fold with the fewest rows
        assignment[group] = k
        loads[k] += counts[group]
    return groups.map(assignment).to_numpy(dtype=np.int64), assignment


def random_folds(n_rows: int, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Seeded shuffle of the rows dealt round-robin into n_folds folds."""
    folds = np.empty(n_rows, dtype=np.int64)
    folds[rng.permutation(n_rows)] = np.arange(n_rows) % n_folds
    return folds


def assign_folds(train: pd.DataFrame, supplemental: pd.DataFrame, n_folds: int = DEFAULT_N_FOLDS,
                 seed: int = DEFAULT_SEED, strategy: str = "participant") -> tuple[np.ndarray, np.ndarray]:
    """Fold of every train and supplemental row (both in 0..n_folds-1)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown fold strategy {strategy!r}; choose one of {STRATEGIES}")
    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    if strategy == "random":
        rng = np.random.default_rng(seed)
        return random_folds(len(train), n_folds, rng), random_folds(len(supplemental), n_folds, rng)
    for name, df in ((TRAIN_CSV, train), (SUPPLEMENTAL_CSV, supplemental)):
        if df["participant_id"].isna().any():
            raise ValueError(f"{name}: participant_id is missing in {int(df['participant_id'].isna().sum())} rows")
    n_signers = train["participant_id"].nunique()
    if n_signers < n_folds:
        raise ValueError(f"{TRAIN_CSV}: {n_signers} participants cannot fill {n_folds} participant-grouped folds; "
                         f"use fewer folds or --strategy random")
    train_folds, assignment = balanced_group_folds(train["participant_id"], n_folds, seed)
    supp_folds, _ = balanced_group_folds(supplemental["participant_id"], n_folds, seed, fixed=assignment)
    return train_folds, supp_folds


def read_fold_inputs(metadata_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """train.csv and supplemental_metadata.csv of a folder (an absent supplemental file = no rows)."""
    train = read_metadata(metadata_dir / TRAIN_CSV)
    supp_path = metadata_dir / SUPPLEMENTAL_CSV
    supplemental = read_metadata(supp_path) if supp_path.is_file() else train.iloc[:0].copy()
    return train, supplemental


def make_folds(root: str | Path = "datamount", metadata_dir: str | Path | None = None,
               n_folds: int = DEFAULT_N_FOLDS, seed: int = DEFAULT_SEED,
               strategy: str = "participant") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write train_folded.csv and supplemental_metadata_folded.csv; returns both frames.

    Args:
        root: the datamount (npy files are read from its train_landmarks_npy/).
        metadata_dir: folder with train.csv / supplemental_metadata.csv; default `root`, where the
            prepare step writes the rows it converted (pass the raw folder for npy made elsewhere,
            e.g. the team's pre-processed Kaggle datasets).
    """
    mount = Datamount(root)
    train, supplemental = read_fold_inputs(Path(metadata_dir) if metadata_dir is not None else mount.root)
    train_folds, supp_folds = assign_folds(train, supplemental, n_folds, seed, strategy)
    train = train.assign(fold=train_folds, seq_len=sequence_lengths(train, mount, TRAIN_CSV))
    supplemental = supplemental.assign(fold=supp_folds, seq_len=sequence_lengths(supplemental, mount, SUPPLEMENTAL_CSV),
                                       phrase_len=supplemental["phrase"].str.len().astype(np.int64))
    write_csv_atomic(train, mount.train_folded)
    write_csv_atomic(supplemental, mount.supplemental_folded)
    return train, supplemental


def fold_summary(df: pd.DataFrame, name: str) -> str:
    """One line: rows and participants per fold."""
    per_fold = df.groupby("fold").agg(rows=("sequence_id", "size"), signers=("participant_id", "nunique"))
    parts = ", ".join(f"fold {k}: {r.rows} rows / {r.signers} signers" for k, r in per_fold.iterrows())
    return f"{name}: {len(df)} rows ({parts or 'none'})"
