"""training/round2_table.py through scripts/get_train_folded_oof_supp.py, on fabricated round-1 validation files
(SPEC §8)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from common.errors import ExitCode
from scripts import get_train_folded_oof_supp as oof_script
from tests.round2_helpers import PREDS, TRAIN, make_mount


def test_scores_order_and_supplemental(tmp_path):
    root = make_mount(tmp_path / "dm", PREDS)
    assert oof_script.main(["--datamount", str(root)]) == 0
    out = pd.read_csv(root / "train_folded_oof_supp.csv")
    train = out[out.is_sup == 0]
    assert train.sequence_id.tolist() == TRAIN.sequence_id.tolist()  # original row order restored
    expected = [1.0,                     # abc / abc
                (0.75 + 1.0) / 2,        # abcd: abdc (one transposition) and abcd, averaged over 2 seeds
                (5 - 2) / 5,             # hello / help
                (1.0 + 0.0) / 2,         # xy: xy and ''
                (0.5 + 1.0) / 2]         # zz: z and zz
    np.testing.assert_allclose(train.score, expected)
    assert train.phrase_len.tolist() == [3, 4, 5, 2, 2]
    sup = out[out.is_sup == 1]
    assert sup.sequence_id.tolist() == [90]  # the 33-character phrase is dropped
    assert sup.score.tolist() == [0.5] and sup.phrase_len.tolist() == [9]
    assert list(out.columns[:7]) == list(TRAIN.columns)
    summary = json.loads((root / "train_folded_oof_supp_summary.json").read_text())
    # pooled corpus score: fold 0 seed 0 D=1+0+1, seed 1 D=0+2+0 over N=8 each; fold 1 D=0+2 over N=8
    assert summary["score_dl"] == pytest.approx(((8 - 2) + (8 - 2) + (8 - 2)) / 24)
    assert summary["score_lev"] == pytest.approx(((8 - 3) + (8 - 2) + (8 - 2)) / 24)  # abdc costs 2 in Levenshtein
    assert summary["n_rows"] == 5 and len(summary["files"]["0"]) == 2


def test_negative_scores_are_kept(tmp_path):
    root = make_mount(tmp_path / "dm", {0: [["abcd", "abcdef", "zz"]], 1: [["abc", "hello"]]})
    assert oof_script.main(["--datamount", str(root), "--out", str(tmp_path / "o.csv")]) == 0
    out = pd.read_csv(tmp_path / "o.csv")
    assert out.score.iloc[3] == pytest.approx((2 - 6) / 2)  # 'xy' -> 'abcdef': 2 substitutions + 4 insertions
    assert (tmp_path / "o_summary.json").exists()


def test_config_name_selects_weights(tmp_path):
    root = make_mount(tmp_path / "dm", PREDS, weights="demo_1")
    assert oof_script.main(["--datamount", str(root)]) == ExitCode.MISSING_INPUT  # cfg_1 weights absent
    assert oof_script.main(["-C", "demo_1", "--datamount", str(root)]) == 0


def test_missing_fold_is_a_clear_error(tmp_path, capsys):
    root = make_mount(tmp_path / "dm", {0: PREDS[0]})
    assert oof_script.main(["--datamount", str(root)]) == ExitCode.MISSING_INPUT
    err = capsys.readouterr().err
    assert "no val_data_seed*.pth in" in err and "fold1" in err and "--fold 1" in err
    assert not (root / "train_folded_oof_supp.csv").exists()


def test_row_count_mismatch_is_a_clear_error(tmp_path, capsys):
    root = make_mount(tmp_path / "dm", {0: [["abcd", "xy"]], 1: PREDS[1]})
    assert oof_script.main(["--datamount", str(root)]) == ExitCode.BAD_INPUT
    assert "val_data_seed0.pth: 2 predictions but the fold has 3 rows" in capsys.readouterr().err
