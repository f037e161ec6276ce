"""A tiny datamount on disk and tiny train.py command lines for the training tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import train
from data.datamount import Datamount, write_static_files
from data.landmarks import SELECTED_LANDMARKS, write_inference_args

WORDS = ("abc", "hello", "xyz", "sign", "cat", "dog", "moon", "asl")
HAND_SLICE = slice(40, 82)  # both hands in SELECTED_LANDMARKS order (left 40-60, right 61-81)


def write_sequence(path: Path, n_frames: int, word_id: int, rng: np.random.Generator) -> None:
    """A (T, 390) float32 sequence whose hand coordinates depend on the word (learnable), with NaN frames."""
    n = len(SELECTED_LANDMARKS)
    x = rng.normal(0, 0.05, size=(n_frames, 3, n)).astype(np.float32)
    x[:, :, HAND_SLICE] += np.float32(word_id / len(WORDS))
    x[rng.random(n_frames) < 0.2, :, 40:61] = np.nan  # left hand missing in some frames
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, x.reshape(n_frames, 3 * n))


def make_datamount(root: Path, n_participants: int = 4, per_participant: int = 6, seed: int = 0) -> Datamount:
    """npy files, inference_args.json, symmetry.csv, train_folded.csv and train_folded_oof_supp.csv.

    Participant p is in fold p % 4; the OOF table adds 4 supplemental rows (two phrases) with score 0.5.
    """
    rng = np.random.default_rng(seed)
    mount = write_static_files(root)
    mount.npy_dir.mkdir(parents=True, exist_ok=True)
    write_inference_args(mount.inference_args)
    rows = []
    for p in range(n_participants):
        for k in range(per_participant):
            word_id = int(rng.integers(len(WORDS)))
            seq_id, n_frames = 1000 * p + k, int(rng.integers(16, 40))
            write_sequence(mount.npy_path(p, seq_id), n_frames, word_id, rng)
            rows.append(dict(path=f"train_landmarks/{p}.parquet", file_id=p, sequence_id=seq_id, participant_id=p,
                             phrase=WORDS[word_id], fold=p % 4, seq_len=n_frames))
    train = pd.DataFrame(rows)
    train.to_csv(mount.train_folded, index=False)
    supp = []
    for k in range(4):
        seq_id, n_frames = 90_000 + k, int(rng.integers(16, 40))
        write_sequence(mount.npy_path(99, seq_id), n_frames, k % 2, rng)
        supp.append(dict(path="supplemental_landmarks/99.parquet", file_id=99, sequence_id=seq_id,
                         participant_id=k % 2, phrase=WORDS[k % 2], fold=k % 4, seq_len=n_frames, score=0.5,
                         phrase_len=len(WORDS[k % 2]), is_sup=1))
    oof = train.assign(score=rng.random(len(train)), phrase_len=train.phrase.str.len(), is_sup=0)
    pd.concat([oof, pd.DataFrame(supp)], ignore_index=True).to_csv(mount.oof_supp, index=False)
    return mount


def tiny_overrides(mount: Datamount, out_dir: Path, **extra) -> list[str]:
    """Overrides that shrink demo_1/demo_2 to a seconds-long CPU run on `mount`."""
    values = dict(data_folder=f"{mount.npy_dir}/", symmetry_fp=mount.symmetry, output_dir=out_dir, encoder_dim=32,
                  num_layers=1, decoder_ffn_dim=32, decoder_layers=1, max_len=32, conv_kernel_size=5, batch_size=4,
                  grad_accumulation=2, epochs=3, warmup_epochs=1, eval_epochs=3, lr=3e-3, num_workers=0,
                  device="cpu", logger="none", seed=3)
    values.update(extra)
    argv = []
    for key, value in values.items():
        argv += [f"--{key}", str(value)]
    return argv


def run_train(config: str, fold: int, mount: Datamount, out: Path, **extra) -> dict | None:
    """train.py's main on `mount` (round 2 demo configs train on its OOF-supplemented frame)."""
    train_df = mount.oof_supp if config == "demo_2" else mount.train_folded
    return train.main(["-C", config, "--fold", str(fold), *tiny_overrides(mount, out, train_df=train_df, **extra)])
