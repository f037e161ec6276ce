"""training.data: the fold split of SPEC §1.5 and the train_df checks."""
from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from training.data import read_train_df, split_folds

DF = pd.DataFrame({"file_id": 1, "sequence_id": range(8), "phrase": "ab", "fold": [0, 1, 2, 3, 0, 1, -1, 2]})


def test_fold_k_holds_out_fold_k():
    train, val = split_folds(DF, 1)
    assert val.sequence_id.tolist() == [1, 5]
    assert train.sequence_id.tolist() == [0, 2, 3, 4, 6, 7]


def test_full_fit_trains_on_every_fold_and_validates_on_fold_0():
    train, val = split_folds(DF, -1)
    assert train.sequence_id.tolist() == [0, 1, 2, 3, 4, 5, 7]  # NOTE(original): fold -1 rows never trained (Q28)
    assert val.sequence_id.tolist() == [0, 4]  # NOTE(original): fold 0 is also trained on (Q13)


def test_unknown_fold_and_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match=r"--fold 5: no rows with that fold \(folds present: \[-1, 0, 1, 2, 3\]\)"):
        split_folds(DF, 5)
    with pytest.raises(FileNotFoundError, match="get_train_folded_oof_supp.py"):
        read_train_df(SimpleNamespace(train_df=str(tmp_path / "nope.csv")))
    DF.drop(columns="fold").to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(ValueError, match=r"t.csv: missing columns \['fold'\]"):
        read_train_df(SimpleNamespace(train_df=str(tmp_path / "t.csv")))
