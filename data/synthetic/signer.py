"""Per-signer variation: hand size and proportions, speed, handedness, style, camera set-up, data quality."""
from __future__ import annotations

from dataclasses import dataclass

from statistics import NormalDist

import numpy as np

from data.synthetic.hand import HandGeometry, sample_geometry

SIGNER_STREAM = 101  # rng stream key of signer parameters (numpy SeedSequence entropy [seed, key, index])
PALM_LENGTH_M = (0.080, 0.095)  # adult |wrist - middle MCP| (HANDS.md §1.3)
SIZE_JITTER = 0.08  # +-8 % per signer on top of the adult range
LEFT_HANDED_SHARE = 0.12
FRAMES_PER_CHAR_MEDIAN = 6.8  # 30 fps / ~4.3 letters/s (HANDS.md §3)
FRAMES_PER_CHAR_SIGMA = 0.22  # log-normal spread across signers (~2.5-6 letters/s)
DOUBLE_LETTER_STYLES = ("slide", "bounce", "reform")  # HANDS.md §3, "slide" most common
DOUBLE_LETTER_WEIGHTS = (0.6, 0.2, 0.2)
PORTRAIT_SHARE = 0.75  # phone videos: mostly portrait
FRAME_CENTRE_Y_M = -0.08  # image centre height (body frame y; eyes ~ -0.24 m, shoulders 0)


@dataclass(frozen=True)
class Camera:
    """A signer's recording set-up (pinhole camera in the body frame)."""

    distance_m: float  # camera -> shoulder plane
    focal_y: float  # focal length / image height
    aspect: float  # image width / height
    rotation: np.ndarray  # (3,) small yaw/pitch/roll of the camera, radians
    look_at: np.ndarray  # (2,) body-frame (x, y) point at the image centre, metres


@dataclass(frozen=True)
class Signer:
    """Everything that stays fixed for one participant."""

    index: int
    participant_id: int
    left_handed: bool
    hand: HandGeometry
    frames_per_char: float
    hold_share: float  # share of a letter's time spent holding (the rest is transition)
    coarticulation: float  # share of each neighbour's wrist/thumb angles blended into a hold
    dissimilation: float  # exaggeration of index/middle PIP differences to the neighbours
    double_style: str
    digit_palm_out: float  # probability that a 1-5 digit inside a lettered string is signed palm-out
    orient_bias: np.ndarray  # (3,) personal roll/pitch/yaw offset, radians
    location: np.ndarray  # (3,) signing wrist location relative to the dominant shoulder (x towards the midline)
    shoulder_width_m: float
    camera: Camera
    noise: float  # landmark noise multiplier
    miss_rate: float  # mean share of frames where the signing hand is not detected
    miss_burst: float  # mean length (frames) of a detection drop-out
    other_hand_share: float  # share of sequences where the resting hand shows up at the frame edge
    drift_p: float  # amplitude of the slow wrist drift, in P
    lead_in: float  # mean frames before the first letter
    lead_out: float  # mean frames after the last letter


def sample_camera(rng: np.random.Generator, wrist_x: float) -> Camera:
    """Phone on a stand, 0.7-1.3 m away, slightly rotated, framed on the face and the signing hand.

    `wrist_x` is the body-frame x of the signing location; the image centre is put half-way between it
    and the face, a little below the eyes (FRAME_CENTRE_Y_M), so that both stay in the picture.
    """
    portrait = rng.random() < PORTRAIT_SHARE
    vfov = np.deg2rad(rng.uniform(55, 70) if portrait else rng.uniform(40, 52))
    return Camera(
        distance_m=float(rng.uniform(0.8, 1.3) if portrait else rng.uniform(0.7, 1.1)),
        focal_y=float(0.5 / np.tan(vfov / 2)),
        aspect=9 / 16 if portrait else 16 / 9,
        rotation=np.deg2rad(rng.normal(0, [3.0, 4.0, 3.0])),
        look_at=np.array([0.5 * wrist_x + rng.normal(0, 0.02), FRAME_CENTRE_Y_M + rng.normal(0, 0.03)]),
    )


def speed_quantile(seed: int, index: int, n_signers: int) -> float:
    """Stratified quantile of signer `index`'s speed: the n signers of a data set cover the range evenly."""
    slot = np.random.default_rng([seed, SIGNER_STREAM]).permutation(n_signers)[index]
    return float((slot + np.random.default_rng([seed, SIGNER_STREAM, index, 1]).random()) / n_signers)


def sample_signer(seed: int, index: int, participant_id: int, n_signers: int) -> Signer:
    """Deterministic signer `index` (of `n_signers`) of a data set generated with `seed`."""
    if not 0 <= index < n_signers:
        raise ValueError(f"signer index {index} outside 0..{n_signers - 1}")
    rng = np.random.default_rng([seed, SIGNER_STREAM, index])
    palm = rng.uniform(*PALM_LENGTH_M) * (1 + SIZE_JITTER * rng.uniform(-1, 1))
    speed = FRAMES_PER_CHAR_MEDIAN * np.exp(FRAMES_PER_CHAR_SIGMA * NormalDist().inv_cdf(
        speed_quantile(seed, index, n_signers)))
    left_handed = bool(rng.random() < LEFT_HANDED_SHARE)
    shoulder_width = float(palm * rng.uniform(4.0, 4.5))
    location = np.array([rng.normal(0.13, 0.03), rng.normal(0.02, 0.03), rng.normal(-0.25, 0.04)])
    wrist_x = (location[0] - shoulder_width / 2) * (-1.0 if left_handed else 1.0)  # after mirroring
    return Signer(
        index=index,
        participant_id=participant_id,
        left_handed=left_handed,
        hand=sample_geometry(rng, palm),
        frames_per_char=float(speed),
        hold_share=float(rng.uniform(0.4, 0.6)),
        coarticulation=float(rng.uniform(0.1, 0.2)),
        dissimilation=float(rng.uniform(0.0, 0.15)),
        double_style=str(rng.choice(DOUBLE_LETTER_STYLES, p=DOUBLE_LETTER_WEIGHTS)),
        digit_palm_out=float(rng.uniform(0.0, 0.3)),
        orient_bias=np.deg2rad(rng.normal(0, [8.0, 8.0, 12.0])),
        location=location,
        shoulder_width_m=shoulder_width,
        camera=sample_camera(rng, wrist_x),
        noise=float(np.exp(rng.normal(0, 0.3))),
        miss_rate=float(rng.beta(1.3, 5.0)),
        miss_burst=float(rng.uniform(3, 15)),
        other_hand_share=float(rng.uniform(0.0, 0.3)),
        drift_p=float(rng.uniform(0.05, 0.25)),
        lead_in=float(rng.uniform(8, 20)),
        lead_out=float(rng.uniform(5, 15)),
    )
