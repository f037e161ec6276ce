"""Metrics (metrics/levenshtein.py) and the dummy-phrase fallback (postprocess/confidence_fallback.py), SPEC §7."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from data.tokenizer import DUMMY_PHRASE, EOS_ID, PAD_ID, SOS_ID, encode
from metrics.levenshtein import all_scores, competition_score, damerau_score, per_sample_scores
from postprocess.confidence_fallback import MIN_CONFIDENCE, MIN_FRAMES, fallback_mask, pp_1, pp_2


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_transposition_damerau_vs_levenshtein():
    # unrestricted Damerau-Levenshtein: 'CA' -> 'AC' -> 'ABC' = 2; Levenshtein (and OSA) need 3.
    assert damerau_score(["CA"], ["ABC"]) == pytest.approx(0.0)
    assert competition_score(["CA"], ["ABC"]) == pytest.approx(-0.5)
    assert per_sample_scores(["CA"], ["ABC"]).tolist() == [0.0]
    assert per_sample_scores(["CA"], ["ABC"], "levenshtein").tolist() == [-0.5]


def test_corpus_score_is_normalised_total_not_mean():
    truths, preds = ["abc", "hello world"], ["abd", ""]  # N = 3 + 11 = 14, D = 1 + 11 = 12
    assert competition_score(truths, preds) == pytest.approx((14 - 12) / 14)
    assert per_sample_scores(truths, preds).tolist() == pytest.approx([2 / 3, 0.0])  # mean would be 1/3


def test_empty_prediction_and_empty_truth():
    assert competition_score(["abc"], [""]) == 0.0
    assert per_sample_scores(["", "ab"], ["x", "ab"]).tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="all ground-truth phrases are empty"):
        competition_score([""], ["x"])
    with pytest.raises(ValueError, match="2 ground-truth phrases but 1 predictions"):
        damerau_score(["a", "b"], ["a"])


def test_all_scores_names():
    assert all_scores(["ab"], ["ba"], suffix="_pp") == {"score_lev_pp": 0.0, "score_dl_pp": 0.5}


def test_fallback_thresholds():
    assert (MIN_CONFIDENCE, MIN_FRAMES) == (0.15, 15)
    seq_len = np.array([14, 15, 15, 15, 100])
    aux = np.array([[5.0], [5.0], [logit(0.149)], [logit(0.151)], [logit(0.5)]])
    assert fallback_mask(seq_len).tolist() == [True, False, False, False, False]
    assert fallback_mask(seq_len, aux).tolist() == [True, False, True, False, False]
    assert fallback_mask([20], [[0.0]], min_conf=0.5).tolist() == [False]  # conf exactly 0.5: strict '<'


def val_data(rows: list[str], seq_len: list[int], aux: list[float] | None = None) -> dict:
    """generated_ids as the PyTorch model returns them: SOS, characters, EOS, PAD."""
    ids = np.full((len(rows), 33), PAD_ID)
    for i, phrase in enumerate(rows):
        row = [SOS_ID] + encode(phrase) + [EOS_ID]
        ids[i, :len(row)] = row
    data = {"generated_ids": ids, "seq_len": np.array(seq_len)}
    if aux is not None:
        data["aux_logits"] = np.array(aux).reshape(-1, 1)
    return data


def test_pp_1_and_pp_2():
    cfg = SimpleNamespace(max_len_for_dummy=MIN_FRAMES, dummy_phrase=DUMMY_PHRASE, pp_min_conf=MIN_CONFIDENCE)
    raw, pp = pp_1(val_data(["abc", "hi there"], [10, 200]), cfg)
    assert raw == ["abc", "hi there"] and pp == [DUMMY_PHRASE, "hi there"]
    raw, pp = pp_2(val_data(["abc", "hi", "ok"], [10, 200, 200], [3.0, -3.0, 3.0]), cfg)
    assert raw == ["abc", "hi", "ok"] and pp == [DUMMY_PHRASE, DUMMY_PHRASE, "ok"]
