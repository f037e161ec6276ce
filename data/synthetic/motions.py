"""Wrist paths of the moving characters (J, Z and the air-traced symbols), as seen by the camera.

Each path is a polyline of wrist offsets in P (body axes: x = image right, y = down, z = away from the
camera) for a right-handed signer; a left-handed signer's whole scene is mirrored, which mirrors the
traces too (Lifeprint). Tracings are drawn as the *signer* sees them, so they appear mirrored in the
image (HANDS.md §2): Z = stroke to the image left, diagonal down-right, stroke to the image left.
Paths are centred on their bounding box so the hand stays at its signing location on average.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Motion:
    """Waypoints (m, 3) in P and, optionally, the palm-orientation change (m, 3) in degrees at each one."""

    points: np.ndarray
    twist: np.ndarray | None = None

    def centred(self) -> Motion:
        """The same path shifted so that its bounding box is centred on the origin."""
        centre = (self.points.min(axis=0) + self.points.max(axis=0)) / 2
        return Motion(self.points - centre, self.twist)


def _path(*xy: tuple[float, ...], twist: list[tuple[float, float, float]] | None = None) -> Motion:
    """Motion from 2-D (x, y) or 3-D waypoints."""
    pts = np.array([p if len(p) == 3 else (*p, 0.0) for p in xy], dtype=float)
    tw = None if twist is None else np.array(twist, dtype=float)
    return Motion(pts, tw).centred()


def _arc(start_deg: float, stop_deg: float, radius: float, n: int = 6) -> list[tuple[float, float]]:
    """Waypoints on a circular arc (angles measured from image-right, clockwise on screen)."""
    a = np.deg2rad(np.linspace(start_deg, stop_deg, n))
    return [(radius * np.cos(t), radius * np.sin(t)) for t in a]


TAP = 0.25  # P, depth of a "tap" towards the camera
MOTIONS: dict[str, Motion] = {
    # J: pinky draws down then hooks to the image right; the palm turns towards the signer.
    "j": _path((0, 0), (0, 0.45), (0.15, 0.7), (0.45, 0.6),
               twist=[(0, 0, 0), (0, 0, 30), (0, 0, 70), (0, 0, 100)]),
    "z": _path((0, 0), (-0.6, 0), (0, 0.6), (-0.6, 0.6)),
    "dot": _path((0, 0, 0), (0, 0, -TAP), (0, 0, 0)),
    "dash": _path((0, 0), (0.4, 0)),
    "slash": _path((-0.3, -0.3), (0.3, 0.3)),
    "at": _path(*_arc(0, 330, 0.25, 8), (0.3, 0.15)),
    "exclamation": _path((0, -0.3), (0, 0.2), (0, 0.45, -TAP), (0, 0.45)),
    "apostrophe": _path((0, 0), (0, 0.2)),
    # brackets as the signer draws them: "(" bulges to the signer's left = the image right
    "paren_open": _path(*_arc(-60, 60, 0.4, 5)),
    "paren_close": _path(*_arc(240, 120, 0.4, 5)),
    "star": _path((0, -0.3), (0, 0.3), (-0.26, -0.15), (0.26, 0.15), (0.26, -0.15), (-0.26, 0.15)),
    "plus": _path((0, -0.3), (0, 0.3), (-0.3, 0), (0.3, 0)),
    "comma": _path((0, 0, -TAP), (0, 0), (0, 0.2), (-0.1, 0.35)),
    "colon": _path((0, 0, -TAP), (0, 0), (0, 0.35), (0, 0.35, -TAP), (0, 0.35)),
    "semicolon": _path((0, 0, -TAP), (0, 0), (0, 0.3), (-0.1, 0.5)),
    "equals": _path((-0.3, -0.1), (0.3, -0.1), (-0.3, 0.15), (0.3, 0.15)),
    "question": _path((-0.2, -0.2), (0, -0.35), (0.2, -0.2), (0, 0.05), (0, 0.2), (0, 0.45, -TAP), (0, 0.45)),
    "bracket": _path((0.2, -0.35), (-0.1, -0.35), (-0.1, 0.35), (0.2, 0.35)),
    "tilde": _path((-0.4, 0), (-0.2, -0.1), (0, 0), (0.2, 0.1), (0.4, 0)),
    "percent": _path(*[(x - 0.3, y - 0.3) for x, y in _arc(0, 360, 0.1, 5)], (0.3, -0.3), (-0.3, 0.3),
                     *[(x + 0.3, y + 0.3) for x, y in _arc(0, 360, 0.1, 5)]),
    "ampersand": _path((0.25, 0.35), (-0.15, -0.15), (0, -0.35), (0.15, -0.15), (-0.25, 0.3), (0, 0.4),
                       (0.3, 0.1)),
    "dollar": _path((0.2, -0.25), (-0.15, -0.25), (-0.15, 0), (0.15, 0), (0.15, 0.25), (-0.2, 0.25), (0, 0.4),
                    (0, -0.4)),
    "hash": _path((-0.15, -0.3), (-0.15, 0.3), (0.15, -0.3), (0.15, 0.3), (-0.3, -0.1), (0.3, -0.1),
                  (-0.3, 0.15), (0.3, 0.15)),
}


def path_length(motion: Motion) -> float:
    """Length (P) of a motion's polyline."""
    return float(np.linalg.norm(np.diff(motion.points, axis=0), axis=1).sum())
