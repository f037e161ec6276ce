"""What the camera and MediaPipe Holistic do to the 3-D scene: projection, landmark noise, drop-outs.

Normalised landmarks (HANDS.md §1.2): x = px / W, y = py / H (y down), z = depth relative to a part's
reference point (hand: its wrist, face: the head centre, pose: the hip midpoint), scaled like x, smaller =
closer to the camera. Missing detections are NaN for the whole part in that frame.
"""
from __future__ import annotations

import numpy as np

from data.synthetic.hand import matmul, rotate_coordinate_major, rotation_matrix
from data.synthetic.signer import Camera, Signer

# Holistic layout (data.landmarks.HOLISTIC_PARTS): face 0-467, left_hand 468-488, pose 489-521, right_hand 522-542.
FACE, LEFT_HAND, POSE, RIGHT_HAND = slice(0, 468), slice(468, 489), slice(489, 522), slice(522, 543)
HIPS = (489 + 23, 489 + 24)
# Landmark noise, in normalised image units (~1 px at 720p is 0.0014).
NOISE = {"hand_xy": 0.0012, "hand_z": 0.004, "hand_shift": 0.002, "pose": 0.002, "pose_arm": 0.004}
FRAME_MARGIN = 0.02  # a hand whose wrist leaves the image by more than this is not detected
FACE_MISS_RATE, FACE_MISS_BURST = 0.01, 4.0
OTHER_HAND_MISS_RATE, OTHER_HAND_MISS_BURST = 0.5, 12.0
# MediaPipe's hand depth is flatter than the true geometry: the z range of a hand, over its palm length, is
# 0.35 (median) in 1,582 real MediaPipe Hands frames and 0.38-0.40 in three real Holistic videos, against 0.67
# for our citation handshapes and 0.85 in our sequences at full scale (scripts/compare_real_synthetic.py).
HAND_Z_SCALE = 0.5


def project(world: np.ndarray, cam: Camera) -> np.ndarray:
    """(3, 543, T) body-frame metres -> (3, 543, T) normalised Holistic landmarks (float32)."""
    yaw, pitch, roll = np.asarray(cam.rotation, dtype=float)
    rot = matmul(matmul(rotation_matrix(2, roll), rotation_matrix(0, pitch)), rotation_matrix(1, yaw))
    origin = np.array([cam.look_at[0], cam.look_at[1], -cam.distance_m])
    # camera x right, y down, z forward
    pc = rotate_coordinate_major(rot[..., None], world - origin.astype(np.float32)[:, None, None])
    fx, fy = cam.focal_y / cam.aspect, cam.focal_y
    inv_depth = 1.0 / np.maximum(pc[2], 1e-3)
    out = np.empty(pc.shape, dtype=np.float32)
    np.multiply(pc[0], inv_depth, out=out[0])
    out[0] *= fx
    out[0] += 0.5
    np.multiply(pc[1], inv_depth, out=out[1])
    out[1] *= fy
    out[1] += 0.5
    refs = ((FACE, pc[2, FACE].mean(axis=0)), (LEFT_HAND, pc[2, LEFT_HAND.start]),
            (RIGHT_HAND, pc[2, RIGHT_HAND.start]), (POSE, pc[2, list(HIPS)].mean(axis=0)))
    for part, ref in refs:
        ref = np.maximum(ref, 1e-3)
        out[2, part] = fx * (pc[2, part] - ref) / ref
        if part in (LEFT_HAND, RIGHT_HAND):
            out[2, part] *= HAND_Z_SCALE
    return out


def burst_mask(rng: np.random.Generator, n_frames: int, miss_rate: float, mean_burst: float) -> np.ndarray:
    """(n_frames,) bool, True = missing: alternating present/missing runs (geometric lengths).

    Missing runs average `mean_burst` frames and cover about `miss_rate` of the frames.
    """
    miss_rate = float(np.clip(miss_rate, 0.0, 0.999))
    if miss_rate == 0.0 or n_frames == 0:
        return np.zeros(n_frames, dtype=bool)
    mean_present = mean_burst * (1 - miss_rate) / miss_rate
    n_runs = int(2 * n_frames / (mean_burst + mean_present)) + 8
    present = rng.geometric(1 / max(mean_present, 1.0), size=n_runs)
    missing = rng.geometric(1 / max(mean_burst, 1.0), size=n_runs)
    start_missing = rng.random() < miss_rate
    runs = np.stack([missing, present] if start_missing else [present, missing], axis=1).ravel()
    flags = np.tile([start_missing, not start_missing], n_runs)
    mask = np.repeat(flags, runs)
    if len(mask) < n_frames:
        mask = np.r_[mask, np.zeros(n_frames - len(mask), dtype=bool)]
    return mask[:n_frames]


def add_noise(lm: np.ndarray, signer: Signer, rng: np.random.Generator) -> None:
    """Add per-point and whole-hand jitter to hands and pose of (3, 543, T) landmarks, in place.

    (Face jitter is added in the scene, see sequence._head.)
    """
    t, s = lm.shape[-1], signer.noise
    for part in (LEFT_HAND, RIGHT_HAND):
        lm[:2, part] += s * NOISE["hand_xy"] * rng.standard_normal((2, 21, t), dtype=np.float32)
        lm[:2, part] += s * NOISE["hand_shift"] * rng.standard_normal((2, 1, t), dtype=np.float32)
        lm[2, part] += s * NOISE["hand_z"] * rng.standard_normal((21, t), dtype=np.float32)
    pose_sigma = np.full((33, 1), NOISE["pose"], dtype=np.float32)
    pose_sigma[13:23] = NOISE["pose_arm"]  # elbows, wrists and the coarse hand points are the least stable
    lm[:, POSE] += s * pose_sigma * rng.standard_normal((3, 33, t), dtype=np.float32)


def apply_dropouts(lm: np.ndarray, dominant: slice, other: slice, signer: Signer, other_visible: bool,
                   rng: np.random.Generator) -> None:
    """Blank (NaN) whole parts of (3, 543, T) landmarks in place: drop-out bursts, hands off-frame, face misses."""
    t = lm.shape[-1]
    off_frame = lambda part: np.any((lm[:2, part.start] < -FRAME_MARGIN)  # noqa: E731
                                    | (lm[:2, part.start] > 1 + FRAME_MARGIN), axis=0)
    lm[:, dominant, burst_mask(rng, t, signer.miss_rate, signer.miss_burst) | off_frame(dominant)] = np.nan
    if other_visible:
        other_missing = burst_mask(rng, t, OTHER_HAND_MISS_RATE, OTHER_HAND_MISS_BURST) | off_frame(other)
    else:
        other_missing = np.ones(t, dtype=bool)
    lm[:, other, other_missing] = np.nan
    lm[:, FACE, burst_mask(rng, t, FACE_MISS_RATE, FACE_MISS_BURST)] = np.nan
