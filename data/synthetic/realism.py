"""How far the synthetic data is from real MediaPipe output: handshapes and per-frame statistics.

* `classify_static_hands`: each real static-letter hand (MediaPipe Hands, 21 points) goes to the nearest synthetic
  citation handshape (`handshapes.canonical_hand`) after the same normalisation (wrist at the origin, palm length
  |wrist - middle MCP| = 1, optionally the best 3-D rotation removed by Kabsch), so the accuracy says whether
  our per-character shapes look like real ones.
* `sequence_stats`: per-frame statistics of a (T, 543, 3) Holistic sequence that the generator controls: hand size
  relative to the shoulders, wrist speed, frames with the signing hand missing, the hand's depth (z) range.

Image coordinates are normalised by width (x) and height (y) separately; every distance here is first put in
units of the image height (x and z times width / height), so the numbers compare across aspect ratios.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data.landmarks import HOLISTIC_LANDMARKS, N_HAND

WRIST, MIDDLE_MCP = 0, 9
LEFT_SHOULDER, RIGHT_SHOULDER = HOLISTIC_LANDMARKS.index("pose_11"), HOLISTIC_LANDMARKS.index("pose_12")


def normalise_hands(hands: np.ndarray) -> np.ndarray:
    """(N, 21, 3) hands translated to the wrist and scaled to a unit palm (|wrist - middle MCP| = 1)."""
    centred = hands - hands[:, WRIST:WRIST + 1]
    palm = np.linalg.norm(centred[:, MIDDLE_MCP], axis=-1)
    return centred / palm[:, None, None]


def kabsch_rmsd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """RMS distance between the points of each a[i] (N, 21, 3) and the template b (21, 3) after the best rotation
    of a[i] about the origin (no reflection)."""
    h = np.einsum("npi,pj->nij", a, b)
    u, s, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(u @ vt))
    s[:, -1] *= d  # a reflection would fit better: take the best proper rotation instead
    sq = (a ** 2).sum((1, 2)) + (b ** 2).sum() - 2 * s.sum(1)
    return np.sqrt(np.maximum(sq, 0) / a.shape[1])


def plain_rmsd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """RMS distance between the points of each a[i] and b, no rotation."""
    return np.sqrt(((a - b) ** 2).sum(-1).mean(-1))


def classify_static_hands(hands: np.ndarray, templates: dict[str, np.ndarray], rotate: bool) -> list[str]:
    """Label of the nearest template for each normalised real hand (N, 21, 3)."""
    names = list(templates)
    metric = kabsch_rmsd if rotate else plain_rmsd
    dist = np.stack([metric(hands, templates[n]) for n in names], axis=1)
    return [names[i] for i in dist.argmin(1)]


def to_height_units(xyz: np.ndarray, aspect: float) -> np.ndarray:
    """Scale x and z (normalised by the image width) by `aspect` = width / height."""
    return xyz * np.array([aspect, 1.0, aspect], dtype=np.float64)


@dataclass
class SequenceStats:
    """Per-sequence statistics (medians over frames unless said otherwise)."""

    hand_to_shoulders: float  # palm length / shoulder width
    wrist_speed: float  # wrist displacement per frame / shoulder width (frames with the hand in both)
    wrist_speed_p90: float
    hand_missing: float  # share of frames without the signing hand
    hand_z_range: float  # (max z - min z) of the signing hand / its palm length
    wrist_height: float  # (wrist y - shoulder y) / shoulder width (negative: above the shoulders)


def sequence_stats(xyz: np.ndarray, aspect: float, hand: str) -> SequenceStats:
    """Statistics of a (T, 543, 3) Holistic sequence whose signing hand is `hand` ('right_hand' / 'left_hand')."""
    pts = to_height_units(xyz.astype(np.float64), aspect)
    start = HOLISTIC_LANDMARKS.index(f"{hand}_0")
    h = pts[:, start:start + N_HAND]
    shoulders = np.linalg.norm(pts[:, LEFT_SHOULDER, :2] - pts[:, RIGHT_SHOULDER, :2], axis=-1)
    present = np.isfinite(h[:, WRIST, 0])
    palm = np.linalg.norm(h[:, MIDDLE_MCP, :2] - h[:, WRIST, :2], axis=-1)
    step = np.linalg.norm(np.diff(h[:, WRIST, :2], axis=0), axis=-1) / shoulders[1:]
    step = step[np.isfinite(step)]
    shoulder_y = (pts[:, LEFT_SHOULDER, 1] + pts[:, RIGHT_SHOULDER, 1]) / 2

    def median(v: np.ndarray) -> float:
        v = v[np.isfinite(v)]
        return float(np.median(v)) if len(v) else float("nan")

    return SequenceStats(
        hand_to_shoulders=median(palm / shoulders),
        wrist_speed=median(step),
        wrist_speed_p90=float(np.percentile(step, 90)) if len(step) else float("nan"),
        hand_missing=float(1 - present.mean()),
        hand_z_range=median((np.nanmax(h[present, :, 2], 1) - np.nanmin(h[present, :, 2], 1)) / palm[present])
        if present.any() else float("nan"),
        wrist_height=median((h[:, WRIST, 1] - shoulder_y) / shoulders),
    )
