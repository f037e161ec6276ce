"""The fingerspelling dataset shared by `ds_1` (round 1) and `ds_2` (round 2), SPEC §3.

One item: load `{data_folder}{file_id}/{sequence_id}.npy` -> normalise -> (train: flip, same-participant
outer CutMix, `aug`) -> nearest resize / zero pad to `cfg.max_len` -> tokenise. Everything an item needs
from the metadata (paths, phrases, scores, participant groups, supplemental phrase groups) is turned
into numpy arrays at construction, so an item costs the same at 120k rows as at 100.

Randomness: each dataset owns `self.rng` (a numpy Generator); pass `seed_worker` as the DataLoader's
`worker_init_fn` so that every worker, epoch and DDP rank draws differently.
"""
from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from common.errors import NPY_READ_ERRORS
from common.run_layout import INFERENCE_ARGS_NAME
from data.augmentations import Transform
from data.landmarks import flip_array, read_inference_args
from data.preprocessing import N_COLUMNS, as_numpy, interpolate_or_pad_array, normalize_array, outer_cutmix_array
from data.tokenizer import CHAR_TO_ID, check_phrase, tokenize

MODES: tuple[str, ...] = ("train", "val", "test")
INFERENCE_ARGS_FILE = INFERENCE_ARGS_NAME
REQUIRED_COLUMNS: tuple[str, ...] = ("file_id", "sequence_id", "phrase")
TRAIN_COLUMNS: tuple[str, ...] = ("participant_id", "seq_len")  # partner search and the min_seq_len filter
Augmentation = Callable[[torch.Tensor, np.random.Generator], torch.Tensor]
# np.save's header for a C-order float32 2-D array (format 1.0): parsed directly, ~3x faster than np.load,
# whose header parser compiles the header text; anything else goes through np.load.
NPY_V1_MAGIC = b"\x93NUMPY\x01\x00"
NPY_V1_PREAMBLE = len(NPY_V1_MAGIC) + 2  # + uint16 header length
NPY_F4_HEADER = re.compile(rb"\{'descr': '<f4', 'fortran_order': False, 'shape': \((\d+), (\d+)\), \} *\n")


def load_landmarks(cfg: SimpleNamespace) -> list[str]:
    """The 130 landmark names of the npy columns, from `{cfg.data_folder}inference_args.json`."""
    path = os.path.join(cfg.data_folder, INFERENCE_ARGS_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} not found: cfg.data_folder={cfg.data_folder!r} must hold the prepared "
                                f"npy files and {INFERENCE_ARGS_FILE} (run scripts/prepare_data.py)")
    return read_inference_args(path)


def load_flip_array(cfg: SimpleNamespace, landmarks: list[str]) -> np.ndarray:
    """flip_array of SPEC §1.3 from the landmark names and the symmetry table at `cfg.symmetry_fp`."""
    path = cfg.symmetry_fp
    if not os.path.isfile(path):
        raise FileNotFoundError(f"symmetry table {path!r} (cfg.symmetry_fp) not found; it is written by "
                                f"scripts/prepare_data.py (columns id, corresponding_id)")
    symmetry = pd.read_csv(path)
    missing = {"id", "corresponding_id"} - set(symmetry.columns)
    if missing:
        raise ValueError(f"{path}: symmetry table lacks columns {sorted(missing)}")
    return flip_array(landmarks, symmetry)


def build_train_aug(cfg: SimpleNamespace) -> Augmentation | None:
    """`cfg.train_aug(landmarks, spatial_mask_fixed=...)` for the data's landmark names, or None without one."""
    if cfg.train_aug is None:
        return None
    return cfg.train_aug(load_landmarks(cfg), spatial_mask_fixed=cfg.spatial_mask_fixed)


def read_npy(path: str) -> np.ndarray:
    """Read an .npy file; float32 2-D C-order files take a fast path and come back read-only."""
    with open(path, "rb") as f:
        buf = f.read()
    if buf.startswith(NPY_V1_MAGIC):
        end = NPY_V1_PREAMBLE + int.from_bytes(buf[len(NPY_V1_MAGIC):NPY_V1_PREAMBLE], "little")
        header = NPY_F4_HEADER.fullmatch(buf, NPY_V1_PREAMBLE, end)
        if header:
            shape = int(header[1]), int(header[2])
            if len(buf) - end != 4 * shape[0] * shape[1]:
                raise ValueError(f"file holds {len(buf) - end} data bytes, its header says {shape} float32")
            return np.frombuffer(buf, dtype=np.float32, offset=end).reshape(shape)
    return np.load(io.BytesIO(buf), allow_pickle=False)


def load_sequence(path: str) -> np.ndarray:
    """Read one preprocessed `(T, 390)` float32 npy file (T >= 1, no +-inf); errors name the file."""
    try:
        x = read_npy(path)
    except FileNotFoundError as e:
        raise FileNotFoundError(f"landmark file {path} not found (expected {{data_folder}}{{file_id}}/"
                                f"{{sequence_id}}.npy)") from e
    except NPY_READ_ERRORS as e:
        raise ValueError(f"{path}: not a readable .npy file ({type(e).__name__}: {e})") from e
    if not isinstance(x, np.ndarray) or x.dtype != np.float32 or x.ndim != 2 or x.shape[1] != N_COLUMNS:
        desc = f"{x.dtype} {x.shape}" if isinstance(x, np.ndarray) else type(x).__name__
        raise ValueError(f"{path}: expected a float32 (T, {N_COLUMNS}) array, got {desc}")
    if len(x) == 0:
        raise ValueError(f"{path}: empty sequence (0 frames); drop it from the metadata csv")
    if np.isinf(x).any():  # NaN is an undetected landmark; +-inf would turn every loss into NaN
        frame = int(np.flatnonzero(np.isinf(x).any(axis=1))[0])
        raise ValueError(f"{path}: holds +-inf values (first in frame {frame}); re-run scripts/prepare_data.py, "
                         "which reports such sequences, or drop it from the metadata csv")
    return x


@dataclass(frozen=True)
class GroupIndex:
    """Row indices grouped by an integer code, stored flat: group g = members[offsets[g]:offsets[g + 1]]."""

    members: np.ndarray
    offsets: np.ndarray

    @classmethod
    def from_codes(cls, codes: np.ndarray, rows: np.ndarray | None = None) -> GroupIndex:
        """Group `rows` (default 0..n-1) by `codes` (0..G-1); members keep their order within a group."""
        rows = np.arange(len(codes)) if rows is None else rows
        order = np.argsort(codes, kind="stable")
        counts = np.bincount(codes, minlength=codes.max() + 1 if len(codes) else 0)
        return cls(rows[order], np.concatenate([[0], np.cumsum(counts)]))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def size(self, group: int) -> int:
        return int(self.offsets[group + 1] - self.offsets[group])

    def sample(self, group: int, rng: np.random.Generator) -> int:
        """A uniformly drawn member of `group`."""
        return int(self.members[self.offsets[group] + rng.integers(self.size(group))])


class FingerspellingDataset(Dataset):
    """ds_1 semantics (SPEC §3.2); `ds_2` (SPEC §3.3) is `ScoredFingerspellingDataset` below.

    Args:
        df: metadata rows (`file_id, sequence_id, phrase`; train mode also `participant_id, seq_len`).
        cfg: config (`data_folder, symmetry_fp, max_len, min_seq_len, flip_aug, outer_cutmix_aug, seed`).
        aug: training augmentation `aug(x, rng)` (used in train mode only), e.g. `build_train_aug(cfg)`.
        mode: 'train' (filters and augments), 'val' or 'test' (load, normalise, pad, tokenise only).
        seed: seed of `self.rng`; default `[cfg.seed, RANK]` when cfg.seed >= 0, else fresh entropy.
    """

    with_score: bool = False

    def __init__(self, df: pd.DataFrame, cfg: SimpleNamespace, aug: Augmentation | None = None,
                 mode: str = "train", seed: int | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"dataset mode must be one of {MODES}, got {mode!r}")
        self.cfg, self.aug, self.mode = cfg, aug, mode
        self.max_len = cfg.max_len
        self.rng = np.random.default_rng(_default_seed(cfg) if seed is None else seed)
        self.df = self._select_rows(df)
        self.paths = np.array([os.path.join(cfg.data_folder, str(f), f"{s}.npy")
                               for f, s in zip(self.df["file_id"], self.df["sequence_id"])], dtype=object)
        self.phrases = self.df["phrase"].astype(str).to_numpy(dtype=object)
        self.scores = self.df["score"].to_numpy(np.float64) if self.with_score else None
        self._check_phrases()
        self._fixed_rows, self._sampled_groups = self._epoch_items()
        self.flip_array: np.ndarray | None = None  # only train mode flips, so only it needs the symmetry files
        if mode == "train":
            self.flip_array = load_flip_array(cfg, load_landmarks(cfg))
            self._build_partner_index()

    # ---- construction -------------------------------------------------------------------------------
    def _select_rows(self, df: pd.DataFrame) -> pd.DataFrame:
        """Check the columns; in train mode drop rows with seq_len < cfg.min_seq_len."""
        needed = REQUIRED_COLUMNS + (TRAIN_COLUMNS if self.mode == "train" else ())
        missing = [c for c in needed if c not in df.columns]
        if missing:
            raise ValueError(f"{type(self).__name__} ({self.mode}): metadata lacks columns {missing}")
        if self.mode == "train":
            df = df[df["seq_len"] >= self.cfg.min_seq_len]
        return df.copy()

    def _epoch_items(self) -> tuple[np.ndarray, GroupIndex | None]:
        """Rows served once per epoch (items 0..n-1) and groups sampled once per epoch (items n..)."""
        return np.arange(len(self.df)), None

    def _check_phrases(self) -> None:
        """Fail at construction (naming the sequence_id) if any phrase has a character outside the map."""
        unique = pd.unique(self.phrases)
        if set("".join(unique)) <= CHAR_TO_ID.keys():
            return
        for seq_id, phrase in zip(self.df["sequence_id"], self.phrases):
            check_phrase(phrase, where=f"sequence_id {seq_id}")

    def _build_partner_index(self) -> None:
        """Participant groups for the CutMix partner search (same participant, different sequence_id)."""
        participant = pd.factorize(self.df["participant_id"])[0]
        self._sequence_codes = pd.factorize(self.df["sequence_id"])[0]
        self._participant = participant
        self._participant_groups = GroupIndex.from_codes(participant)
        pairs = pd.DataFrame({"p": participant, "s": self._sequence_codes})
        same_sequence = pairs.groupby(["p", "s"])["s"].transform("size").to_numpy()
        self._n_partners = np.diff(self._participant_groups.offsets)[participant] - same_sequence

    # ---- items --------------------------------------------------------------------------------------
    def __len__(self) -> int:
        n_groups = 0 if self._sampled_groups is None else len(self._sampled_groups)
        return len(self._fixed_rows) + n_groups

    def __getitem__(self, idx: int) -> dict[str, torch.Tensor]:
        row = self._row(idx)
        flipped = self.mode == "train" and self.rng.random() < self.cfg.flip_aug
        x, seq_len = self._load(row, flipped)  # normalised, flipped with probability cfg.flip_aug in train mode
        phrase, score = self.phrases[row], self._score(row)
        if self.mode == "train":
            x, phrase, score = self._augment(row, x, phrase, score)
        return self._pack(x, seq_len, phrase, score)

    def _row(self, idx: int) -> int:
        """Row of self.df for item idx (a fixed row, or a random member of a sampled group)."""
        if not 0 <= idx < len(self):
            raise IndexError(f"item {idx} out of range for a dataset of {len(self)} items")
        if idx < len(self._fixed_rows):
            return int(self._fixed_rows[idx])
        return self._sampled_groups.sample(idx - len(self._fixed_rows), self.rng)

    def _load(self, row: int, flipped: bool = False) -> tuple[np.ndarray, int]:
        """Normalised (optionally mirrored) `(T, 130, 3)` frames of a row and its raw number of frames T."""
        raw = load_sequence(self.paths[row])
        return normalize_array(raw, self.flip_array if flipped else None), len(raw)

    def _score(self, row: int) -> float | None:
        return None if self.scores is None else float(self.scores[row])

    def _partner(self, row: int) -> int | None:
        """A uniformly drawn row of the same participant with a different sequence_id (None if there is none)."""
        if self._n_partners[row] == 0:
            return None
        group = self._participant[row]
        while True:  # rejection sampling: uniform over the group minus the rows of this sequence
            other = self._participant_groups.sample(group, self.rng)
            if self._sequence_codes[other] != self._sequence_codes[row]:
                return other

    def _augment(self, row: int, x: np.ndarray, phrase: str, score: float | None
                 ) -> tuple[np.ndarray, str, float | None]:
        """Train-time outer CutMix -> aug on the normalised, possibly flipped sequence (SPEC §3.2 step 3)."""
        if self.rng.random() < self.cfg.outer_cutmix_aug:
            partner = self._partner(row)
            if partner is not None:
                # NOTE(original): ds_*.__getitem__ flips only the primary sequence, before CutMix (Q6).
                x2, _ = self._load(partner)
                x, phrase, score = outer_cutmix_array(x, phrase, x2, self.phrases[partner], self.rng,
                                                      score, self._score(partner))
        if isinstance(self.aug, Transform):  # our transforms may work in place on the array this item owns
            x = self.aug.maybe_apply(np.ascontiguousarray(x), self.rng)
        elif self.aug is not None:
            x = as_numpy(self.aug(torch.from_numpy(x), self.rng))
        return x, phrase, score

    def _pack(self, x: np.ndarray, seq_len: int, phrase: str, score: float | None) -> dict[str, torch.Tensor]:
        """The item dict of the batch contract (SPEC §3.2)."""
        frames, input_mask = interpolate_or_pad_array(x, self.max_len)
        token_ids, attention_mask = tokenize(phrase)
        # torch.from_numpy is several times cheaper than torch.tensor, also for the 0-d seq_len / score
        return {"input": torch.from_numpy(frames), "input_mask": torch.from_numpy(input_mask),
                "token_ids": torch.from_numpy(token_ids), "attention_mask": torch.from_numpy(attention_mask),
                "seq_len": torch.from_numpy(np.array(seq_len, dtype=np.int64))}


class ScoredFingerspellingDataset(FingerspellingDataset):
    """ds_2 semantics (SPEC §3.3): OOF quality scores, supplemental rows sampled once per phrase per epoch.

    Extra columns: `score` (default 1.0, clipped to [0, 1]) and `is_sup` (default 0). Train epochs serve
    every `is_sup == 0` row once plus one random recording of each distinct `is_sup == 1` phrase (order of
    first appearance); val/test keep only `is_sup == 0` rows. Items carry `score` (float64 as the original,
    float32 with `cfg.score_float32`).
    """

    with_score = True

    def _select_rows(self, df: pd.DataFrame) -> pd.DataFrame:
        df = super()._select_rows(df)
        if "score" not in df.columns:
            df["score"] = 1.0
        df["score"] = df["score"].astype(np.float64).clip(0.0, 1.0)
        if "is_sup" not in df.columns:
            df["is_sup"] = 0  # competition rows only (e.g. train_folded.csv)
        return df if self.mode == "train" else df[df["is_sup"] == 0]

    def _epoch_items(self) -> tuple[np.ndarray, GroupIndex | None]:
        is_sup = self.df["is_sup"].to_numpy()
        fixed = np.flatnonzero(is_sup == 0)
        if self.mode != "train":
            return fixed, None
        supplemental = np.flatnonzero(is_sup == 1)
        phrase_codes = pd.factorize(self.phrases[supplemental])[0]  # codes in order of first appearance
        return fixed, GroupIndex.from_codes(phrase_codes, supplemental)

    def _pack(self, x: np.ndarray, seq_len: int, phrase: str, score: float | None) -> dict[str, torch.Tensor]:
        item = super()._pack(x, seq_len, phrase, score)
        dtype = np.float32 if getattr(self.cfg, "score_float32", False) else np.float64
        item["score"] = torch.from_numpy(np.array(score, dtype=dtype))
        return item


def _default_seed(cfg: SimpleNamespace) -> list[int] | None:
    """[cfg.seed, DDP rank] when the config has a fixed seed, else None (fresh OS entropy)."""
    seed = getattr(cfg, "seed", -1)
    return [seed, int(os.environ.get("RANK", 0))] if seed is not None and seed >= 0 else None


def seed_worker(worker_id: int) -> None:
    """DataLoader `worker_init_fn`: re-seed the worker's dataset rng from torch's per-worker seed and the rank.

    PyTorch gives every worker `torch.initial_seed() = base_seed + worker_id` with a fresh base_seed per
    epoch, so workers and epochs draw differently; the DDP rank (env RANK) separates ranks.
    """
    info = torch.utils.data.get_worker_info()
    if info is None:
        return
    dataset = info.dataset
    while not hasattr(dataset, "rng") and hasattr(dataset, "dataset"):  # Subset / wrappers
        dataset = dataset.dataset
    if hasattr(dataset, "rng"):
        dataset.rng = np.random.default_rng([torch.initial_seed(), int(os.environ.get("RANK", 0))])
