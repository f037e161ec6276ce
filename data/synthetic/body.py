"""Face (468-point mesh) and pose (33 points) of a signer, consistent with the signing hand.

Face: a synthetic template, not MediaPipe's canonical mesh. The 76 points the project keeps (lips, nose,
eyes; HANDS.md §1.5) are placed anatomically by index, the face oval follows MediaPipe's FACE_OVAL
index ring, and the remaining points fill the face surface. Units: E = outer eye-corner distance
(|33 - 263| = 1 E ~ 1 P), head frame x = image right, y = down, z = away from the camera, origin at the
midpoint between the eyes' outer corners.
Pose: MediaPipe's 33 points; the arm chain shoulder -> elbow -> wrist is solved by two-bone IK so that
it ends at the hand's wrist, and pose points 17-22 sit on the hand's knuckles and thumb.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from data.landmarks import LEYE, REYE, SELECTED_LANDMARKS
from data.synthetic.hand import rotate
from data.synthetic.topology import LIPS_INNER_LOWER, LIPS_INNER_UPPER, LIPS_OUTER_LOWER, LIPS_OUTER_UPPER

N_FACE, N_POSE = 468, 33
# MediaPipe FACEMESH_FACE_OVAL ring, from the forehead top clockwise on screen (towards the image right).
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]
NOSE_POINTS = {1: (0.0, 0.45, -0.55), 2: (0.0, 0.55, -0.48), 98: (-0.14, 0.50, -0.38), 327: (0.14, 0.50, -0.38)}
FACE_FRONT_Z = -0.35  # E: depth of the eye corners / mouth plane relative to the head frame origin
MOUTH = {"y": 0.85, "half_width": 0.275, "inner_half_width": 0.22}
EYE = {"outer_x": 0.5, "inner_x": 0.17, "lower": 0.07, "upper": 0.09}
OVAL = {"half_width": 0.78, "top": -0.75, "bottom": 1.45}
KEPT_FACE = sorted({int(n[5:]) for n in SELECTED_LANDMARKS if n.startswith("face_")})  # the 76 kept points
EAR_POINTS = ((0.85, 0.25, 0.15), (-0.85, 0.25, 0.15))  # pose 7 (left ear), 8 (right ear)

# Pose indices.
NOSE, L_EYE_INNER, L_EYE, L_EYE_OUTER, R_EYE_INNER, R_EYE, R_EYE_OUTER, L_EAR, R_EAR, MOUTH_L, MOUTH_R = range(11)
ARM_POSE_POINTS = {"right": (12, 14, 16, 18, 20, 22), "left": (11, 13, 15, 17, 19, 21)}
COARSE_HAND_POINTS = ((17,), (5,), (1, 2))  # pose pinky, index, thumb <- hand landmarks (HANDS.md §1.4)
# Lower body (metres, body frame, x of the subject's left side; mirrored for the right side).
LOWER_BODY_M = {23: (0.15, 0.52, 0.03), 25: (0.13, 0.95, -0.02), 27: (0.12, 1.38, 0.05),
                29: (0.12, 1.43, 0.10), 31: (0.14, 1.47, -0.08)}


def _lid(outer: float, inner: float, height: float, n: int) -> np.ndarray:
    """n points of an eyelid between the outer and inner corner (x), bulging by `height` (y)."""
    t = np.arange(1, n + 1) / (n + 1)
    return np.stack([outer + (inner - outer) * t, height * np.sin(np.pi * t), -0.02 * np.sin(np.pi * t)], axis=1)


def _eye(side: float) -> np.ndarray:
    """16 eye-contour points in REYE/LEYE order: outer, 7 lower, inner, 7 upper (side -1 = subject right)."""
    outer, inner = side * EYE["outer_x"], side * EYE["inner_x"]
    corner = lambda x: np.array([[x, 0.0, 0.0]])  # noqa: E731
    return np.concatenate([corner(outer), _lid(outer, inner, EYE["lower"], 7), corner(inner),
                           _lid(outer, inner, -EYE["upper"], 7)]) + [0.0, 0.0, FACE_FRONT_Z]


def _lip_row(half_width: float, bulge: np.ndarray, n: int, with_corners: bool) -> np.ndarray:
    """A lip contour from the subject-right to the left corner (y = MOUTH y + bulge profile)."""
    t = np.linspace(0, 1, n) if with_corners else np.arange(1, n + 1) / (n + 1)
    x = -half_width + 2 * half_width * t
    profile = np.sin(np.pi * t)
    return np.stack([x, MOUTH["y"] + bulge * profile, FACE_FRONT_Z - 0.1 * profile], axis=1)


def _mouth(opening: float) -> dict[int, np.ndarray]:
    """Lip points for a mouth opening (E) between the inner lips."""
    rows = (
        (LIPS_OUTER_UPPER, _lip_row(MOUTH["half_width"], np.array(-0.09 - 0.2 * opening), 11, True)),
        (LIPS_OUTER_LOWER, _lip_row(MOUTH["half_width"], np.array(0.12 + 0.8 * opening), 9, False)),
        (LIPS_INNER_UPPER, _lip_row(MOUTH["inner_half_width"], np.array(-0.015 - 0.3 * opening), 11, True)),
        (LIPS_INNER_LOWER, _lip_row(MOUTH["inner_half_width"], np.array(0.015 + 0.7 * opening), 9, False)),
    )
    return {i: p for idx, pts in rows for i, p in zip(idx, pts)}


def _surface_depth(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Depth (z, E) of an ellipsoidal face surface at (x, y)."""
    r = (x / OVAL["half_width"]) ** 2 + ((y - 0.35) / 1.15) ** 2
    return FACE_FRONT_Z + 0.45 - 0.5 * np.sqrt(np.clip(1 - r, 0.0, 1.0))


@lru_cache(maxsize=None)
def face_template() -> tuple[np.ndarray, np.ndarray]:
    """(468, 3) closed-mouth face in E, and (468, 3) displacement per E of mouth opening."""
    pts = np.full((N_FACE, 3), np.nan)
    angle = np.linspace(0, 2 * np.pi, len(FACE_OVAL), endpoint=False)
    oy = 0.5 * (OVAL["top"] + OVAL["bottom"]) - 0.5 * (OVAL["bottom"] - OVAL["top"]) * np.cos(angle)
    ox = OVAL["half_width"] * np.sin(angle)
    pts[FACE_OVAL] = np.stack([ox, oy, _surface_depth(0.97 * ox, oy)], axis=1)
    for eye, side in ((REYE, -1.0), (LEYE, 1.0)):
        pts[eye] = _eye(side)
    for i, p in NOSE_POINTS.items():
        pts[i] = p
    closed, opened = _mouth(0.0), _mouth(1.0)
    for i, p in closed.items():
        pts[i] = p
    free = np.flatnonzero(np.isnan(pts[:, 0]))
    gx, gy = np.meshgrid(np.linspace(-0.85, 0.85, 23), np.linspace(-0.7, 1.4, 26))
    inside = (gx / OVAL["half_width"]) ** 2 + ((gy - 0.35) / 1.1) ** 2 < 0.9
    grid = np.stack([gx[inside], gy[inside]], axis=1)
    grid = grid[np.argsort(np.hypot(grid[:, 0], grid[:, 1] - 0.35), kind="stable")][: len(free)]
    assert len(grid) == len(free), (len(grid), len(free))
    pts[free] = np.c_[grid, _surface_depth(grid[:, 0], grid[:, 1])]
    delta = np.zeros_like(pts)
    for i in closed:
        delta[i] = opened[i] - closed[i]
    return pts, delta


def head_pose_points(face: np.ndarray, head_rot: np.ndarray, head_pos: np.ndarray, scale: float) -> np.ndarray:
    """(T, 11, 3) pose points 0-10 (nose, eyes, ears, mouth corners) from the coordinate-major (3, 468, T) face."""
    out = np.empty((face.shape[-1], 11, 3))
    pick = {NOSE: [1], L_EYE_INNER: [362], L_EYE: [386, 374], L_EYE_OUTER: [263], R_EYE_INNER: [133],
            R_EYE: [159, 145], R_EYE_OUTER: [33], MOUTH_L: [291], MOUTH_R: [61]}
    for k, idx in pick.items():
        out[:, k] = face[:, idx].mean(axis=1).T
    ears = np.asarray(EAR_POINTS) * scale  # (2, 3) head frame
    out[:, [L_EAR, R_EAR]] = rotate(head_rot, np.broadcast_to(ears, (len(head_rot), 2, 3))) + head_pos[:, None]
    return out


def two_bone_ik(shoulder: np.ndarray, wrist: np.ndarray, upper: float, fore: float, pole: np.ndarray) -> np.ndarray:
    """(T, 3) elbow positions so that |shoulder-elbow| = upper and |elbow-wrist| = fore (stretched if needed).

    The elbow bends towards `pole` (a direction, body axes). Unreachable wrists (too far) scale both
    bones up for that frame, so the chain always ends exactly at the wrist.
    """
    axis = wrist - shoulder
    dist = np.linalg.norm(axis, axis=-1, keepdims=True)
    u = axis / np.maximum(dist, 1e-9)
    stretch = np.maximum(dist / (0.999 * (upper + fore)), 1.0)
    a, b = upper * stretch, fore * stretch
    cos_a = np.clip((a ** 2 + dist ** 2 - b ** 2) / (2 * a * dist + 1e-12), -1.0, 1.0)
    perp = pole - np.sum(pole * u, axis=-1, keepdims=True) * u
    perp /= np.linalg.norm(perp, axis=-1, keepdims=True) + 1e-12
    return shoulder + a * (cos_a * u + np.sqrt(1 - cos_a ** 2) * perp)


def arm_points(shoulder: np.ndarray, hand_joints: np.ndarray, upper: float, fore: float,
               pole: np.ndarray) -> np.ndarray:
    """(T, 6, 3) shoulder, elbow, wrist, pinky, index, thumb pose points of an arm ending at `hand_joints`."""
    wrist = hand_joints[:, 0]
    elbow = two_bone_ik(shoulder, wrist, upper, fore, pole)
    coarse = [hand_joints[:, list(idx)].mean(axis=1) for idx in COARSE_HAND_POINTS]
    return np.stack([shoulder, elbow, wrist, *coarse], axis=1)


def lower_body(shoulder_width: float) -> np.ndarray:
    """(33, 3) pose points 23-32 (hips, knees, ankles, heels, feet) in metres; other rows NaN."""
    out = np.full((N_POSE, 3), np.nan)
    scale = shoulder_width / 0.38
    for left, (x, y, z) in LOWER_BODY_M.items():
        out[left] = (x * scale, y, z)
        out[left + 1] = (-x * scale, y, z)
    return out
