"""Phrase -> per-frame hand state trajectory (STATE_DIM per frame) of the dominant hand.

Each character contributes knots (time, state): a static letter holds its co-articulated citation state,
a moving one (J, Z, symbols) adds one knot per waypoint of its path. Consecutive knots are joined by
minimum-jerk interpolation of the joint angles (HANDS.md §3: smooth joint-space transitions, not linear
landmark blending); a slow random drift of the wrist is added on top.
"""
from __future__ import annotations

import numpy as np

from data.synthetic import hand
from data.synthetic.handshapes import SHAPES, shape_state
from data.synthetic.motions import MOTIONS
from data.synthetic.signer import Signer
from data.synthetic.timing import TimingPlan

JITTER_DEG = {"fingers": 3.0, "thumb": 4.0, "orient": 4.0}  # per occurrence of a character
OFFSET_JITTER_P = 0.04
WORD_DRIFT_P = 0.05  # per letter, towards the dominant side, within a word ("like writing")
DOUBLE_SLIDE_P = 0.5  # double letters: slide the repeat ~5 cm towards the dominant side
DOUBLE_BOUNCE_P = 0.1  # ... or bounce ~1 cm
DOMINANT_SIDE = -1.0  # body x direction of the dominant (right) side before any left-handed mirroring
PALM_IN_DIGITS = "12345"
DRIFT_PERIODS = (40.0, 200.0)  # frames, slow wrist drift
WOBBLE_DEG = 3.0  # slow palm-orientation wobble


def minimum_jerk(s: np.ndarray) -> np.ndarray:
    """The minimum-jerk profile 10 s^3 - 15 s^4 + 6 s^5 on s in [0, 1]."""
    return s ** 3 * (10 - 15 * s + 6 * s ** 2)


def interpolate_knots(times: np.ndarray, values: np.ndarray, n_frames: int) -> np.ndarray:
    """Sample the minimum-jerk spline through knots (K,), (K, D) at frames 0..n_frames-1."""
    t = np.arange(n_frames, dtype=float)
    j = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
    span = np.maximum(times[j + 1] - times[j], 1e-6)
    s = minimum_jerk(np.clip((t - times[j]) / span, 0.0, 1.0))[:, None]
    return values[j] + s * (values[j + 1] - values[j])


def _jittered_targets(phrase: str, signer: Signer, rng: np.random.Generator) -> np.ndarray:
    """(n_chars, STATE_DIM) citation states with the signer's bias, per-occurrence jitter and word drift."""
    targets = np.stack([shape_state(c) for c in phrase]).copy()
    n = len(phrase)
    noise = np.zeros_like(targets)
    noise[:, hand.FLEX] = JITTER_DEG["fingers"] * rng.standard_normal((n, 12))
    noise[:, hand.ABD] = JITTER_DEG["fingers"] * rng.standard_normal((n, 4))
    noise[:, hand.THUMB] = JITTER_DEG["thumb"] * rng.standard_normal((n, 5))
    noise[:, hand.ORIENT] = JITTER_DEG["orient"] * rng.standard_normal((n, 3))
    targets += np.deg2rad(noise)
    targets[:, hand.ORIENT] += signer.orient_bias
    targets[:, hand.OFFSET] += OFFSET_JITTER_P * rng.standard_normal((n, 3))
    lettered = any(c.isalpha() for c in phrase)
    palm_out = rng.random(n) < signer.digit_palm_out
    position_in_word = 0
    for i, c in enumerate(phrase):
        position_in_word = 0 if c == " " else position_in_word + 1
        targets[i, hand.OFFSET.start] += DOMINANT_SIDE * WORD_DRIFT_P * position_in_word
        if lettered and c in PALM_IN_DIGITS and palm_out[i]:
            targets[i, hand.ORIENT.stop - 1] -= np.deg2rad(SHAPES[c].orient[2])  # palm-out variant
        if i and c == phrase[i - 1] and c != " " and signer.double_style == "slide":
            targets[i, hand.OFFSET.start] += DOMINANT_SIDE * DOUBLE_SLIDE_P
    return targets


def coarticulate(targets: np.ndarray, signer: Signer) -> np.ndarray:
    """Blend neighbours' wrist/thumb angles into each hold; exaggerate index/middle PIP differences."""
    if len(targets) < 2:
        return targets
    prev = np.r_[targets[:1], targets[:-1]]
    nxt = np.r_[targets[1:], targets[-1:]]
    out = targets.copy()
    cols = hand.ASSIMILATING
    out[:, cols] += signer.coarticulation * ((prev - targets) + (nxt - targets))[:, cols]
    pip = [hand.FLEX.start + c for c in hand.PIP_COLUMNS]
    out[:, pip] += signer.dissimilation * (targets - (prev + nxt) / 2)[:, pip]
    return out


def _char_knots(char: str, state: np.ndarray, start: float, hold: float, pause: float,
                bounce: bool) -> tuple[list[float], list[np.ndarray]]:
    """Knots of one character: its hold (or traced path), then its pause."""
    motion = MOTIONS.get(SHAPES[char].motion) if SHAPES[char].motion else None
    if motion is None:
        times, states = [start, start + hold], [state, state]
        if bounce:
            up = state.copy()
            up[hand.OFFSET.start + 1] -= DOUBLE_BOUNCE_P
            times, states = [start, start + hold / 2, start + hold], [state, up, state]
    else:
        seg = np.linalg.norm(np.diff(motion.points, axis=0), axis=1) + 1e-3
        times = list(start + hold * np.r_[0.0, np.cumsum(seg)] / seg.sum())
        deltas = np.zeros((len(motion.points), hand.STATE_DIM))
        deltas[:, hand.OFFSET] = motion.points
        if motion.twist is not None:
            deltas[:, hand.ORIENT] = np.deg2rad(motion.twist)
        states = list(state + deltas)
    if pause > 0:
        times.append(times[-1] + pause)
        states.append(states[-1])
    return times, states


def build_knots(phrase: str, signer: Signer, plan: TimingPlan, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    """Knot times (K,) and states (K, STATE_DIM): rest -> every character -> rest."""
    targets = coarticulate(_jittered_targets(phrase, signer, rng), signer)
    rest = shape_state("rest") + np.r_[np.zeros(hand.ORIENT.start), signer.orient_bias, np.zeros(3)]
    times, states = [0.0], [rest]
    for i, (c, start) in enumerate(zip(phrase, plan.hold_starts)):
        bounce = i > 0 and c == phrase[i - 1] and c != " " and signer.double_style == "bounce"
        if i > 0 and c == phrase[i - 1] and c != " " and signer.double_style == "reform":
            times.append(start - plan.trans[i] / 2)
            states.append((targets[i] + shape_state(" ")) / 2)  # relax half-way, then re-form
        t, s = _char_knots(c, targets[i], start, plan.hold[i], plan.pause[i], bounce)
        times += t
        states += s
    times.append(max(times[-1] + plan.lead_out, plan.full_frames - 1.0))
    states.append(rest)
    return np.asarray(times), np.stack(states)


def smooth_noise(rng: np.random.Generator, n_frames: int, dims: int, periods: tuple[float, float]) -> np.ndarray:
    """(n_frames, dims) sum of three random sinusoids per dimension, unit-ish amplitude."""
    t = np.arange(n_frames, dtype=float)[:, None, None]
    period = rng.uniform(*periods, size=(1, dims, 3))
    phase = rng.uniform(0, 2 * np.pi, size=(1, dims, 3))
    amp = rng.uniform(0.3, 1.0, size=(1, dims, 3))
    return (amp * np.sin(2 * np.pi * t / period + phase)).sum(axis=2) / 1.5


def hand_trajectory(phrase: str, signer: Signer, plan: TimingPlan, rng: np.random.Generator) -> np.ndarray:
    """(plan.n_frames, STATE_DIM) per-frame states of the dominant hand."""
    times, values = build_knots(phrase, signer, plan, rng)
    states = interpolate_knots(times, values, plan.full_frames)
    states[:, hand.OFFSET] += signer.drift_p * smooth_noise(rng, plan.full_frames, 3, DRIFT_PERIODS)
    states[:, hand.ORIENT] += np.deg2rad(WOBBLE_DEG) * smooth_noise(rng, plan.full_frames, 3, DRIFT_PERIODS)
    return states[: plan.n_frames]
