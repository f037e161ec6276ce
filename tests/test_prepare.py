"""Raw competition format -> datamount npy layout (data/prepare.py, scripts/prepare_data.py)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from common.errors import ExitCode
from data.datamount import Datamount
from data.landmarks import HOLISTIC_LANDMARKS, SELECTED_COLUMNS, SELECTED_LANDMARKS
from data.prepare import PrepareError, prepare, save_npy_atomic, summarize
from data.tokenizer import read_character_map
from scripts import prepare_data
from tests.raw_helpers import LAYOUT

ROOT = Path(__file__).resolve().parents[1]
def selected(xyz: np.ndarray) -> np.ndarray:
    """The expected npy content: SELECTED_COLUMNS of a (T, 543, 3) array (all x, then all y, then all z)."""
    idx = [HOLISTIC_LANDMARKS.index(n) for n in SELECTED_LANDMARKS]
    return xyz[:, idx, :].transpose(0, 2, 1).reshape(len(xyz), -1)


def edit_csv(path: Path, **changes) -> None:
    """Set column values of the first row of a CSV ({column: value})."""
    df = pd.read_csv(path)
    for col, value in changes.items():
        df.loc[0, col] = value
    df.to_csv(path, index=False)


def test_round_trip_npy_content(raw, tmp_path):
    folder, written = raw
    report = prepare(folder, tmp_path / "dm", progress=False)
    mount = Datamount(tmp_path / "dm")
    assert report.ok and report.written == len(written) == 7
    for _, _, file_id, _, seq_ids in LAYOUT:
        for s in seq_ids:
            arr = np.load(mount.npy_path(file_id, s))
            assert arr.dtype == np.float32 and arr.shape == (len(written[s]), len(SELECTED_COLUMNS))
            np.testing.assert_array_equal(arr, selected(written[s]))  # NaN positions equal too
            assert np.isnan(arr).any()
    assert not list(mount.npy_dir.rglob(".*tmp*"))


def test_static_and_metadata_files(raw, tmp_path):
    folder, _ = raw
    prepare(folder, tmp_path / "dm", progress=False)
    mount = Datamount(tmp_path / "dm")
    assert json.loads(mount.inference_args.read_text()) == {"selected_columns": SELECTED_COLUMNS}
    read_character_map(mount.character_map)
    assert pd.read_csv(mount.symmetry).columns.tolist() == ["id", "corresponding_id"]
    for csv in ("train.csv", "supplemental_metadata.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(mount.root / csv), pd.read_csv(folder / csv))
    assert json.loads(mount.prepare_report.read_text())["ok"] is True


def test_inference_args_match_reference_fixture(raw, tmp_path, fixtures_dir):
    prepare(raw[0], tmp_path / "dm", progress=False)
    expected = json.loads((fixtures_dir / "inference_args.json").read_text())
    assert json.loads(Datamount(tmp_path / "dm").inference_args.read_text()) == expected


def test_supplemental_is_optional(raw, tmp_path):
    folder, _ = raw
    (folder / "supplemental_metadata.csv").unlink()
    report = prepare(folder, tmp_path / "dm", progress=False)
    assert report.ok and report.rows_converted == {"train.csv": 5}
    assert not Datamount(tmp_path / "dm").supplemental_csv.exists()


def test_idempotent_and_overwrite(raw, tmp_path):
    folder, _ = raw
    prepare(folder, tmp_path / "dm", progress=False)
    npy = Datamount(tmp_path / "dm").npy_path(1001, 11)
    np.save(npy, np.zeros((2, len(SELECTED_COLUMNS)), np.float32))  # a complete npy is not touched
    sentinel = npy.read_bytes()
    again = prepare(folder, tmp_path / "dm", progress=False)
    assert (again.written, again.skipped_existing) == (0, 7) and npy.read_bytes() == sentinel
    redo = prepare(folder, tmp_path / "dm", overwrite=True, progress=False)
    assert redo.written == 7 and np.load(npy).shape[1] == len(SELECTED_COLUMNS)


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    def broken_save(f, array):
        f.write(b"\x93NUMPY partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_npy_atomic(tmp_path / "x.npy", np.zeros((2, 3), np.float32))
    assert list(tmp_path.iterdir()) == []  # the temp file is gone too


def problems_of(report, kind: str) -> list[int]:
    return sorted(s for p in report.problems if p.kind == kind for s in p.sequence_ids)


def test_sequence_absent_from_parquet(raw, tmp_path):
    folder, _ = raw
    edit_csv(folder / "train.csv", sequence_id=99)
    report = prepare(folder, tmp_path / "dm", progress=False)
    assert problems_of(report, "sequence_not_in_parquet") == [99]
    assert 99 not in pd.read_csv(tmp_path / "dm" / "train.csv")["sequence_id"].tolist()
    assert report.written == 6 and "sequence_not_in_parquet" in summarize(report) and "99" in summarize(report)


def test_missing_and_corrupt_parquet(raw, tmp_path):
    folder, _ = raw
    (folder / "train_landmarks" / "1001.parquet").unlink()
    (folder / "supplemental_landmarks" / "2001.parquet").write_bytes(b"not a parquet file")
    report = prepare(folder, tmp_path / "dm", progress=False)
    assert problems_of(report, "missing_parquet") == [11, 12, 13]
    assert problems_of(report, "unreadable_parquet") == [31, 32]
    assert report.rows_converted == {"train.csv": 2, "supplemental_metadata.csv": 0}
    saved = json.loads((tmp_path / "dm" / "prepare_report.json").read_text())
    assert saved["ok"] is False and saved["problem_counts"] == {"missing_parquet": 3, "unreadable_parquet": 2}


def test_out_of_vocabulary_phrase_and_duplicates(raw, tmp_path):
    folder, _ = raw
    edit_csv(folder / "train.csv", phrase="Hello World")  # upper case is outside the map
    supp = pd.read_csv(folder / "supplemental_metadata.csv")
    train = pd.read_csv(folder / "train.csv")
    pd.concat([supp, train.iloc[[1]]]).to_csv(folder / "supplemental_metadata.csv", index=False)
    report = prepare(folder, tmp_path / "dm", progress=False)
    assert problems_of(report, "out_of_vocabulary_phrase") == [11]
    assert problems_of(report, "duplicate_sequence") == [12]
    oov = next(p for p in report.problems if p.kind == "out_of_vocabulary_phrase")
    assert "'H'" in oov.detail and "'W'" in oov.detail
    assert len(pd.read_csv(tmp_path / "dm" / "supplemental_metadata.csv")) == 2


def test_missing_column_aborts_before_writing(raw, tmp_path):
    folder, _ = raw
    pd.read_csv(folder / "train.csv").drop(columns="participant_id").to_csv(folder / "train.csv", index=False)
    with pytest.raises(PrepareError, match=r"train.csv: missing required column\(s\) \['participant_id'\]"):
        prepare(folder, tmp_path / "dm", progress=False)
    assert not (tmp_path / "dm").exists()
    argv = ["--raw", str(folder), "--datamount", str(tmp_path / "dm"), "--quiet"]
    assert prepare_data.main(argv) == ExitCode.BAD_INPUT


def test_missing_raw_folder_message(tmp_path):
    with pytest.raises(PrepareError, match="download_data.py"):
        prepare(tmp_path / "nope", tmp_path / "dm", progress=False)


def test_cli_exit_codes(raw, tmp_path, capsys):
    folder, _ = raw
    args = ["--raw", str(folder), "--datamount", str(tmp_path / "dm"), "--quiet", "--workers", "1"]
    assert prepare_data.main(args + ["--n-folds", "2"]) == 0
    assert (tmp_path / "dm" / "train_folded.csv").is_file()
    edit_csv(folder / "train.csv", sequence_id=99)
    assert prepare_data.main(args + ["--n-folds", "2"]) == 1
    assert "sequence_not_in_parquet" in capsys.readouterr().out
    assert prepare_data.main(args + ["--n-folds", "2", "--allow-problems"]) == 0


@pytest.mark.slow
def test_cli_parallel_workers(raw, tmp_path):
    folder, written = raw
    out = subprocess.run([sys.executable, "scripts/prepare_data.py", "--raw", str(folder), "--datamount",
                          str(tmp_path / "dm"), "--workers", "2", "--n-folds", "2"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    folded = pd.read_csv(tmp_path / "dm" / "train_folded.csv")
    assert folded["seq_len"].tolist() == [len(written[s]) for s in folded["sequence_id"]]
    assert len(list((tmp_path / "dm" / "train_landmarks_npy").rglob("*.npy"))) == len(written)


def test_phrases_that_look_like_missing_values_are_kept(raw, tmp_path):
    folder, _ = raw
    edit_csv(folder / "train.csv", phrase="nan")
    report = prepare(folder, tmp_path / "dm", progress=False)
    assert report.ok
    converted = pd.read_csv(tmp_path / "dm" / "train.csv", keep_default_na=False)
    assert converted["phrase"].iloc[0] == "nan"
