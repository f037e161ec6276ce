"""One synthetic sequence: phrase + signer -> (n_frames, 543, 3) float32 Holistic landmarks (NaN = missing).

The scene is built for a right-handed signer in the body frame (metres; origin between the shoulders,
x = image right = the subject's left, y down, z away from the camera). A left-handed signer is the
mirror image: arms and hands are reflected about the body midline and their left/right labels swap.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from data.landmarks import N_HOLISTIC
from data.synthetic import body, camera, hand
from data.synthetic.choreography import hand_trajectory, smooth_noise
from data.synthetic.hand import HandGeometry
from data.synthetic.handshapes import shape_state
from data.synthetic.signer import Signer
from data.synthetic.timing import TIMING_STREAM, TimingPlan, plan_timing

MOTION_STREAM = 303  # rng stream key: [seed, MOTION_STREAM, sequence_id]
UPPER_ARM_P, FOREARM_P = 3.3, 2.9  # HANDS.md §1.3
FACE_SCALE_P = (0.95, 1.1)  # outer eye-corner distance in P
HEAD_CENTRE_M = np.array([0.0, -0.24, 0.0])  # eye line, relative to the shoulder midpoint
HEAD_SWAY_DEG = np.array([4.0, 3.0, 2.0])  # yaw, pitch, roll amplitudes
BODY_SWAY_M = 0.01
HEAD_PERIODS = (30.0, 150.0)
MOUTH_MAX_OPENING = 0.15  # E
FACE_JITTER_M = 0.0005  # whole-face jitter per frame
FACE_POINT_NOISE_M = 0.0003  # per-point jitter of the face points the project keeps
ELBOW_POLE = np.array([-0.4, 1.0, 0.3])  # dominant (right) elbow bends down, outwards and back
OTHER_WRIST_M = {"rest": np.array([0.05, 0.50, -0.08]), "raised": np.array([0.04, 0.30, -0.14])}
OTHER_HAND_ORIENT_DEG = (180.0, -20.0, 60.0)  # resting hand: fingers down, palm towards the body
POSE_HAND_OFFSET_P = 0.05  # pose points are coarser than the hand model


def _mirror_x(points: np.ndarray) -> np.ndarray:
    """Reflect body-frame points about the body midline (x -> -x)."""
    return points * np.array([-1.0, 1.0, 1.0])


def _other_hand(signer: Signer, shoulder: np.ndarray, raised: bool) -> np.ndarray:
    """(T, 21, 3) metres: the resting non-dominant (left) hand, a mirrored right hand hanging down."""
    wrist = shoulder + OTHER_WRIST_M["raised" if raised else "rest"]
    return wrist[:, None] + _resting_hand_local(signer.hand)[None]


@lru_cache(maxsize=None)
def _resting_hand_local(geom: HandGeometry) -> np.ndarray:
    """(21, 3) metres relative to the wrist: the relaxed, hanging, mirrored hand of `geom` (cached per hand)."""
    state = shape_state("rest").copy()
    state[hand.ORIENT] = np.deg2rad(OTHER_HAND_ORIENT_DEG)
    state[hand.OFFSET] = 0.0
    return _mirror_x(hand.forward_kinematics(state[None], geom)[0]) * geom.palm_length_m


def _head(signer: Signer, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(3, 468, T) face (coordinate-major, float32), (T, 3, 3) head rotation, (T, 3) head position, in metres.

    Elementwise products only (no BLAS), so the result does not depend on the BLAS thread count.
    """
    scale = signer.hand.palm_length_m * rng.uniform(*FACE_SCALE_P)
    angles = np.deg2rad(HEAD_SWAY_DEG) * (smooth_noise(rng, n, 3, HEAD_PERIODS) + rng.normal(0, 1, 3))
    rot = hand.matmul(hand.matmul(hand.rotation_matrix(2, angles[:, 2]), hand.rotation_matrix(0, angles[:, 1])),
                      hand.rotation_matrix(1, angles[:, 0]))
    pos = HEAD_CENTRE_M + BODY_SWAY_M * smooth_noise(rng, n, 3, HEAD_PERIODS)
    shift = (pos + FACE_JITTER_M * signer.noise * rng.standard_normal((n, 3))).T.astype(np.float32)  # (3, T)
    template, mouth = (scale * a.T.astype(np.float32)[:, :, None] for a in body.face_template())  # (3, 468, 1)
    opening = MOUTH_MAX_OPENING * np.clip(smooth_noise(rng, n, 1, (8.0, 30.0))[:, 0], 0.0, 1.0)  # mouthing
    local = template + mouth * opening.astype(np.float32)  # (3, 468, T)
    face = hand.rotate_coordinate_major(rot.transpose(1, 2, 0), local)
    face += shift[:, None, :]
    face[:, body.KEPT_FACE] += FACE_POINT_NOISE_M * signer.noise * rng.standard_normal(
        (3, len(body.KEPT_FACE), n), dtype=np.float32)
    return face, rot, pos


def build_scene(phrase: str, signer: Signer, plan: TimingPlan, rng: np.random.Generator
                ) -> tuple[np.ndarray, bool]:
    """(3, 543, T) body-frame landmarks in metres (right-handed scene) and whether the other hand shows."""
    n, palm = plan.n_frames, signer.hand.palm_length_m
    states = hand_trajectory(phrase, signer, plan, rng)
    sway = BODY_SWAY_M * smooth_noise(rng, n, 3, HEAD_PERIODS)
    half = signer.shoulder_width_m / 2
    shoulder_r, shoulder_l = sway + [-half, 0.0, 0.0], sway + [half, 0.0, 0.0]
    right = shoulder_r[:, None] + signer.location + palm * hand.forward_kinematics(states, signer.hand)
    raised = bool(rng.random() < signer.other_hand_share)
    left = _other_hand(signer, shoulder_l, raised)
    pose = np.repeat(body.lower_body(signer.shoulder_width_m)[None], n, axis=0)
    face, head_rot, head_pos = _head(signer, n, rng)
    pose[:, :11] = body.head_pose_points(face, head_rot, head_pos, palm)
    upper, fore = UPPER_ARM_P * palm, FOREARM_P * palm
    pose[:, list(body.ARM_POSE_POINTS["right"])] = body.arm_points(shoulder_r, right, upper, fore, ELBOW_POLE)
    pose[:, list(body.ARM_POSE_POINTS["left"])] = body.arm_points(shoulder_l, left, upper, fore,
                                                                  _mirror_x(ELBOW_POLE))
    pose[:, 17:23] += POSE_HAND_OFFSET_P * palm * rng.standard_normal(3)  # a consistent coarse-point bias
    scene = np.empty((3, N_HOLISTIC, n), dtype=np.float32)
    scene[:, camera.FACE] = face
    for part, points in ((camera.LEFT_HAND, left), (camera.POSE, pose), (camera.RIGHT_HAND, right)):
        scene[:, part] = points.transpose(2, 1, 0)
    return scene, raised


def _make_left_handed(scene: np.ndarray) -> np.ndarray:
    """Mirror arms and hands of a (3, 543, T) scene about the body midline and swap their left/right labels."""
    pose = camera.POSE.start
    left = [*range(camera.LEFT_HAND.start, camera.LEFT_HAND.stop), *(pose + i for i in body.ARM_POSE_POINTS["left"])]
    right = [*range(camera.RIGHT_HAND.start, camera.RIGHT_HAND.stop),
             *(pose + i for i in body.ARM_POSE_POINTS["right"])]
    out = scene.copy()
    out[:, left], out[:, right] = scene[:, right], scene[:, left]
    out[0, left + right] *= -1.0  # x -> -x (the face is left as it is)
    return out


def synthesize_sequence(phrase: str, signer: Signer, seed: int, sequence_id: int) -> np.ndarray:
    """(n_frames, 543, 3) float32 landmarks of `phrase` signed by `signer` (deterministic per seed and id).

    The result is a transposed view of a coordinate-major (3, 543, n_frames) array, the layout of the raw
    parquet columns, so that writing it needs no copy.
    """
    plan = plan_timing(phrase, signer, np.random.default_rng([seed, TIMING_STREAM, sequence_id]))
    rng = np.random.default_rng([seed, MOTION_STREAM, sequence_id])
    scene, other_visible = build_scene(phrase, signer, plan, rng)
    if signer.left_handed:
        scene = _make_left_handed(scene)
    lm = camera.project(scene, signer.camera)
    camera.add_noise(lm, signer, rng)
    dominant, other = (camera.LEFT_HAND, camera.RIGHT_HAND) if signer.left_handed else (
        camera.RIGHT_HAND, camera.LEFT_HAND)
    camera.apply_dropouts(lm, dominant, other, signer, other_visible, rng)
    return lm.transpose(2, 1, 0)
