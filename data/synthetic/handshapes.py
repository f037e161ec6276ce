"""One hand configuration (joint angles + palm orientation + motion) for every character of the 59-character map.

Letters and digits follow the citation forms of HANDS.md §2; punctuation follows HANDS.md's proposed
*synthetic* convention (a 1-handshape that air-traces the glyph), with one extra rule of ours: every
symbol gets its own palm orientation (and some their own handshape) so that no two characters share a
static pose. Digits 6-9 / 0 look like W / F / O in real ASL; here they are rolled towards the dominant
side (a documented synthetic choice, in the spirit of Lifeprint's "digit vibration" habit) so that
every character stays distinguishable.

Thumb placement is solved by a small inverse-kinematics fit: a thumb code names a target point
relative to the finger joints (e.g. "tip on the index tip") and the 5 thumb angles are fitted to it.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from data.synthetic import hand
from data.synthetic.motions import MOTIONS
from data.tokenizer import CHARACTERS

# Finger states (MCP, PIP, DIP) in degrees (HANDS.md §2 codes; "O" is R tight enough to meet the thumb).
FINGER_STATES: dict[str, tuple[float, float, float]] = {
    "E": (0.0, 3.0, 2.0),  # extended
    "C": (85.0, 100.0, 60.0),  # curled into the palm
    "K": (20.0, 90.0, 70.0),  # hooked
    "R": (35.0, 50.0, 30.0),  # rounded (C)
    "O": (45.0, 60.0, 40.0),  # rounded, tip reaching the thumb (O, F, D)
    "T": (55.0, 75.0, 45.0),  # tightly rounded (digit 0)
    "D": (70.0, 90.0, 45.0),  # draped over the thumb (M, N, T)
    "F": (40.0, 0.0, 0.0),  # straight, angled forward at the knuckle (K, P middle finger)
    "L": (15.0, 25.0, 15.0),  # loose (relaxed hand, space)
    "X": (-8.0, 10.0, 5.0),  # crossed over the index (R)
}
# Abduction relative to the rest splay, degrees, + = towards the thumb (index, middle, ring, pinky).
SPREADS: dict[str, tuple[float, float, float, float]] = {
    "together": (-5.0, 0.0, 5.0, 11.0),
    "spread": (12.0, 0.0, -10.0, -18.0),
    "v": (8.0, -12.0, 0.0, 8.0),
    "crossed": (-8.0, 14.0, 4.0, 10.0),
    "loose": (3.0, 0.0, -3.0, -5.0),
}


@dataclass(frozen=True)
class ThumbTarget:
    """Thumb tip goes to the mean of `joints` + `offset` (hand-local u, v, n, in P); `prior` = start angles."""

    joints: tuple[int, ...]
    offset: tuple[float, float, float]
    prior: tuple[float, float, float, float, float]


# Fixed thumb angles (azimuth, elevation, bend plane, MCP, IP), degrees.
THUMB_FIXED: dict[str, tuple[float, float, float, float, float]] = {
    "out": (75.0, 5.0, 30.0, 5.0, 0.0),  # abducted (L, Y, 3, 5)
    "parallel": (22.0, 28.0, 30.0, 0.0, 0.0),  # out, alongside the index (G, Q)
    "relaxed": (45.0, 25.0, 45.0, 15.0, 10.0),
}
_MID = (10.0, 45.0, 55.0, 25.0, 25.0)  # a generic "across the palm" start for the fit
THUMB_TARGETS: dict[str, ThumbTarget] = {
    "along": ThumbTarget((6,), (0.16, 0.0, 0.08), (12.0, 15.0, 30.0, 10.0, 0.0)),  # A: beside the index
    "over": ThumbTarget((10, 14), (0.0, -0.08, 0.14), _MID),  # S: across the curled fingers
    "palm": ThumbTarget((13,), (0.0, -0.15, 0.15), _MID),  # B, 4: folded onto the palm
    "holds": ThumbTarget((15, 19), (0.0, 0.0, 0.10), _MID),  # U, V, H: pad on the ring/pinky nails
    "tucked": ThumbTarget((6, 10), (0.0, 0.05, 0.0), _MID),  # T: between index and middle
    "under3": ThumbTarget((14, 18), (0.0, -0.05, 0.04), _MID),  # M: tip between ring and pinky
    "under2": ThumbTarget((10, 14), (0.0, -0.05, 0.04), _MID),  # N: tip between middle and ring
    "under_tips": ThumbTarget((8, 12, 16), (0.0, -0.12, -0.02), _MID),  # E: under the fingertips
    "gap": ThumbTarget((8,), (0.0, -0.45, 0.05), (30.0, 50.0, 80.0, 10.0, 10.0)),  # C: opposed, open
    "small_gap": ThumbTarget((8,), (0.0, -0.25, 0.05), (30.0, 50.0, 80.0, 10.0, 10.0)),
    "mid_segment": ThumbTarget((9, 10), (0.0, 0.0, 0.10), _MID),  # K, P: on the middle finger
    "tip_index": ThumbTarget((8,), (0.0, 0.0, 0.0), (25.0, 50.0, 80.0, 15.0, 15.0)),
    "tip_middle": ThumbTarget((12,), (0.0, 0.0, 0.0), (20.0, 50.0, 80.0, 15.0, 15.0)),
    "tip_ring": ThumbTarget((16,), (0.0, 0.0, 0.0), (15.0, 50.0, 80.0, 20.0, 15.0)),
    "tip_pinky": ThumbTarget((20,), (0.0, 0.0, 0.0), (10.0, 50.0, 80.0, 25.0, 15.0)),
    "tip_mid_ring": ThumbTarget((12, 16), (0.0, 0.0, 0.0), (18.0, 50.0, 80.0, 15.0, 15.0)),
    "tip_all": ThumbTarget((8, 12, 16, 20), (0.0, 0.0, 0.0), (20.0, 50.0, 80.0, 15.0, 15.0)),
}
THUMB_BOUNDS_DEG = (np.array([-30.0, -20.0, -30.0, -10.0, -15.0]), np.array([100.0, 95.0, 130.0, 75.0, 90.0]))
THUMB_PRIOR_WEIGHT = 0.08  # pull (per radian) of the fitted thumb angles towards the code's start angles

# Palm orientations (roll, pitch, yaw), degrees (see hand.orientation_matrices).
FWD = (0.0, 0.0, 0.0)
SIDE = (0.0, 0.0, 75.0)
PALM_IN = (0.0, 0.0, 170.0)
DIGIT_OUT = (-25.0, 0.0, 0.0)


@dataclass(frozen=True)
class Shape:
    """Citation form of one character: finger codes (index..pinky), spread, thumb code, orientation, motion."""

    fingers: str
    spread: str
    thumb: str
    orient: tuple[float, float, float] = FWD
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)  # P, body axes, relative to the signing location
    motion: str | None = None  # key of motions.MOTIONS
    duration: float = 1.0  # relative to a static letter


def _one(orient: tuple[float, float, float], motion: str, **kw) -> Shape:
    """The 1-handshape (index up, thumb holding the curled fingers) that air-traces a symbol."""
    return Shape("ECCC", "together", "holds", orient, motion=motion, **kw)


SHAPES: dict[str, Shape] = {
    "a": Shape("CCCC", "together", "along"),
    "b": Shape("EEEE", "together", "palm"),
    "c": Shape("RRRR", "together", "gap", SIDE),
    "d": Shape("EOOO", "together", "tip_mid_ring", (0.0, 0.0, 20.0)),
    "e": Shape("KKKK", "together", "under_tips"),
    "f": Shape("OEEE", "spread", "tip_index"),
    "g": Shape("ECCC", "together", "parallel", (80.0, 0.0, 150.0)),
    "h": Shape("EECC", "together", "holds", (85.0, 0.0, 170.0)),
    "i": Shape("CCCE", "together", "over"),
    "j": Shape("CCCE", "together", "over", motion="j", duration=1.8),
    "k": Shape("EFCC", "v", "mid_segment", (0.0, 0.0, 15.0)),
    "l": Shape("ECCC", "together", "out"),
    "m": Shape("DDDC", "together", "under3", (0.0, 25.0, 0.0)),
    "n": Shape("DDCC", "together", "under2", (0.0, 25.0, 0.0)),
    "o": Shape("OOOO", "together", "tip_all", SIDE),
    "p": Shape("EFCC", "v", "mid_segment", (150.0, 45.0, 100.0)),
    "q": Shape("ECCC", "together", "parallel", (170.0, 30.0, 120.0)),
    "r": Shape("EXCC", "crossed", "holds"),
    "s": Shape("CCCC", "together", "over"),
    "t": Shape("DCCC", "together", "tucked"),
    "u": Shape("EECC", "together", "holds"),
    "v": Shape("EECC", "v", "holds"),
    "w": Shape("EEEC", "spread", "tip_pinky"),
    "x": Shape("KCCC", "together", "over", SIDE),
    "y": Shape("CCCE", "spread", "out"),
    "z": _one(FWD, "z", duration=1.9),
    "0": Shape("TTTT", "together", "tip_all", (20.0, 0.0, 75.0)),
    "1": Shape("ECCC", "together", "holds", PALM_IN),
    "2": Shape("EECC", "v", "holds", PALM_IN),
    "3": Shape("EECC", "v", "out", (0.0, 0.0, 140.0)),
    "4": Shape("EEEE", "spread", "palm", PALM_IN),
    "5": Shape("EEEE", "spread", "out", PALM_IN),
    "6": Shape("EEEO", "spread", "tip_pinky", DIGIT_OUT),
    "7": Shape("EEOE", "spread", "tip_ring", DIGIT_OUT),
    "8": Shape("EOEE", "spread", "tip_middle", DIGIT_OUT),
    "9": Shape("OEEE", "spread", "tip_index", DIGIT_OUT),
    " ": Shape("LLLL", "loose", "relaxed", (-10.0, 10.0, 30.0), offset=(-0.4, 0.25, 0.0), duration=0.7),
    ".": Shape("OCCC", "together", "tip_index", motion="dot"),
    "-": _one((90.0, 0.0, 170.0), "dash"),
    "_": _one((90.0, 0.0, 80.0), "dash", offset=(0.0, 0.5, 0.0)),
    "/": _one((-45.0, 0.0, 0.0), "slash", duration=1.4),
    "@": Shape("RCCC", "together", "small_gap", SIDE, motion="at", duration=1.8),
    "!": _one((0.0, 35.0, 0.0), "exclamation", duration=1.6),
    "'": _one((0.0, 0.0, 80.0), "apostrophe", offset=(0.0, -0.4, 0.0)),
    "(": Shape("KCCC", "together", "holds", (-30.0, 0.0, 0.0), motion="paren_open", duration=1.5),
    ")": Shape("KCCC", "together", "holds", (30.0, 0.0, 0.0), motion="paren_close", duration=1.5),
    "*": Shape("EEEE", "spread", "out", (0.0, 45.0, 0.0), motion="star", duration=1.8),
    "+": _one((0.0, 0.0, 40.0), "plus", duration=1.8),
    ",": _one((-20.0, 30.0, 0.0), "comma", duration=1.3),
    ":": _one((0.0, 0.0, -40.0), "colon", duration=1.6),
    ";": _one((0.0, 35.0, 80.0), "semicolon", duration=1.8),
    "=": Shape("EECC", "together", "holds", (90.0, 0.0, 90.0), motion="equals", duration=1.8),
    "?": _one((-20.0, 0.0, 40.0), "question", duration=2.0),
    "[": _one((20.0, 0.0, 80.0), "bracket", duration=1.8),
    "~": _one((60.0, 0.0, 0.0), "tilde", duration=1.6),
    "%": _one((0.0, -30.0, 0.0), "percent", duration=2.2),
    "&": _one((-20.0, 0.0, 120.0), "ampersand", duration=2.2),
    "$": _one((20.0, 30.0, 0.0), "dollar", duration=2.2),
    "#": Shape("EECC", "together", "holds", (-45.0, 0.0, 0.0), motion="hash", duration=2.2),
}
assert set(SHAPES) == set(CHARACTERS), sorted(set(CHARACTERS) ^ set(SHAPES))
assert all(s.motion is None or s.motion in MOTIONS for s in SHAPES.values())

# The relaxed hand of lead-in/lead-out and of the resting non-dominant hand.
REST_SHAPE = Shape("LLLL", "loose", "relaxed", (-15.0, -10.0, 60.0), offset=(0.3, 1.8, 0.3))


def _finger_state(shape: Shape) -> np.ndarray:
    """State vector with fingers, spread, orientation and offset set (thumb angles still zero)."""
    state = np.zeros(hand.STATE_DIM)
    state[hand.FLEX] = np.deg2rad([a for code in shape.fingers for a in FINGER_STATES[code]])
    state[hand.ABD] = np.deg2rad(SPREADS[shape.spread])
    state[hand.ORIENT] = np.deg2rad(shape.orient)
    state[hand.OFFSET] = shape.offset
    return state


def thumb_target(state: np.ndarray, target: ThumbTarget) -> np.ndarray:
    """Hand-local position (P) the thumb tip should reach for `state`'s finger configuration."""
    joints = hand.local_joints(state)[0]
    return joints[list(target.joints)].mean(axis=0) + np.asarray(target.offset)


def _thumb_tips(states: np.ndarray, params: np.ndarray) -> np.ndarray:
    """(B, 3) thumb tips of `states` (B, STATE_DIM) with their thumb angles replaced by `params` (B, 5)."""
    trial = states.copy()
    trial[:, hand.THUMB] = params
    return hand.thumb_chain(trial, hand.CANONICAL_GEOMETRY)[:, -1]


def fit_thumbs(states: np.ndarray, goals: np.ndarray, priors: np.ndarray, iters: int = 60) -> np.ndarray:
    """Batched damped Gauss-Newton fit of the thumb angles (B, 5) so that each thumb tip reaches its goal.

    Minimises |tip - goal|^2 + (THUMB_PRIOR_WEIGHT |angles - prior|)^2 within THUMB_BOUNDS_DEG.
    """
    lo, hi = (np.deg2rad(b) for b in THUMB_BOUNDS_DEG)
    params, eps, damping = np.clip(priors, lo, hi), 1e-5, np.full(len(states), 1e-2)

    def residual(p: np.ndarray) -> np.ndarray:
        """(B, 8) tip error and prior pull."""
        return np.concatenate([_thumb_tips(states, p) - goals, THUMB_PRIOR_WEIGHT * (p - priors)], axis=1)

    for _ in range(iters):
        r = residual(params)  # (B, 8)
        jac = np.stack([(residual(params + eps * np.eye(5)[k]) - r) / eps for k in range(5)], axis=2)  # (B, 8, 5)
        jtj = np.einsum("bik,bil->bkl", jac, jac) + damping[:, None, None] * np.eye(5)
        step = np.linalg.solve(jtj, -np.einsum("bik,bi->bk", jac, r)[..., None])[..., 0]
        trial = np.clip(params + step, lo, hi)
        better = (residual(trial) ** 2).sum(1) < (r ** 2).sum(1)
        params = np.where(better[:, None], trial, params)
        damping = np.where(better, damping * 0.5, damping * 4.0)
    return params


@lru_cache(maxsize=None)
def _solved_states() -> dict[str, np.ndarray]:
    """Citation states of every character (and 'rest'), thumb targets fitted in one batch."""
    shapes = {**SHAPES, "rest": REST_SHAPE}
    states = {key: _finger_state(shape) for key, shape in shapes.items()}
    fitted = [k for k, shape in shapes.items() if shape.thumb in THUMB_TARGETS]
    for key, shape in shapes.items():
        if shape.thumb in THUMB_FIXED:
            states[key][hand.THUMB] = np.deg2rad(THUMB_FIXED[shape.thumb])
    batch = np.stack([states[k] for k in fitted])
    goals = np.stack([thumb_target(states[k], THUMB_TARGETS[shapes[k].thumb]) for k in fitted])
    priors = np.deg2rad([THUMB_TARGETS[shapes[k].thumb].prior for k in fitted])
    for key, params in zip(fitted, fit_thumbs(batch, goals, priors)):
        states[key][hand.THUMB] = params
    for state in states.values():
        state.setflags(write=False)
    return states


def shape_state(char: str) -> np.ndarray:
    """Citation-form state vector (STATE_DIM,) of a character; `'rest'` gives the relaxed hand."""
    states = _solved_states()
    if char not in states:
        raise ValueError(f"character {char!r} is outside the 59-character map")
    return states[char]


def canonical_hand(char: str) -> np.ndarray:
    """(21, 3) joints (P, body axes, wrist at the shape's offset) of a character's citation form."""
    return hand.forward_kinematics(shape_state(char)[None])[0]
