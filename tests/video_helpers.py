"""What the video tests (test_video.py, test_predict_video.py) know about the real videos, and how they read an
extracted parquet."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from data.landmarks import N_HOLISTIC, RAW_LANDMARK_COLUMNS
from data.raw_format import read_landmark_parquet

FRAMES = {"alligator": 161, "bear": 62, "horse": 124}  # decoded frames of ../shared/realdata/videos (ffprobe agrees)


def landmarks(path: Path) -> np.ndarray:
    """(T, 543, 3) of the single sequence of an extracted parquet."""
    (arr,) = read_landmark_parquet(path, RAW_LANDMARK_COLUMNS).values()
    return arr.reshape(len(arr), 3, N_HOLISTIC).transpose(0, 2, 1)
