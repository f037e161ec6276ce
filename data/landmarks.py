"""MediaPipe Holistic landmark names, the 130 kept landmarks, their parts and the mirror map (SPEC §1.2-1.3).

Everything index-based in the repo (part index lists, finger groups, flip array, raw column names)
is derived here from landmark *names*, as the original does from `inference_args.json`.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from common.atomic import write_text_atomic
from common.errors import MissingInputError

COORDS: tuple[str, ...] = ("x", "y", "z")
N_COORDS: int = len(COORDS)  # input channels of the models
# Raw Holistic layout: face 0-467, left_hand 0-20, pose 0-32, right_hand 0-20 (543 points).
HOLISTIC_PARTS: tuple[tuple[str, int], ...] = (("face", 468), ("left_hand", 21), ("pose", 33), ("right_hand", 21))
HOLISTIC_LANDMARKS: list[str] = [f"{part}_{i}" for part, n in HOLISTIC_PARTS for i in range(n)]
N_HOLISTIC: int = len(HOLISTIC_LANDMARKS)  # 543
# Raw parquet columns after `frame`: all x, then all y, then all z (1,629 float32 columns).
RAW_LANDMARK_COLUMNS: list[str] = [f"{c}_{name}" for c in COORDS for name in HOLISTIC_LANDMARKS]
N_HAND: int = 21

# "1st place kept landmarks": LIP(40) + LHAND(21) + RHAND(21) + NOSE(4) + REYE(16) + LEYE(16) + LARMS(6) + RARMS(6).
LIPS = [0, 61, 185, 40, 39, 37, 267, 269, 270, 409, 291, 146, 91, 181, 84, 17, 314, 405, 321, 375,
        78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
NOSE = [1, 2, 98, 327]
REYE = [33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173]
LEYE = [263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398]
RARM = [12, 14, 16, 18, 20, 22]  # pose points of the subject's right arm (shoulder, elbow, wrist, pinky, index, thumb)
LARM = [11, 13, 15, 17, 19, 21]
SELECTED_LANDMARKS: list[str] = (
    [f"face_{i}" for i in LIPS]
    + [f"left_hand_{i}" for i in range(N_HAND)]
    + [f"right_hand_{i}" for i in range(N_HAND)]
    + [f"face_{i}" for i in NOSE + REYE + LEYE]
    + [f"pose_{i}" for i in RARM + LARM]
)
N_LANDMARKS: int = len(SELECTED_LANDMARKS)  # 130
assert N_LANDMARKS == 130
SELECTED_COLUMNS: list[str] = [f"{c}_{name}" for c in COORDS for name in SELECTED_LANDMARKS]  # 390

# Mirror pairs (symmetric relation). Hands: left_k <-> right_k. Pose: MediaPipe's left/right pairs, nose to itself.
FACE_MIRROR_PAIRS: list[tuple[int, int]] = [
    (0, 0), (13, 13), (14, 14), (17, 17), (37, 267), (39, 269), (40, 270), (61, 291), (78, 308), (80, 310),
    (81, 311), (82, 312), (84, 314), (87, 317), (88, 318), (91, 321), (95, 324), (146, 375), (178, 402),
    (181, 405), (185, 409), (191, 415),  # lips
    (1, 1), (2, 2), (98, 327),  # nose
] + list(zip(REYE, LEYE))  # eye contours, point by point
POSE_MIRROR_PAIRS: list[tuple[int, int]] = [(0, 0)] + [(a, a + 3) for a in (1, 2, 3)] + [
    (a, a + 1) for a in range(7, 33, 2)]

# Part types used by the model (SPEC §1.2): 1 lhand, 2 rhand, 3 face, 4 pose.
PART_NAMES: tuple[str, ...] = ("lhand", "rhand", "face", "pose")


def landmark_part(name: str) -> str:
    """Model part of a landmark name ('lhand', 'rhand', 'face', 'pose'); raises ValueError otherwise."""
    if "left_hand" in name:
        return "lhand"
    if "right_hand" in name:
        return "rhand"
    if "face" in name:
        return "face"
    if "pose" in name:
        return "pose"
    raise ValueError(f"landmark {name!r} belongs to no known part (left_hand, right_hand, face, pose)")


def part_indices(landmarks: list[str] = SELECTED_LANDMARKS) -> dict[str, list[int]]:
    """Ascending indices of each part among `landmarks` (face = lips then nose/eyes)."""
    out: dict[str, list[int]] = {p: [] for p in PART_NAMES}
    for i, name in enumerate(landmarks):
        out[landmark_part(name)].append(i)
    return out


def finger_groups(landmarks: list[str] = SELECTED_LANDMARKS) -> list[list[int]]:
    """The 10 fingers (left hand then right hand, thumb..pinky) as lists of 4 landmark indices, wrist excluded."""
    groups = []
    for hand in ("left_hand", "right_hand"):
        idx = [landmarks.index(f"{hand}_{k}") for k in range(1, N_HAND)]
        groups += [idx[i:i + 4] for i in range(0, len(idx), 4)]
    return groups


def mirror_map() -> dict[str, str]:
    """Mirror image of every landmark that has a known mirror (all hands and pose, the kept face points)."""
    m: dict[str, str] = {}
    for k in range(N_HAND):
        m[f"left_hand_{k}"], m[f"right_hand_{k}"] = f"right_hand_{k}", f"left_hand_{k}"
    for prefix, pairs in (("face", FACE_MIRROR_PAIRS), ("pose", POSE_MIRROR_PAIRS)):
        for a, b in pairs:
            m[f"{prefix}_{a}"], m[f"{prefix}_{b}"] = f"{prefix}_{b}", f"{prefix}_{a}"
    return m


def symmetry_frame() -> pd.DataFrame:
    """The rows of datamount/symmetry.csv (`id, corresponding_id`)."""
    m = mirror_map()
    order = [n for n in HOLISTIC_LANDMARKS if n in m]
    return pd.DataFrame({"id": order, "corresponding_id": [m[n] for n in order]})


def flip_array(landmarks: list[str], symmetry: pd.DataFrame) -> np.ndarray:
    """flip[i] = index of the mirror of landmarks[i] (SPEC §1.3); raises naming any landmark without a mirror."""
    mirror = dict(zip(symmetry["id"], symmetry["corresponding_id"]))
    missing = [n for n in landmarks if n not in mirror]
    if missing:
        raise ValueError(f"symmetry table has no mirror for {missing[:5]} ({len(missing)} landmarks)")
    mirrored = [mirror[n] for n in landmarks]
    out = np.empty(len(landmarks), dtype=np.int64)
    for i, name in enumerate(landmarks):
        matches = [j for j, m in enumerate(mirrored) if m == name]
        if len(matches) != 1:
            raise ValueError(f"landmark {name!r}: expected exactly one mirror among the kept landmarks, got {matches}")
        out[i] = matches[0]
    return out


def write_inference_args(path: str | Path, columns: list[str] = SELECTED_COLUMNS) -> None:
    """Write inference_args.json = {"selected_columns": [...]} (atomically)."""
    write_text_atomic(json.dumps({"selected_columns": list(columns)}), path)


def read_selected_columns(path: str | Path) -> list[str]:
    """The 3 * N_LANDMARKS `selected_columns` of an inference_args.json, in file order (what Kaggle feeds)."""
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"{path} does not exist (written by scripts/prepare_data.py and by the export)")
    try:
        cols = json.loads(path.read_text())["selected_columns"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a valid inference_args.json with 'selected_columns' ({e})") from e
    if len(cols) != 3 * N_LANDMARKS:
        raise ValueError(f"{path}: expected {3 * N_LANDMARKS} selected_columns, got {len(cols)}")
    return list(cols)


def read_inference_args(path: str | Path) -> list[str]:
    """Landmark names (prefix stripped) of the first N_LANDMARKS selected columns of an inference_args.json."""
    return [c[2:] for c in read_selected_columns(path)[:N_LANDMARKS]]
