"""Articulated 21-joint hand with MediaPipe's topology, posed by a flat joint-angle state vector.

Hand-local frame (right hand): `u` = radial direction (towards the thumb), `v` = wrist -> middle MCP,
`n = u x v` = out of the palm. Lengths are in units of P = |WRIST -> MIDDLE_MCP| (HANDS.md §1.3).
Body frame (metres): x = image right (the subject's left), y = down, z = away from the camera.

A pose is a state vector of `STATE_DIM` numbers (angles in radians, offset in P); `forward_kinematics`
turns a (T, STATE_DIM) trajectory into (T, 21, 3) joints in one vectorised pass.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_JOINTS = 21
N_FINGERS = 4  # index, middle, ring, pinky (the thumb is parameterised separately)
FINGER_TIPS = (4, 8, 12, 16, 20)
# --- state vector layout -------------------------------------------------------------------------
FLEX = slice(0, 12)  # (index, middle, ring, pinky) x (MCP, PIP, DIP) flexion, + = towards the palm
ABD = slice(12, 16)  # abduction of the 4 fingers relative to their rest splay, + = towards the thumb
THUMB = slice(16, 21)  # azimuth (palm plane, from v towards u), elevation (towards n), bend plane, MCP, IP
ORIENT = slice(21, 24)  # roll (image plane, + = fingers towards the midline), pitch (+ = towards camera), yaw
OFFSET = slice(24, 27)  # wrist offset from the signing location, in P (body axes)
STATE_DIM = 27
PIP_COLUMNS = (1, 4)  # FLEX columns of the index and middle PIP joints (co-articulation dissimilates them)
ASSIMILATING = np.r_[np.arange(THUMB.start, THUMB.stop), np.arange(ORIENT.start, ORIENT.stop)]

# --- proportions (HANDS.md §1.3, units of P) -------------------------------------------------------
# MCP row positions in the (u, v) palm plane, derived from |0-5|=0.97, |0-9|=1, |0-13|=0.93, |0-17|=0.86
# and knuckle spacings 0.22 / 0.20 / 0.20.
MCP_UV = np.array([[0.213, 0.946], [0.0, 1.0], [-0.180, 0.912], [-0.352, 0.785]])
FINGER_BONES = np.array([[0.45, 0.26, 0.22], [0.51, 0.31, 0.25], [0.48, 0.29, 0.24], [0.37, 0.21, 0.21]])
THUMB_CMC_UV = np.array([0.24, 0.26])  # |0-1| ~ 0.35 P, towards the radial side
THUMB_BONES = np.array([0.50, 0.36, 0.30])  # CMC->MCP, MCP->IP, IP->TIP
REST_SPLAY_DEG = np.array([6.0, 0.0, -6.0, -14.0])  # natural finger fan (+ = towards the thumb)
PALM_ARCH = 0.06  # the MCP row bulges this much (P) towards the palm side at the middle finger
# Body-frame images of (u, v, n) for a right hand, palm to the camera, fingers up.
R_CANONICAL = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]]).T


@dataclass(frozen=True, eq=False)  # identity equality/hash: usable as a cache key
class HandGeometry:
    """Bone lengths of one signer's hand (both hands equal), in P, plus P itself in metres."""

    palm_length_m: float
    mcp_uv: np.ndarray  # (4, 2)
    finger_bones: np.ndarray  # (4, 3)
    thumb_cmc_uv: np.ndarray  # (2,)
    thumb_bones: np.ndarray  # (3,)


CANONICAL_GEOMETRY = HandGeometry(1.0, MCP_UV, FINGER_BONES, THUMB_CMC_UV, THUMB_BONES)


def sample_geometry(rng: np.random.Generator, palm_length_m: float, jitter: float = 0.04) -> HandGeometry:
    """A signer's hand: the canonical proportions with each length jittered by ~`jitter` (relative)."""
    def jit(a: np.ndarray) -> np.ndarray:
        """`a` with every entry scaled by its own random factor."""
        return a * (1.0 + jitter * rng.standard_normal(a.shape).clip(-2, 2))

    return HandGeometry(palm_length_m, jit(MCP_UV), jit(FINGER_BONES), jit(THUMB_CMC_UV), jit(THUMB_BONES))


def rotation_matrix(axis: int, angle: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) about body axis 0/1/2 by `angle` (right-hand rule)."""
    angle = np.asarray(angle, dtype=float)
    c, s = np.cos(angle), np.sin(angle)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    m = np.zeros(angle.shape + (3, 3))
    m[..., axis, axis] = 1.0
    m[..., i, i], m[..., i, j], m[..., j, i], m[..., j, j] = c, -s, s, c
    return m


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched a @ b without BLAS, so that results never depend on the BLAS thread count (determinism)."""
    return np.einsum("...ij,...jk->...ik", a, b)


def rotate(rot: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations applied to (..., N, 3) points (BLAS-free, see `matmul`)."""
    return np.einsum("...ij,...nj->...ni", rot, points)


def rotate_coordinate_major(rot: np.ndarray, points: np.ndarray) -> np.ndarray:
    """rot (3, 3[, T]) applied to coordinate-major points (3, N, T) -> (3, N, T) float32.

    Elementwise multiply-adds into preallocated buffers: as fast as a BLAS product here, and the result
    does not depend on the BLAS thread count (so generation is deterministic across worker set-ups).
    """
    rot = np.asarray(rot, dtype=np.float32)
    out, tmp = np.empty_like(points), np.empty_like(points[0])
    for i in range(3):
        np.multiply(points[0], rot[i, 0], out=out[i])
        for j in (1, 2):
            np.multiply(points[j], rot[i, j], out=tmp)
            out[i] += tmp
    return out


def orientation_matrices(orient: np.ndarray) -> np.ndarray:
    """(..., 3) roll/pitch/yaw -> (..., 3, 3) maps from the hand-local frame to body axes.

    yaw turns the palm towards the midline (90 deg = 'side', 180 deg = palm to the signer), pitch tips
    the fingers towards the camera, roll turns the fingers towards the midline in the image plane.
    """
    roll, pitch, yaw = orient[..., 0], orient[..., 1], orient[..., 2]
    return matmul(matmul(matmul(rotation_matrix(2, roll), rotation_matrix(0, pitch)), rotation_matrix(1, -yaw)),
                  R_CANONICAL)


def _finger_chains(state: np.ndarray, geom: HandGeometry) -> np.ndarray:
    """(T, 4, 4, 3) local positions of MCP, PIP, DIP, TIP of index..pinky."""
    splay = np.deg2rad(REST_SPLAY_DEG) + state[:, ABD]  # (T, 4)
    theta = np.cumsum(state[:, FLEX].reshape(-1, N_FINGERS, 3), axis=-1)  # (T, 4, 3) absolute bone angles
    cos_t = np.cos(theta)
    dirs = np.stack([cos_t * np.sin(splay)[..., None], cos_t * np.cos(splay)[..., None], np.sin(theta)], axis=-1)
    bones = np.cumsum(dirs * geom.finger_bones[None, :, :, None], axis=2)  # (T, 4, 3, 3)
    arch = PALM_ARCH * np.array([0.6, 1.0, 0.8, 0.4])
    mcp = np.concatenate([geom.mcp_uv, arch[:, None]], axis=1)  # (4, 3)
    mcp = np.broadcast_to(mcp, (len(state), N_FINGERS, 3))
    return np.concatenate([mcp[:, :, None], mcp[:, :, None] + bones], axis=2)


def thumb_chain(state: np.ndarray, geom: HandGeometry) -> np.ndarray:
    """(T, 4, 3) local positions of THUMB_CMC, MCP, IP, TIP."""
    az, el, bend, mcp, ip = np.moveaxis(state[:, THUMB], -1, 0)
    d = np.stack([np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.sin(el)], axis=-1)  # metacarpal
    b0 = np.stack([-np.cos(bend), np.zeros_like(bend), np.sin(bend)], axis=-1)  # bend towards ulnar side / palm
    b = b0 - np.sum(b0 * d, axis=-1, keepdims=True) * d
    b /= np.linalg.norm(b, axis=-1, keepdims=True) + 1e-9
    theta = np.stack([np.zeros_like(mcp), mcp, mcp + ip], axis=-1)[..., None]  # (T, 3, 1)
    dirs = np.cos(theta) * d[:, None] + np.sin(theta) * b[:, None]
    cmc = np.array([geom.thumb_cmc_uv[0], geom.thumb_cmc_uv[1], 0.0])
    chain = cmc + np.cumsum(dirs * geom.thumb_bones[None, :, None], axis=1)
    return np.concatenate([np.broadcast_to(cmc, (len(state), 1, 3)), chain], axis=1)


def local_joints(state: np.ndarray, geom: HandGeometry = CANONICAL_GEOMETRY) -> np.ndarray:
    """(T, STATE_DIM) -> (T, 21, 3) joints in the hand-local (u, v, n) frame, in P, wrist at the origin."""
    state = np.atleast_2d(state)
    out = np.zeros((len(state), N_JOINTS, 3))
    out[:, 1:5] = thumb_chain(state, geom)
    out[:, 5:] = _finger_chains(state, geom).reshape(len(state), 16, 3)
    return out


def forward_kinematics(state: np.ndarray, geom: HandGeometry = CANONICAL_GEOMETRY) -> np.ndarray:
    """(T, STATE_DIM) -> (T, 21, 3) joints in body axes, in P, relative to the signing location.

    The wrist sits at the state's OFFSET; multiply by `geom.palm_length_m` for metres.
    """
    state = np.atleast_2d(state)
    rot = orientation_matrices(state[:, ORIENT])  # (T, 3, 3)
    return rotate(rot, local_joints(state, geom)) + state[:, None, OFFSET]
