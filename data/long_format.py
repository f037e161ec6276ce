"""MediaPipe Holistic output in the *long* layout (one row per landmark) <-> our wide raw format.

Kaggle's Isolated Sign Language Recognition competition, and many apps after it, store Holistic output as
`frame, row_id, type, landmark_index, x, y, z` (`row_id` = "<frame>-<type>-<index>", optional here); the
fingerspelling competition (and this project) stores one row per frame with `x_face_0 ... z_right_hand_20`.
Both use the same 543 landmarks (data.landmarks.HOLISTIC_PARTS): only the table layout differs.

A landmark absent from a long file (or stored as NaN) becomes NaN in the wide array, and vice versa.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data.landmarks import COORDS, HOLISTIC_PARTS, N_HOLISTIC

LONG_COLUMNS: tuple[str, ...] = ("frame", "type", "landmark_index") + COORDS  # required; row_id is optional
PART_SIZES: dict[str, int] = dict(HOLISTIC_PARTS)
PART_OFFSETS: dict[str, int] = {part: int(sum(n for _, n in HOLISTIC_PARTS[:i])) for i, (part, _) in
                                enumerate(HOLISTIC_PARTS)}


def _rows_named(df: pd.DataFrame, mask: np.ndarray, limit: int = 3) -> str:
    """'rows 5, 9, 12 (+N more)' for the first offending rows of a long table."""
    rows = np.flatnonzero(mask)
    more = f" (+{len(rows) - limit} more)" if len(rows) > limit else ""
    return ("row " if len(rows) == 1 else "rows ") + ", ".join(str(r) for r in rows[:limit]) + more


def _value(df: pd.DataFrame, column: str, row: int) -> object:
    """The plain Python value of one cell (for error messages)."""
    value = df[column].iloc[row]
    return value.item() if hasattr(value, "item") else value


def long_to_wide(df: pd.DataFrame, source: str = "long table") -> tuple[np.ndarray, np.ndarray]:
    """(frame numbers (T,) int64 ascending, landmarks (T, 543, 3) float32) of one long-format recording.

    Raises ValueError naming `source`, the column and the offending value: a missing column, an unknown
    `type`, a `landmark_index` outside its part's range, a non-integer frame or a landmark listed twice.
    """
    missing = [c for c in LONG_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{source}: missing column(s) {missing}; a long-format file has {list(LONG_COLUMNS)} "
                         f"(+ optional row_id)")
    if len(df) == 0:
        raise ValueError(f"{source}: no landmark rows")
    types = df["type"].astype(str).to_numpy()
    unknown = ~np.isin(types, list(PART_SIZES))
    if unknown.any():
        bad = sorted(set(types[unknown]))
        raise ValueError(f"{source}: column 'type' has unknown value(s) {bad[:5]} in {_rows_named(df, unknown)}; "
                         f"expected one of {list(PART_SIZES)}")
    index = pd.to_numeric(df["landmark_index"], errors="coerce").to_numpy(dtype=np.float64)
    sizes = np.array([PART_SIZES[t] for t in types])
    bad_index = ~np.isfinite(index) | (index != np.round(index)) | (index < 0) | (index >= sizes)
    if bad_index.any():
        i = int(np.flatnonzero(bad_index)[0])
        raise ValueError(f"{source}: column 'landmark_index' value {_value(df, 'landmark_index', i)!r} is out of range "
                         f"for type {types[i]!r} (0..{sizes[i] - 1}) in {_rows_named(df, bad_index)}")
    frame = pd.to_numeric(df["frame"], errors="coerce").to_numpy(dtype=np.float64)
    bad_frame = ~np.isfinite(frame) | (frame != np.round(frame))
    if bad_frame.any():
        i = int(np.flatnonzero(bad_frame)[0])
        raise ValueError(f"{source}: column 'frame' value {_value(df, 'frame', i)!r} is not an integer "
                         f"in {_rows_named(df, bad_frame)}")
    slot = np.array([PART_OFFSETS[t] for t in types]) + index.astype(np.int64)
    frames, row_frame = np.unique(frame.astype(np.int64), return_inverse=True)
    flat = row_frame * N_HOLISTIC + slot
    _, first, counts = np.unique(flat, return_index=True, return_counts=True)
    if (counts > 1).any():
        i = int(first[np.argmax(counts > 1)])
        raise ValueError(f"{source}: landmark {types[i]}_{int(index[i])} of frame {int(frame[i])} is listed "
                         f"{counts.max()} times (row {i})")
    out = np.full((len(frames) * N_HOLISTIC, 3), np.nan, dtype=np.float32)
    out[flat] = df[list(COORDS)].to_numpy(dtype=np.float32)
    return frames, out.reshape(len(frames), N_HOLISTIC, 3)


def wide_to_long(frames: np.ndarray, xyz: np.ndarray) -> pd.DataFrame:
    """The long table (`frame, row_id, type, landmark_index, x, y, z`, 543 rows a frame, Holistic order)."""
    xyz = np.asarray(xyz)
    if xyz.ndim != 3 or xyz.shape[1:] != (N_HOLISTIC, 3) or len(frames) != len(xyz):
        raise ValueError(f"expected {len(frames)} frames of shape ({N_HOLISTIC}, 3), got {xyz.shape}")
    types = np.concatenate([np.full(n, part) for part, n in HOLISTIC_PARTS])
    index = np.concatenate([np.arange(n) for _, n in HOLISTIC_PARTS])
    frame_col = np.repeat(np.asarray(frames, dtype=np.int64), N_HOLISTIC)
    type_col, index_col = np.tile(types, len(xyz)), np.tile(index, len(xyz))
    out = pd.DataFrame({
        "frame": frame_col,
        "row_id": [f"{f}-{t}-{i}" for f, t, i in zip(frame_col, type_col, index_col)],
        "type": type_col,
        "landmark_index": index_col.astype(np.int16),
    })
    for k, c in enumerate(COORDS):
        out[c] = xyz[:, :, k].reshape(-1).astype(np.float64)
    return out


def read_long_file(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """long_to_wide of a .parquet or .csv long-format file (errors name the file)."""
    path = Path(path)
    if path.suffix == ".parquet":
        df = pd.read_parquet(path)
    elif path.suffix == ".csv":
        df = pd.read_csv(path)
    else:
        raise ValueError(f"{path}: unsupported long-format file type {path.suffix!r} (use .parquet or .csv)")
    return long_to_wide(df, str(path))
