"""How many frames each character takes: holds, transitions, pauses, lead-in/out and the sequence length.

`plan_timing` is the single source of a sequence's length: the metadata-only path and the landmark
generator call it with the same rng stream, so `n_frames` in the metadata equals the generated length.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data.synthetic.handshapes import SHAPES
from data.synthetic.signer import Signer

TIMING_STREAM = 202  # rng stream key: [seed, TIMING_STREAM, sequence_id]
MAX_FRAMES = 800  # longest sequence (the real data's tail ends near 800)
TEMPO_SIGMA = 0.12  # per-sequence tempo jitter (log-normal)
CHAR_SIGMA = 0.2  # per-character duration jitter (log-normal)
UNFAMILIAR_SLOWDOWN = 1.15  # digits and symbols are spelled slower (Keane 2011)
CHUNK_LETTERS = (3, 6)  # long words are chunked into groups of 3-5 letters with a micro-pause
MICRO_PAUSE = (1, 4)  # frames
HESITATION_SHARE = 0.05  # sequences with one long pause (hand held or dropped)
HESITATION_MEAN = 90.0  # frames (exponential)
CORRUPT_SHARE = 0.001  # sequences cut to fewer than 15 frames (broken recordings)
CORRUPT_MAX_FRAMES = 14


@dataclass(frozen=True)
class TimingPlan:
    """Frame budget of one sequence (float frames; the generator samples integer frames 0..n_frames-1)."""

    lead_in: float  # frames before the first hold starts (the hand rises from rest)
    lead_out: float  # frames after the last hold ends (the hand drops)
    hold: np.ndarray  # (n_chars,) frames each character is held (or traced)
    trans: np.ndarray  # (n_chars,) frames of the transition into each character (trans[0] is unused)
    pause: np.ndarray  # (n_chars,) extra frames held after each character
    n_frames: int  # frames actually emitted (short for corrupted recordings)
    full_frames: int  # frames of the uncut choreography

    @property
    def hold_starts(self) -> np.ndarray:
        """Frame at which each character's hold begins."""
        steps = np.r_[self.lead_in, (self.hold + self.pause)[:-1] + self.trans[1:]]
        return np.cumsum(steps)


def _char_factors(phrase: str) -> np.ndarray:
    """Relative duration of each character (motion letters and traced symbols take longer)."""
    factors = np.array([SHAPES[c].duration for c in phrase])
    unfamiliar = np.array([not c.isalpha() and c != " " for c in phrase])
    return factors * np.where(unfamiliar, UNFAMILIAR_SLOWDOWN, 1.0)


def _pauses(phrase: str, rng: np.random.Generator) -> np.ndarray:
    """Micro-pauses between chunks of long words plus, rarely, one long hesitation."""
    pause = np.zeros(len(phrase))
    run = 0
    chunk = rng.integers(*CHUNK_LETTERS)
    for i, c in enumerate(phrase):
        run = run + 1 if c.isalpha() else 0
        if run == chunk and i + 1 < len(phrase) and phrase[i + 1].isalpha():
            pause[i] += rng.integers(*MICRO_PAUSE)
            run, chunk = 0, rng.integers(*CHUNK_LETTERS)
    if rng.random() < HESITATION_SHARE and len(phrase) > 1:
        pause[rng.integers(len(phrase) - 1)] += rng.exponential(HESITATION_MEAN)
    return pause


def plan_timing(phrase: str, signer: Signer, rng: np.random.Generator) -> TimingPlan:
    """Draw the frame budget of `phrase` signed by `signer` (consumes `rng` in a fixed order)."""
    if not phrase:
        raise ValueError("cannot plan the timing of an empty phrase")
    tempo = signer.frames_per_char * np.exp(TEMPO_SIGMA * rng.standard_normal())
    dur = tempo * _char_factors(phrase) * np.exp(CHAR_SIGMA * rng.standard_normal(len(phrase)))
    share = np.clip(signer.hold_share + 0.08 * rng.standard_normal(len(phrase)), 0.2, 0.8)
    hold, trans = dur * share, dur * (1 - share)
    pause = _pauses(phrase, rng)
    lead_in = signer.lead_in * np.exp(0.4 * rng.standard_normal())
    lead_out = signer.lead_out * np.exp(0.4 * rng.standard_normal())
    body = hold.sum() + trans[1:].sum() + pause.sum()
    total = lead_in + body + lead_out
    if total > MAX_FRAMES - 1:  # squeeze over-long sequences into the real data's range
        scale = (MAX_FRAMES - 1) / total * rng.uniform(0.85, 1.0)
        hold, trans, pause = hold * scale, trans * scale, pause * scale
        lead_in, lead_out, total = lead_in * scale, lead_out * scale, total * scale
    full = int(np.floor(total)) + 1
    corrupt = rng.random() < CORRUPT_SHARE
    n_frames = int(rng.integers(1, CORRUPT_MAX_FRAMES + 1)) if corrupt else full
    return TimingPlan(float(lead_in), float(lead_out), hold, trans, pause, min(n_frames, full), full)
