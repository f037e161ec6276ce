"""Video -> MediaPipe Holistic landmarks (scripts/extract_landmarks.py in .venv-video) on real and synthetic videos.

The real videos live in ../shared/realdata/videos (skipped with a reason where absent); the video environment is
created by `make test` (skipped with a reason outside CI when it is missing, an error in CI).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.landmarks import HOLISTIC_LANDMARKS, HOLISTIC_PARTS, N_HOLISTIC, RAW_LANDMARK_COLUMNS, SELECTED_COLUMNS
from data.prepare import prepare
from data.raw_format import METADATA_COLUMNS, RAW_COLUMNS
from data.recordings import recording_id
from tests.video_helpers import FRAMES, landmarks

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
VIDEOS = ("alligator", "bear", "horse")
EXTRACT = [sys.executable, str(ROOT / "scripts" / "extract_landmarks.py")]
NO_PERSON_VIDEO = """
import sys, cv2, numpy as np
w = cv2.VideoWriter(sys.argv[1], cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (320, 240))
for i in range(12):
    frame = np.full((240, 320, 3), 90, np.uint8)
    cv2.rectangle(frame, (10 + 10 * i, 60), (60 + 10 * i, 140), (30, 200, 240), -1)  # a moving box, no person
    w.write(frame)
w.release()
"""


def extract(*args) -> subprocess.CompletedProcess:
    """scripts/extract_landmarks.py run from the MAIN environment (it re-runs itself in .venv-video)."""
    return subprocess.run([*EXTRACT, *map(str, args), "--quiet"], capture_output=True, text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory, video_env, realdata) -> Path:
    """The three real videos, extracted by passing their folder."""
    out = tmp_path_factory.mktemp("extracted")
    done = extract(realdata / "videos", "--out", out)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def part(xyz: np.ndarray, name: str) -> np.ndarray:
    start = HOLISTIC_LANDMARKS.index(f"{name}_0")
    return xyz[:, start:start + dict(HOLISTIC_PARTS)[name]]


def detected(xyz: np.ndarray, name: str) -> float:
    return float(np.isfinite(part(xyz, name)[:, 0, 0]).mean())


def test_every_video_extracts_to_the_competition_format(extracted):
    index = pd.read_csv(extracted / "train.csv", keep_default_na=False)
    assert list(index.columns) == METADATA_COLUMNS
    assert index["phrase"].tolist() == list(VIDEOS) and index["path"].tolist() == [f"{v}.parquet" for v in VIDEOS]
    assert index["sequence_id"].tolist() == [recording_id(v) for v in VIDEOS]
    report = json.loads((extracted / "extraction_report.json").read_text())
    for name in VIDEOS:
        wide = pd.read_parquet(extracted / f"{name}.parquet")
        assert list(wide.columns) == RAW_COLUMNS and wide.index.name == "sequence_id"
        assert (wide[RAW_LANDMARK_COLUMNS].dtypes == np.float32).all()
        assert wide["frame"].tolist() == list(range(FRAMES[name]))  # every frame kept
        r = report[name]
        assert (r["frames"], r["width"], r["height"], r["measured_fps"]) == (FRAMES[name], 852, 480, 30.0)
        assert r["settings"]["model_complexity"] == 1 and r["settings"]["refine_face_landmarks"] is False
        assert r["extract_fps"] > 1


def test_prepare_data_accepts_the_folder(extracted, tmp_path):
    report = prepare(extracted, tmp_path / "datamount", workers=1, progress=False)
    assert report.ok and report.written == len(VIDEOS)
    for name in VIDEOS:
        npy = np.load(tmp_path / "datamount" / "train_landmarks_npy" / str(recording_id(name)) /
                      f"{recording_id(name)}.npy")
        assert npy.shape == (FRAMES[name], len(SELECTED_COLUMNS))


def test_the_signing_hand_is_detected_in_most_frames(extracted):
    fractions = {name: detected(landmarks(extracted / f"{name}.parquet"), "right_hand") for name in VIDEOS}
    print("right_hand detected:", {k: round(v, 3) for k, v in fractions.items()})
    assert all(f >= 0.6 for f in fractions.values()), fractions
    for name in VIDEOS:
        xyz = landmarks(extracted / f"{name}.parquet")
        assert detected(xyz, "left_hand") < 0.1 and detected(xyz, "pose") == 1 and detected(xyz, "face") == 1


def test_coordinates_are_in_the_normalised_range(extracted):
    for name in VIDEOS:
        xyz = landmarks(extracted / f"{name}.parquet")
        for p in ("face", "left_hand", "right_hand"):
            pts = part(xyz, p).reshape(-1, 3)
            pts = pts[np.isfinite(pts[:, 0])]
            assert ((pts[:, :2] > -0.1) & (pts[:, :2] < 1.2)).all(), (name, p)  # image-relative x, y
            assert (np.abs(pts[:, 2]) < 0.3).all(), (name, p)  # depth relative to the wrist / face centre
        face = part(xyz, "face")
        assert 0.3 < np.nanmedian(face[:, :, 0]) < 0.7  # the signer faces the camera, centred


def test_a_right_handed_signer_lands_in_right_hand(extracted):
    """Unmirrored video: the person's right hand is on the image's left and is `right_hand`, next to pose_16."""
    for name in VIDEOS:
        xyz = landmarks(extracted / f"{name}.parquet")
        wrist = part(xyz, "right_hand")[:, 0, :2]
        person_right, person_left = part(xyz, "pose")[:, 16, :2], part(xyz, "pose")[:, 15, :2]
        assert np.nanmedian(wrist[:, 0]) < 0.5
        assert np.nanmedian(np.linalg.norm(wrist - person_right, axis=1)) < 0.05
        assert np.nanmedian(np.linalg.norm(wrist - person_left, axis=1)) > 0.3


def test_mirror_moves_the_signing_hand_to_left_hand(extracted, realdata, tmp_path):
    done = extract(realdata / "videos" / "bear.mp4", "--mirror", "--out", tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    plain, mirrored = landmarks(extracted / "bear.parquet"), landmarks(tmp_path / "bear.parquet")
    assert detected(mirrored, "left_hand") > 0.6 and detected(mirrored, "right_hand") < 0.1
    both = np.isfinite(part(plain, "right_hand")[:, 0, 0]) & np.isfinite(part(mirrored, "left_hand")[:, 0, 0])
    assert both.sum() > 30
    x_plain, x_mirrored = part(plain, "right_hand")[both, :, 0], part(mirrored, "left_hand")[both, :, 0]
    assert np.median(np.abs(x_mirrored - (1 - x_plain))) < 0.02  # the same hand, seen in a mirror
    report = json.loads((tmp_path / "extraction_report.json").read_text())
    assert report["bear"]["mirrored"] is True


def test_a_video_without_a_person_gives_all_nan(video_env, tmp_path):
    clip = tmp_path / "empty_room.mp4"
    subprocess.run([str(video_env), "-c", NO_PERSON_VIDEO, str(clip)], check=True)
    done = extract(clip, "--out", tmp_path / "out", "--phrase", "nothing")
    assert done.returncode == 0, done.stderr[-3000:]
    xyz = landmarks(tmp_path / "out" / "empty_room.parquet")
    assert xyz.shape == (12, N_HOLISTIC, 3) and np.isnan(xyz).all()
    report = json.loads((tmp_path / "out" / "extraction_report.json").read_text())["empty_room"]
    assert report["detected"] == {"face": 0.0, "left_hand": 0.0, "pose": 0.0, "right_hand": 0.0}
    assert report["measured_fps"] == 25.0
    assert "detected right_hand 0%" in done.stdout


def test_bad_sources_fail_cleanly(video_env, tmp_path):
    fake = tmp_path / "not_a_video.mp4"
    fake.write_text("hello")
    done = extract(fake, "--out", tmp_path / "out")
    assert done.returncode == 1 and "not_a_video.mp4" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out" / "not_a_video.parquet").exists()
    done = extract(tmp_path / "missing.mp4", "--out", tmp_path / "out")
    assert done.returncode == 3 and "missing.mp4 does not exist" in done.stderr
    done = extract("--webcam", "1", "--camera", "9", "--out", tmp_path / "out")
    assert done.returncode == 1 and "cannot open camera 9" in done.stderr and "Traceback" not in done.stderr
    done = extract(fake, "--model-complexity", "2", "--out", tmp_path / "out")
    assert done.returncode == 2 and "pose_landmark_heavy.tflite" in done.stderr
