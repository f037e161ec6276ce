"""TFLite-vs-PyTorch string agreement: identical strings, fp16 near-ties and real mismatches (export/agreement.py)."""
from __future__ import annotations

import math

import numpy as np

from data.tokenizer import CHAR_TO_ID, DUMMY_PHRASE, EOS_ID, VOCAB_SIZE
from export.agreement import CONFIDENCE_TIE, LOGIT_TIE, StringAgreement, divergence_margin
from postprocess.confidence_fallback import MIN_CONFIDENCE


def rows(text: str, runner_up: dict[int, tuple[str, float]] | None = None) -> np.ndarray:
    """Logit rows whose greedy decode is `text` (EOS row not emitted); at step k, runner_up[k] = (token, margin)
    gives a second token that many logits below the pick."""
    out = np.zeros((max(len(text), 1), VOCAB_SIZE), dtype=np.float32)
    for k, char in enumerate(text):
        out[k, CHAR_TO_ID[char]] = 5.0
    for k, (token, margin) in (runner_up or {}).items():
        out[k, EOS_ID if token == "EOS" else CHAR_TO_ID[token]] = out[k].max() - margin
    return out


def test_identical_strings():
    agreement = StringAgreement()
    agreement.add("a", rows("hello"), rows("hello"))
    assert (agreement.n, agreement.n_same, agreement.fraction, agreement.explained_fraction) == (1, 1, 1.0, 1.0)
    assert divergence_margin(rows("hello"), rows("hello")) == math.inf


def test_divergence_margin_is_taken_at_the_first_differing_step_on_either_side():
    reference = rows("cat", {1: ("u", 0.004)})  # 'a' beat 'u' by 0.004 at step 1
    candidate = rows("cut", {1: ("a", 0.3)})
    assert math.isclose(divergence_margin(reference, candidate), 0.004, abs_tol=1e-6)
    # the reference stopped (EOS) where the candidate went on: only the candidate has that row
    assert math.isclose(divergence_margin(rows("ca"), rows("cat", {2: ("EOS", 0.01)})), 0.01, abs_tol=1e-6)


def test_near_ties_count_as_agreement_real_mismatches_do_not():
    agreement = StringAgreement()
    agreement.add("tie", rows("cat", {1: ("u", LOGIT_TIE / 2)}), rows("cut", {1: ("a", LOGIT_TIE / 3)}))
    agreement.add("real", rows("cat", {1: ("u", 2.0)}), rows("cut", {1: ("a", 2.0)}))
    agreement.add("same", rows("dog"), rows("dog"))
    assert [t[0] for t in agreement.near_ties] == ["tie"] and [m[0] for m in agreement.mismatches] == ["real"]
    assert agreement.fraction == 1 / 3 and agreement.explained_fraction == 2 / 3


def test_fallback_flip_is_a_near_tie_only_at_the_confidence_threshold():
    agreement = StringAgreement()
    agreement.add("at threshold", rows("cat"), rows(DUMMY_PHRASE), confidence=MIN_CONFIDENCE + CONFIDENCE_TIE / 2)
    agreement.add("far", rows("cat"), rows(DUMMY_PHRASE), confidence=0.9)
    assert [t[0] for t in agreement.near_ties] == ["at threshold"]
    assert [m[0] for m in agreement.mismatches] == ["far"]
