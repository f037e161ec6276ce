"""Fold split, data sets and data loaders of train.py (SPEC §1.5, §6 "Data loaders")."""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from common.errors import BadInputError, MissingInputError, UsageError
from data import DATASETS
from data.dataset import build_train_aug, load_flip_array, load_landmarks, seed_worker
from data.prepare import npy_frame_count
from training.distributed import DistContext

FULL_FIT_FOLD = -1
FULL_FIT_VAL_FOLD = 0


def read_train_df(cfg: SimpleNamespace) -> pd.DataFrame:
    """cfg.train_df, with an error that says which recipe step writes it."""
    path = Path(cfg.train_df)
    if not path.exists():
        raise MissingInputError(f"cfg.train_df {path} does not exist; round 1 reads train_folded.csv "
                                "(scripts/make_folds.py), round 2 train_folded_oof_supp.csv: build it from round 1 "
                                "(train.py -C cfg_1 --fold 0..3, then scripts/get_train_folded_oof_supp.py) or "
                                "download the original team's (scripts/download_data.py --team-csvs)")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise BadInputError(f"{path}: not a readable CSV ({e})") from e
    missing = {"fold", "phrase", "file_id", "sequence_id"} - set(df.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    return df


def split_folds(df: pd.DataFrame, fold: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train = rows with `fold != fold`; validation = rows with `fold == fold`, or fold 0 for `fold == -1`.

    NOTE(original): train.py validates a full fit (`--fold -1`) on fold 0, which is also trained on (Q13), and a
    row whose fold is -1 would never be trained on (Q28).
    """
    val_fold = FULL_FIT_VAL_FOLD if fold == FULL_FIT_FOLD else fold
    if fold != FULL_FIT_FOLD and not (df["fold"] == fold).any():
        present = sorted(df["fold"].unique().tolist())
        raise ValueError(f"--fold {fold}: no rows with that fold (folds present: {present})")
    return df[df["fold"] != fold].copy(), df[df["fold"] == val_fold].copy()


def check_config_values(cfg: SimpleNamespace) -> None:
    """Values no run can use (UsageError naming the key), before anything is built or written."""
    for key in ("batch_size", "epochs", "grad_accumulation", "max_len"):
        if getattr(cfg, key) < 1:
            raise UsageError(f"--{key} {getattr(cfg, key)}: must be at least 1")
    for key in ("lr", "weight_decay", "clip_grad"):
        if not math.isfinite(getattr(cfg, key)) or (key == "lr" and cfg.lr <= 0):
            raise UsageError(f"--{key} {getattr(cfg, key)}: must be a finite number" + (" > 0" if key == "lr" else ""))
    if cfg.num_workers < 0:
        raise UsageError(f"--num_workers {cfg.num_workers}: must be >= 0")


def check_training_inputs(cfg: SimpleNamespace) -> None:
    """Every file a run reads, before anything is written: train_df and its fold, inference_args.json, the
    symmetry table and each listed npy (exists; header and size fit a float32 (T, 390) array).

    Raises MissingInputError / BadInputError naming the file (and how many others have the same problem).
    """
    train_df, val_df = split_folds(read_train_df(cfg), cfg.fold)
    load_flip_array(cfg, load_landmarks(cfg))
    rows = pd.concat([train_df, val_df])[["file_id", "sequence_id"]].drop_duplicates()
    missing, bad = [], []
    for file_id, sequence_id in zip(rows["file_id"], rows["sequence_id"]):
        path = Path(cfg.data_folder) / str(file_id) / f"{sequence_id}.npy"
        try:
            npy_frame_count(path)
        except FileNotFoundError:
            missing.append(path)
        except (OSError, ValueError, EOFError) as e:
            bad.append(str(e))
    if missing:
        raise MissingInputError(f"{missing[0]} does not exist ({len(missing)} of the {len(rows)} npy files listed "
                                f"in {cfg.train_df} are missing; run scripts/prepare_data.py)")
    if bad:
        raise BadInputError(f"{bad[0]} ({len(bad)} of the {len(rows)} npy files are bad; re-run "
                            f"scripts/prepare_data.py, which redoes them)")


def build_datasets(cfg: SimpleNamespace) -> tuple[Dataset, Dataset]:
    """Train and validation data sets of `cfg.dataset` ('ds_1' or 'ds_2')."""
    if cfg.dataset not in DATASETS:
        raise ValueError(f"cfg.dataset={cfg.dataset!r}; expected one of {tuple(DATASETS)}")
    train_df, val_df = split_folds(read_train_df(cfg), cfg.fold)
    dataset_cls = DATASETS[cfg.dataset]
    return (dataset_cls(train_df, cfg, aug=build_train_aug(cfg), mode="train"),
            dataset_cls(val_df, cfg, aug=None, mode="val"))


class FixedBatchOrder(Sampler[list[int]]):
    """A batch sampler that serves given batches: `batches[epoch][iteration]` = the data-set indices of that batch.

    For replaying a recorded run (the lock-step parity test); `set_epoch` picks the epoch, as DistributedSampler's.
    """

    def __init__(self, batches: Sequence[Sequence[Sequence[int]]]) -> None:
        self.batches = [[list(b) for b in epoch] for epoch in batches]
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        if not 0 <= epoch < len(self.batches):
            raise ValueError(f"FixedBatchOrder holds {len(self.batches)} epochs; epoch {epoch} was asked for")
        self.epoch = epoch

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches[self.epoch])

    def __len__(self) -> int:
        return len(self.batches[self.epoch])


@dataclass
class Loaders:
    """The two loaders and the train sampler (DDP and FixedBatchOrder need `set_epoch` on it)."""

    train: DataLoader
    val: DataLoader
    train_sampler: DistributedSampler | FixedBatchOrder | None


def build_loaders(train_ds: Dataset, val_ds: Dataset, cfg: SimpleNamespace, ctx: DistContext,
                  batch_order: Sequence[Sequence[Sequence[int]]] | None = None) -> Loaders:
    """Shuffled train loader and ordered val loader; DistributedSamplers under DDP.

    `batch_order` (tests only, single process): the train batches of every epoch as data-set indices, replacing
    the shuffle. NOTE(original): validation uses `cfg.batch_size`, not the unused `cfg.batch_size_val` (Q13).
    """
    common = dict(num_workers=cfg.num_workers, worker_init_fn=seed_worker, persistent_workers=cfg.num_workers > 0,
                  pin_memory=ctx.device.type == "cuda")
    train_sampler = val_sampler = None
    if batch_order is not None:
        if ctx.distributed:
            raise ValueError("a fixed batch order is for single-process runs")
        train_sampler = FixedBatchOrder(batch_order)
        train = DataLoader(train_ds, batch_sampler=train_sampler, **common)
    else:
        if ctx.distributed:
            train_sampler = DistributedSampler(train_ds, ctx.world_size, ctx.rank, shuffle=True, seed=cfg.seed)
            val_sampler = DistributedSampler(val_ds, ctx.world_size, ctx.rank, shuffle=False)
        train = DataLoader(train_ds, batch_size=cfg.batch_size, shuffle=train_sampler is None, sampler=train_sampler,
                           drop_last=cfg.drop_last, **common)
    val = DataLoader(val_ds, batch_size=cfg.batch_size, shuffle=False, sampler=val_sampler, **common)
    return Loaders(train=train, val=val, train_sampler=train_sampler)
