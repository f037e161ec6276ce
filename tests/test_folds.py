"""Fold assignment and the folded CSVs (data/folds.py, scripts/make_folds.py)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from common.errors import ExitCode
from data.datamount import Datamount
from data.folds import assign_folds, balanced_group_folds, make_folds, npy_frame_count
from data.landmarks import SELECTED_COLUMNS
from data.raw_format import METADATA_COLUMNS
from scripts import make_folds as make_folds_cli

N_FOLDS = 4


def metadata(first_sequence: int, participants: list[int], phrase: str) -> pd.DataFrame:
    """Rows in the raw schema, one per entry of `participants`, file_id = 100 + participant."""
    ids = range(first_sequence, first_sequence + len(participants))
    return pd.DataFrame([[f"train_landmarks/{100 + p}.parquet", 100 + p, s, p, phrase]
                         for s, p in zip(ids, participants)], columns=METADATA_COLUMNS)


@pytest.fixture
def datamount(tmp_path: Path) -> Path:
    """A datamount with npy files and converted CSVs: 9 train signers (uneven), 3 supplemental (2 new)."""
    rng = np.random.default_rng(0)
    train_signers = [p for p in range(1, 10) for _ in range(p + 2)]  # signer p has p + 2 rows
    train = metadata(1000, train_signers, "hello world")
    supplemental = metadata(5000, [3] * 4 + [20] * 5 + [21] * 2, "the quick brown fox")
    mount = Datamount(tmp_path / "dm")
    for df in (train, supplemental):
        for f, s in zip(df["file_id"], df["sequence_id"]):
            mount.npy_path(f, s).parent.mkdir(parents=True, exist_ok=True)
            np.save(mount.npy_path(f, s), np.zeros((int(rng.integers(1, 50)), len(SELECTED_COLUMNS)), np.float32))
    train.to_csv(mount.train_csv, index=False)
    supplemental.to_csv(mount.supplemental_csv, index=False)
    return mount.root


def test_folded_csvs(datamount):
    train, supp = make_folds(datamount)
    mount = Datamount(datamount)
    saved_train, saved_supp = pd.read_csv(mount.train_folded), pd.read_csv(mount.supplemental_folded)
    assert saved_train.columns.tolist() == METADATA_COLUMNS + ["fold", "seq_len"]
    assert saved_supp.columns.tolist() == METADATA_COLUMNS + ["fold", "seq_len", "phrase_len"]
    for df in (saved_train, saved_supp):
        assert df["fold"].between(0, N_FOLDS - 1).all()
        assert (df.groupby("participant_id")["fold"].nunique() == 1).all()  # no signer split across folds
        lengths = [np.load(mount.npy_path(f, s)).shape[0] for f, s in zip(df["file_id"], df["sequence_id"])]
        assert df["seq_len"].tolist() == lengths
    assert set(saved_train["fold"]) == set(range(N_FOLDS))
    assert (saved_supp["phrase_len"] == len("the quick brown fox")).all()
    train_fold_of_3 = saved_train.loc[saved_train["participant_id"] == 3, "fold"].iloc[0]
    assert (saved_supp.loc[saved_supp["participant_id"] == 3, "fold"] == train_fold_of_3).all()


def test_folds_are_deterministic_and_balanced(datamount):
    first, _ = make_folds(datamount)
    second, _ = make_folds(datamount)
    pd.testing.assert_frame_equal(first, second)
    sizes = first["fold"].value_counts()
    assert sizes.max() - sizes.min() <= first.groupby("participant_id").size().max()


def test_greedy_balancing_by_row_count():
    groups = pd.Series(["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d"] * 2 + ["e"] * 2)
    folds, assignment = balanced_group_folds(groups, 2, seed=0)
    # largest signer first, each to the fold with the fewest rows, ties to the lowest fold
    assert assignment == {"a": 0, "b": 1, "c": 1, "d": 0, "e": 0}
    assert np.bincount(folds).tolist() == [9, 7]


def test_random_strategy(datamount):
    train = pd.read_csv(Datamount(datamount).train_csv)
    folds, _ = assign_folds(train, train.iloc[:0], N_FOLDS, seed=1, strategy="random")
    again, _ = assign_folds(train, train.iloc[:0], N_FOLDS, seed=1, strategy="random")
    other, _ = assign_folds(train, train.iloc[:0], N_FOLDS, seed=2, strategy="random")
    assert np.array_equal(folds, again) and not np.array_equal(folds, other)
    assert np.bincount(folds).max() - np.bincount(folds).min() <= 1


def test_too_few_participants_and_bad_strategy(datamount):
    train = pd.read_csv(Datamount(datamount).train_csv)
    two_signers = train[train["participant_id"] <= 2]
    with pytest.raises(ValueError, match="2 participants cannot fill 4"):
        assign_folds(two_signers, two_signers.iloc[:0])
    with pytest.raises(ValueError, match="unknown fold strategy 'bogus'"):
        assign_folds(train, train.iloc[:0], strategy="bogus")


def test_missing_npy_is_an_error_naming_ids(datamount, capsys):
    mount = Datamount(datamount)
    mount.npy_path(101, 1000).unlink()
    with pytest.raises(FileNotFoundError, match=r"train.csv: 1 listed sequence\(s\) have no npy.*1000"):
        make_folds(datamount)
    assert make_folds_cli.main(["--datamount", str(datamount)]) == ExitCode.MISSING_INPUT
    assert "prepare_data.py" in capsys.readouterr().err


def test_npy_header_check(tmp_path):
    np.save(tmp_path / "ok.npy", np.zeros((7, len(SELECTED_COLUMNS)), np.float32))
    np.save(tmp_path / "wide.npy", np.zeros((7, 1629), np.float32))
    assert npy_frame_count(tmp_path / "ok.npy") == 7
    with pytest.raises(ValueError, match=r"wide.npy: expected a float32 \(T, 390\) array"):
        npy_frame_count(tmp_path / "wide.npy")


def test_cli_reads_raw_folder_without_supplemental(datamount, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (Datamount(datamount).train_csv).rename(raw / "train.csv")
    assert make_folds_cli.main(["--datamount", str(datamount), "--raw", str(raw), "--n-folds", "3"]) == 0
    assert set(pd.read_csv(Datamount(datamount).train_folded)["fold"]) == {0, 1, 2}
    assert len(pd.read_csv(Datamount(datamount).supplemental_folded)) == 0
