"""A tiny competition-format raw folder (train.csv, supplemental_metadata.csv, landmark parquets) for the tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data.landmarks import HOLISTIC_LANDMARKS
from data.raw_format import METADATA_COLUMNS, write_landmark_parquet

LEFT_HAND = slice(HOLISTIC_LANDMARKS.index("left_hand_0"), HOLISTIC_LANDMARKS.index("left_hand_20") + 1)
PHRASES = ["909-205-3229", "4051 concord street north", "www.skipcity-dcf.jp", "hello there", "a"]
# (csv, folder, file_id, participant_id, sequence ids)
LAYOUT = [("train.csv", "train_landmarks", 1001, 7, [11, 12, 13]),
          ("train.csv", "train_landmarks", 1002, 8, [21, 22]),
          ("supplemental_metadata.csv", "supplemental_landmarks", 2001, 7, [31, 32])]


def random_sequence(rng: np.random.Generator, n_frames: int) -> np.ndarray:
    """(T, 543, 3) float32 landmarks with the left hand missing in a burst of frames."""
    xyz = rng.normal(0.5, 0.2, size=(n_frames, len(HOLISTIC_LANDMARKS), 3)).astype(np.float32)
    xyz[: n_frames // 2, LEFT_HAND] = np.nan
    return xyz


def make_raw(raw: Path, seed: int = 0) -> dict[int, np.ndarray]:
    """A tiny competition-format folder; returns {sequence_id: (T, 543, 3)} as written."""
    rng, rows, written = np.random.default_rng(seed), {}, {}
    for k, (csv, folder, file_id, participant, seq_ids) in enumerate(LAYOUT):
        seqs = {s: random_sequence(rng, int(rng.integers(3, 40))) for s in seq_ids}
        write_landmark_parquet(raw / folder / f"{file_id}.parquet", seqs)
        written |= seqs
        rows.setdefault(csv, []).extend(
            [f"{folder}/{file_id}.parquet", file_id, s, participant, PHRASES[(k + i) % len(PHRASES)]]
            for i, s in enumerate(seq_ids))
    for csv, r in rows.items():
        pd.DataFrame(r, columns=METADATA_COLUMNS).to_csv(raw / csv, index=False)
    return written
