"""MediaPipe skeleton connections (hands, lips, eyes, arms) by landmark *name*, and their indices in any layout."""
from __future__ import annotations

from data.landmarks import LEYE, REYE

# MediaPipe HAND_CONNECTIONS (HANDS.md §1.1): palm fan + knuckle chain + 5 finger chains.
HAND_CONNECTIONS: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 5), (0, 17), (5, 9), (9, 13), (13, 17),
    (1, 2), (2, 3), (3, 4), (5, 6), (6, 7), (7, 8), (9, 10), (10, 11), (11, 12),
    (13, 14), (14, 15), (15, 16), (17, 18), (18, 19), (19, 20),
)
# Lip contours, subject-right corner -> subject-left corner (HANDS.md §1.5).
LIPS_OUTER_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIPS_OUTER_LOWER = (146, 91, 181, 84, 17, 314, 405, 321, 375)  # between the corners
LIPS_INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)  # inner corners included
LIPS_INNER_LOWER = (95, 88, 178, 87, 14, 317, 402, 318, 324)
# Pose (HANDS.md §1.4): shoulders, arms and the coarse hand points.
POSE_ARM_CONNECTIONS: tuple[tuple[int, int], ...] = (
    (11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
    (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
)


def _ring(points: tuple[int, ...]) -> list[tuple[int, int]]:
    return [(a, b) for a, b in zip(points, points[1:] + points[:1])]


def _eye_ring(eye: list[int]) -> list[tuple[int, int]]:
    """REYE/LEYE order is outer, 7 lower-lid points, inner, 7 upper-lid points (outer -> inner)."""
    return _ring(tuple(eye[:9]) + tuple(reversed(eye[9:])))


NAMED_EDGES: dict[str, list[tuple[str, str]]] = {
    "right_hand": [(f"right_hand_{a}", f"right_hand_{b}") for a, b in HAND_CONNECTIONS],
    "left_hand": [(f"left_hand_{a}", f"left_hand_{b}") for a, b in HAND_CONNECTIONS],
    "lips": [(f"face_{a}", f"face_{b}") for a, b in
             _ring(LIPS_OUTER_UPPER + tuple(reversed(LIPS_OUTER_LOWER)))
             + _ring(LIPS_INNER_UPPER + tuple(reversed(LIPS_INNER_LOWER)))],
    "eyes": [(f"face_{a}", f"face_{b}") for eye in (REYE, LEYE) for a, b in _eye_ring(eye)],
    "nose": [("face_98", "face_2"), ("face_2", "face_327"), ("face_1", "face_2")],
    "arms": [(f"pose_{a}", f"pose_{b}") for a, b in POSE_ARM_CONNECTIONS],
}


def edges_for(landmarks: list[str]) -> dict[str, list[tuple[int, int]]]:
    """Skeleton edges per part as index pairs into `landmarks` (edges with a missing end are dropped)."""
    pos = {name: i for i, name in enumerate(landmarks)}
    return {part: [(pos[a], pos[b]) for a, b in edges if a in pos and b in pos] for part, edges in NAMED_EDGES.items()}
