"""Landmark names, parts, symmetry and inference_args (data/landmarks.py, SPEC §1.2-1.3)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from data import landmarks as lm
from data.datamount import write_static_files

# SPEC §1.3, the flip array of the 130 kept landmarks [verified against the original].
SPEC_FLIP = ([0, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 19, 18, 17, 16, 15, 14, 13, 12, 11, 39, 29, 28, 27, 26, 25, 24, 23,
              22, 21, 38, 37, 36, 35, 34, 33, 32, 31, 30, 20]
             + list(range(61, 82)) + list(range(40, 61)) + [82, 83, 85, 84]
             + list(range(102, 118)) + list(range(86, 102))
             + [124, 125, 126, 127, 128, 129, 118, 119, 120, 121, 122, 123])
SPEC_FACE = [0, 61, 185, 40, 39, 37, 267, 269, 270, 409, 291, 146, 91, 181, 84, 17, 314, 405, 321, 375, 78, 191, 80,
             81, 82, 13, 312, 311, 310, 415, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]


def test_selected_landmarks_match_spec_table():
    names = lm.SELECTED_LANDMARKS
    assert len(names) == 130 and len(set(names)) == 130
    assert names[:40] == [f"face_{i}" for i in SPEC_FACE]
    assert names[40:61] == [f"left_hand_{i}" for i in range(21)]
    assert names[61:82] == [f"right_hand_{i}" for i in range(21)]
    assert names[82:86] == ["face_1", "face_2", "face_98", "face_327"]
    assert names[86] == "face_33" and names[101] == "face_173" and names[102] == "face_263" and names[117] == "face_398"
    assert names[118:] == [f"pose_{i}" for i in (12, 14, 16, 18, 20, 22, 11, 13, 15, 17, 19, 21)]


def test_selected_columns_are_x_then_y_then_z():
    cols = lm.SELECTED_COLUMNS
    assert len(cols) == 390 and set(cols) <= set(lm.RAW_LANDMARK_COLUMNS)
    for k, c in enumerate("xyz"):
        assert cols[130 * k:130 * (k + 1)] == [f"{c}_{n}" for n in lm.SELECTED_LANDMARKS]


def test_part_indices_and_fingers():
    parts = lm.part_indices()
    assert {p: len(v) for p, v in parts.items()} == {"lhand": 21, "rhand": 21, "face": 76, "pose": 12}
    assert parts["face"] == list(range(40)) + list(range(82, 118))
    groups = lm.finger_groups()
    assert len(groups) == 10 and groups[0] == [41, 42, 43, 44] and groups[-1] == [78, 79, 80, 81]
    with pytest.raises(ValueError, match="'nose_1'"):
        lm.landmark_part("nose_1")


def test_symmetry_is_an_involution():
    sym = lm.symmetry_frame()
    mirror = dict(zip(sym["id"], sym["corresponding_id"]))
    assert sym["id"].is_unique and all(mirror[mirror[n]] == n for n in mirror)
    assert set(lm.SELECTED_LANDMARKS) <= set(mirror)
    assert mirror["face_61"] == "face_291" and mirror["pose_12"] == "pose_11" and mirror["face_0"] == "face_0"


def test_flip_array_from_written_symmetry_csv_matches_spec(tmp_path):
    mount = write_static_files(tmp_path)
    sym = pd.read_csv(mount.symmetry)
    flip = lm.flip_array(lm.SELECTED_LANDMARKS, sym)
    assert flip.tolist() == SPEC_FLIP
    assert (flip[flip] == np.arange(130)).all()


def test_flip_array_names_a_landmark_without_mirror():
    sym = lm.symmetry_frame()
    with pytest.raises(ValueError, match="face_5"):
        lm.flip_array(lm.SELECTED_LANDMARKS + ["face_5"], sym)


def test_inference_args_round_trip(tmp_path):
    path = tmp_path / "inference_args.json"
    lm.write_inference_args(path)
    assert json.loads(path.read_text()) == {"selected_columns": lm.SELECTED_COLUMNS}
    assert lm.read_inference_args(path) == lm.SELECTED_LANDMARKS
    path.write_text(json.dumps({"selected_columns": ["x_face_0"]}))
    with pytest.raises(ValueError, match="expected 390 selected_columns, got 1"):
        lm.read_inference_args(path)
