"""Do two implementations decode the same strings? Mismatches are split into fp16 near-ties and real ones.

The fp16 TFLite file and the float32 PyTorch model differ by about 3e-3 in their logits, so a greedy decode can
legitimately take the other branch where two tokens are almost tied (or where the confidence sits at the fallback
threshold); after that the strings diverge completely. A mismatch is a near-tie when, at the first step where
the two decodes pick different tokens, the logit margin between the two picks is below `LOGIT_TIE` on either side
(or the reference confidence is within `CONFIDENCE_TIE` of the fallback threshold when only one side fell back to
the dummy phrase). Everything else is a real disagreement. TensorFlow-free.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from data.tokenizer import DUMMY_PHRASE, EOS_ID, decode
from postprocess.confidence_fallback import MIN_CONFIDENCE

LOGIT_TIE: float = 0.02  # about 6x the fp16-vs-fp32 logit difference measured on the parity inputs
CONFIDENCE_TIE: float = 0.005  # |sigmoid(aux) - MIN_CONFIDENCE| under which fp16 may flip the fallback


def divergence_margin(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Smallest logit margin, on either side, between the two tokens picked at the first differing step.

    Rows are the per-step logits `(n, vocab)` of two greedy decodes (the EOS row is not emitted, so a decode that
    ended at that step picked EOS). Returns inf when the decodes pick the same tokens throughout.
    """
    ref_ids, cand_ids = reference.argmax(1), candidate.argmax(1)
    n = min(len(ref_ids), len(cand_ids))
    differ = np.flatnonzero(ref_ids[:n] != cand_ids[:n])
    step = int(differ[0]) if len(differ) else n
    ref_pick = int(ref_ids[step]) if step < len(ref_ids) else EOS_ID
    cand_pick = int(cand_ids[step]) if step < len(cand_ids) else EOS_ID
    if ref_pick == cand_pick:
        return float("inf")
    margins = [rows[step, own] - rows[step, other] for rows, own, other in
               ((reference, ref_pick, cand_pick), (candidate, cand_pick, ref_pick)) if step < len(rows)]
    return float(min(margins))


@dataclass
class StringAgreement:
    """Decoded strings of a reference (PyTorch) and a candidate (TFLite) over many sequences."""

    n: int = 0
    n_same: int = 0
    near_ties: list[tuple[str, str, str, float]] = field(default_factory=list)  # (sequence, ref, cand, margin)
    mismatches: list[tuple[str, str, str, float]] = field(default_factory=list)  # real disagreements

    @property
    def fraction(self) -> float:
        """Identical strings."""
        return self.n_same / self.n if self.n else float("nan")

    @property
    def explained_fraction(self) -> float:
        """Identical strings or near-ties."""
        return (self.n_same + len(self.near_ties)) / self.n if self.n else float("nan")

    def add(self, name: str, reference: np.ndarray, candidate: np.ndarray, confidence: float = float("nan"),
            min_conf: float = MIN_CONFIDENCE) -> None:
        """One sequence: both implementations' output rows, the reference's confidence and the fallback threshold
        both used."""
        self.n += 1
        ref, cand = decode(reference.argmax(1)), decode(candidate.argmax(1))
        if ref == cand:
            self.n_same += 1
            return
        if (ref == DUMMY_PHRASE) != (cand == DUMMY_PHRASE):  # one side fell back: was it at the threshold?
            margin = abs(confidence - min_conf)
            near_tie = margin < CONFIDENCE_TIE
        else:
            margin = divergence_margin(reference, candidate)
            near_tie = margin < LOGIT_TIE
        (self.near_ties if near_tie else self.mismatches).append((name, ref, cand, round(margin, 5)))
