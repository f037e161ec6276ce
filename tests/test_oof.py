"""scripts/get_train_folded_oof_supp.py on fabricated round-1 validation files (SPEC §8)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from common.errors import ExitCode
from data.tokenizer import (
    EOS_ID,
    MAX_PHRASE_LEN,
    PAD_ID,
    SOS_ID,
    encode,
    write_character_map,
)
from scripts import get_train_folded_oof_supp as oof_script

TRAIN = pd.DataFrame({
    "path": "x", "file_id": [1, 1, 2, 2, 3], "sequence_id": [10, 11, 12, 13, 14], "participant_id": [5, 5, 6, 6, 7],
    "phrase": ["abc", "abcd", "hello", "xy", "zz"], "fold": [1, 0, 1, 0, 0], "seq_len": [20, 30, 40, 50, 60]})
SUPPLEMENTAL = pd.DataFrame({
    "path": "y", "file_id": [9, 9], "sequence_id": [90, 91], "participant_id": [5, 8],
    "phrase": ["short one", "a" * MAX_PHRASE_LEN], "fold": [0, 1], "seq_len": [10, 10]})


def generated_ids(phrases: list[str]) -> torch.Tensor:
    """Rows as the model emits them in eval: SOS, the characters, then PAD (EOS cut off)."""
    out = torch.full((len(phrases), MAX_PHRASE_LEN), PAD_ID, dtype=torch.int64)
    for i, p in enumerate(phrases):
        ids = [SOS_ID] + encode(p)
        out[i, :len(ids)] = torch.tensor(ids)
    out[0, -1] = EOS_ID  # ids >= 59 decode to ''
    return out


def make_mount(root: Path, fold_preds: dict[int, list[list[str]]], weights: str = "cfg_1") -> Path:
    """A datamount with the CSVs and val_data files: fold -> one prediction list per seed."""
    root.mkdir(parents=True, exist_ok=True)
    write_character_map(root / "character_to_prediction_index.json")
    TRAIN.to_csv(root / "train_folded.csv", index=False)
    SUPPLEMENTAL.to_csv(root / "supplemental_metadata_folded.csv", index=False)
    for fold, seeds in fold_preds.items():
        run = root / "weights" / weights / f"fold{fold}"
        run.mkdir(parents=True, exist_ok=True)
        for seed, preds in enumerate(seeds):
            torch.save({"generated_ids": generated_ids(preds), "seq_len": torch.full((len(preds),), 20)},
                       run / f"val_data_seed{seed}.pth")
    return root


# fold 0 rows (in order): abcd, xy, zz ; fold 1 rows: abc, hello
PREDS = {0: [["abdc", "xy", "z"], ["abcd", "", "zz"]], 1: [["abc", "help"]]}


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
