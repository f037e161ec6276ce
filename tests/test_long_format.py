"""Long-format Holistic files (one row per landmark) <-> the wide raw format: real files, round trips, errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.landmarks import HOLISTIC_LANDMARKS, RAW_LANDMARK_COLUMNS
from data.long_format import long_to_wide, read_long_file, wide_to_long
from data.raw_format import RAW_COLUMNS, read_landmark_parquet
from data.recordings import phrase_from_name, recording_id
from scripts import convert_long_format

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
REAL_LONG = ("islr_100015657_cloud_long.parquet", "webcam_capture_long.parquet")


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(f"real recordings folder {REALDATA} is absent")
    return REALDATA


def _slot(part: str, k: int) -> int:
    return HOLISTIC_LANDMARKS.index(f"{part}_{k}")


@pytest.mark.parametrize("name", REAL_LONG)
def test_real_long_files_convert_and_round_trip(tmp_path, realdata, name):
    src = realdata / "landmarks" / name
    long = pd.read_parquet(src)
    assert convert_long_format.main([str(src), "--out", str(tmp_path), "--phrase", "x"]) == 0
    out = tmp_path / name
    wide = pd.read_parquet(out)
    assert list(wide.columns) == RAW_COLUMNS and wide.index.name == "sequence_id"
    assert (wide[RAW_LANDMARK_COLUMNS].dtypes == np.float32).all()
    assert wide["frame"].tolist() == sorted(long["frame"].unique())  # the file's own frame numbers
    # every long row lands in its own wide cell
    for _, r in long.sample(200, random_state=0).iterrows():
        row = wide[wide["frame"] == r["frame"]].iloc[0]
        for c in ("x", "y", "z"):
            got, want = row[f"{c}_{r['type']}_{r['landmark_index']}"], np.float32(r[c])
            assert (np.isnan(got) and np.isnan(want)) or got == want
    # wide -> long -> wide is the identity, NaN included
    frames, xyz = read_long_file(src)
    frames2, xyz2 = long_to_wide(wide_to_long(frames, xyz))
    np.testing.assert_array_equal(frames2, frames)
    np.testing.assert_array_equal(xyz2, xyz)
    index = pd.read_csv(tmp_path / "train.csv")
    assert index.to_dict("records") == [{"path": name, "file_id": recording_id(src.stem),
                                         "sequence_id": recording_id(src.stem), "participant_id": 0, "phrase": "x"}]
    # read back by the project's reader like any competition file
    assert list(read_landmark_parquet(out, ["x_right_hand_0"])) == [recording_id(src.stem)]


def test_real_isolated_sign_facts(realdata):
    """The folder's README facts: right hand missing in every frame of 'cloud', left hand in 73%."""
    _, xyz = read_long_file(realdata / "landmarks" / REAL_LONG[0])
    assert len(xyz) == 105
    assert np.isnan(xyz[:, _slot("right_hand", 0)]).all()
    assert np.isnan(xyz[:, _slot("left_hand", 0), 0]).mean() == pytest.approx(0.73, abs=0.01)


def _tiny_long() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    xyz = rng.random((3, len(HOLISTIC_LANDMARKS), 3)).astype(np.float32)
    xyz[1, _slot("left_hand", 0):_slot("left_hand", 20) + 1] = np.nan
    return wide_to_long(np.array([5, 6, 7]), xyz)


def test_missing_rows_become_nan_and_order_does_not_matter():
    long = _tiny_long()
    dropped = long[~((long["type"] == "pose") & (long["frame"] == 6))].sample(frac=1.0, random_state=1)
    frames, xyz = long_to_wide(dropped.drop(columns="row_id"))
    assert frames.tolist() == [5, 6, 7]
    assert np.isnan(xyz[1, _slot("pose", 0):_slot("pose", 32) + 1]).all()
    assert np.isnan(xyz[1, _slot("left_hand", 3)]).all() and np.isfinite(xyz[0, _slot("left_hand", 3)]).all()
    np.testing.assert_array_equal(xyz[[0, 2]], long_to_wide(long)[1][[0, 2]])


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.assign(type=d["type"].replace("pose", "body")),
     r"cap.csv: column 'type' has unknown value\(s\) \['body'\] in rows 489, 490, 491 \(\+"),
    (lambda d: d.assign(landmark_index=np.where(d.index == 470, 21, d["landmark_index"])),
     r"cap.csv: column 'landmark_index' value 21 is out of range for type 'left_hand' \(0..20\) in row 470$"),
    (lambda d: d.assign(landmark_index=np.where(d.index == 0, -1, d["landmark_index"])),
     r"column 'landmark_index' value -1 is out of range for type 'face' \(0..467\)"),
    (lambda d: d.drop(columns="z"), r"cap.csv: missing column\(s\) \['z'\]"),
    (lambda d: pd.concat([d, d.iloc[[543 + 468 + 21 + 24]]]), r"landmark pose_24 of frame 6 is listed 2 times"),
    (lambda d: d.iloc[:0], r"cap.csv: no landmark rows"),
])
def test_bad_long_files_are_rejected_with_names(tmp_path, capsys, edit, message):
    src = tmp_path / "cap.csv"
    edit(_tiny_long()).to_csv(src, index=False)
    with pytest.raises(ValueError, match=message):
        read_long_file(src)
    good = tmp_path / "good.csv"
    _tiny_long().to_csv(good, index=False)
    assert convert_long_format.main([str(good), str(src), "--out", str(tmp_path / "out")]) == 4
    err = capsys.readouterr().err
    assert err.startswith("convert_long_format: error: ") and "cap.csv" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()  # nothing written, not even the good file


def test_missing_long_file(tmp_path, capsys):
    assert convert_long_format.main([str(tmp_path / "nope.parquet"), "--out", str(tmp_path / "out")]) == 3
    assert "nope.parquet does not exist" in capsys.readouterr().err


def test_phrase_from_file_name():
    assert phrase_from_name("bear.mp4") == "bear"
    assert phrase_from_name("Hello_World-2.mov") == "hello world"
    assert phrase_from_name("42.mp4") == "42"
