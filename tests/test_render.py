"""scripts/render_sequence.py: PNG grids of a raw parquet sequence or a pre-processed npy."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.landmarks import HOLISTIC_LANDMARKS, SELECTED_LANDMARKS
from data.raw_format import METADATA_COLUMNS, write_landmark_parquet
from data.synthetic.signer import sample_signer
from data.synthetic.sequence import synthesize_sequence
from data.synthetic.topology import edges_for
from scripts import render_sequence

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_PNG_BYTES = 300 * 1024
PHRASE, SEQ_ID, FILE_ID = "4051 concord street north", 424242, 77


@pytest.fixture(scope="module")
def xyz() -> np.ndarray:
    return synthesize_sequence(PHRASE, sample_signer(0, 0, 1, 4), 0, SEQ_ID)


@pytest.fixture
def raw(tmp_path, xyz) -> Path:
    parquet = tmp_path / "train_landmarks" / f"{FILE_ID}.parquet"
    write_landmark_parquet(parquet, {SEQ_ID: xyz})
    row = [f"train_landmarks/{FILE_ID}.parquet", FILE_ID, SEQ_ID, 1, PHRASE]
    pd.DataFrame([row], columns=METADATA_COLUMNS).to_csv(tmp_path / "train.csv", index=False)
    return parquet


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and 10_000 < len(data) < MAX_PNG_BYTES


def test_render_from_parquet_looks_up_the_phrase(raw, tmp_path, capsys):
    out = render_sequence.main(["--parquet", str(raw), "--sequence-id", str(SEQ_ID), "--out",
                                str(tmp_path / "seq.png")])
    assert_png(out)
    assert render_sequence.lookup_phrase(raw, SEQ_ID) == PHRASE
    assert "wrote" in capsys.readouterr().out


def test_render_from_npy(tmp_path, xyz):
    idx = [HOLISTIC_LANDMARKS.index(n) for n in SELECTED_LANDMARKS]
    npy = tmp_path / f"{SEQ_ID}.npy"
    np.save(npy, xyz[:, idx].transpose(0, 2, 1).reshape(len(xyz), -1))
    out = render_sequence.main(["--npy", str(npy), "--phrase", PHRASE, "--out", str(tmp_path / "npy.png"),
                                "--frames", "6", "--no-closeups"])
    assert_png(out)
    landmarks = render_sequence.from_npy(npy)
    assert landmarks.shape == (len(xyz), 130, 3)
    assert np.array_equal(landmarks, xyz[:, idx], equal_nan=True)  # the (T, 390) layout is undone correctly


def test_bad_inputs_are_reported(tmp_path, raw):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((5, 100), np.float32))
    with pytest.raises(ValueError, match=r"expected a \(T, 390\) array"):
        render_sequence.from_npy(bad)
    with pytest.raises(ValueError, match="no sequence_id 5"):
        render_sequence.from_parquet(raw, 5)
    with pytest.raises(FileNotFoundError, match="no such file"):
        render_sequence.main(["--npy", str(tmp_path / "missing.npy")])


def test_skeleton_edges_cover_the_kept_landmarks():
    edges = edges_for(SELECTED_LANDMARKS)
    counts = {part: len(pairs) for part, pairs in edges.items()}
    assert counts == {"right_hand": 21, "left_hand": 21, "lips": 40, "eyes": 32, "nose": 3, "arms": 13}
    used = {i for pairs in edges.values() for pair in pairs for i in pair}
    assert used == set(range(130))  # every kept landmark is drawn as part of a skeleton
