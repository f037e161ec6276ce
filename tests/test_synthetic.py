"""Synthetic data set (data/synthetic/, scripts/make_synthetic_data.py): schema, determinism, realism checks."""
from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from data.landmarks import HOLISTIC_LANDMARKS
from data.raw_format import METADATA_COLUMNS, RAW_COLUMNS
from data.synthetic import hand, handshapes
from data.synthetic.choreography import hand_trajectory
from data.synthetic.dataset import METADATA_FILE, PRESETS, build_metadata, generate_dataset, write_file
from data.synthetic.motions import MOTIONS
from data.synthetic.phrases import MAX_SUPPLEMENTAL_CHARS, MAX_TRAIN_CHARS
from data.synthetic.sequence import synthesize_sequence
from data.synthetic.signer import sample_signer
from data.synthetic.timing import MAX_FRAMES, TIMING_STREAM, plan_timing
from data.tokenizer import CHAR_TO_ID, CHARACTERS
from scripts import make_synthetic_data

SEED = 0
POINT = {name: i for i, name in enumerate(HOLISTIC_LANDMARKS)}
HANDS = {"left_hand": (POINT["left_hand_0"], "pose_15"), "right_hand": (POINT["right_hand_0"], "pose_16")}
WRIST_TOLERANCE = 0.04  # normalised units: pose (coarse, noisier) vs hand wrist
MIN_SHAPE_DISTANCE_P = 0.2  # the closest pair of citation forms (u/v, m/n) differ by ~0.22 P at some joint


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"phrase": str}, keep_default_na=False)


def load_xyz(parquet: Path) -> dict[int, np.ndarray]:
    """{sequence_id: (T, 543, 3)} of a raw file."""
    df = pd.read_parquet(parquet)
    values = df[RAW_COLUMNS[1:]].to_numpy().reshape(len(df), 3, len(HOLISTIC_LANDMARKS)).transpose(0, 2, 1)
    return {int(s): values[df.index == s] for s in pd.unique(df.index)}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synthetic") / "tiny"
    make_synthetic_data.main(["--preset", "tiny", "--out", str(out), "--seed", str(SEED), "--quiet"])
    return out


@pytest.fixture(scope="module")
def demo_meta() -> pd.DataFrame:
    return build_metadata("demo", SEED)


@pytest.fixture(scope="module")
def tiny_sequences(tiny) -> dict[int, np.ndarray]:
    out = {}
    for parquet in sorted(tiny.glob("*_landmarks/*.parquet")):
        out |= load_xyz(parquet)
    return out


def test_full_preset_has_the_competition_counts():
    full = PRESETS["full"]
    assert (full.n_train, full.train_files, full.n_signers, full.n_supplemental) == (67_208, 68, 94, 52_958)
    assert 900 <= full.n_train / full.train_files <= 1_100 and 900 <= full.n_supplemental / full.supplemental_files


def test_metadata_files_and_columns(tiny):
    meta = read_csv(tiny / METADATA_FILE)
    for csv, folder, split in (("train.csv", "train_landmarks", "train"),
                               ("supplemental_metadata.csv", "supplemental_landmarks", "supplemental")):
        df = read_csv(tiny / csv)
        assert list(df.columns) == METADATA_COLUMNS
        assert len(df) == (PRESETS["tiny"].n_train if split == "train" else PRESETS["tiny"].n_supplemental)
        assert (df["path"] == folder + "/" + df["file_id"].astype(str) + ".parquet").all()
        assert all((tiny / p).is_file() for p in df["path"].unique())
        assert df.dtypes["file_id"].kind == df.dtypes["sequence_id"].kind == df.dtypes["participant_id"].kind == "i"
        assert df["phrase"].tolist() == meta.loc[meta["split"] == split, "phrase"].tolist()
    assert meta["sequence_id"].is_unique
    assert meta["participant_id"].nunique() == PRESETS["tiny"].n_signers
    assert json.loads((tiny / "character_to_prediction_index.json").read_text()) == CHAR_TO_ID


def test_parquet_schema_and_lengths(tiny, tiny_sequences):
    parquet = sorted(tiny.glob("train_landmarks/*.parquet"))[0]
    schema = pq.read_schema(parquet)
    df = pd.read_parquet(parquet)
    assert df.index.name == "sequence_id" and list(df.columns) == RAW_COLUMNS and len(RAW_COLUMNS) == 1630
    assert (df.dtypes.iloc[1:] == np.float32).all() and df["frame"].dtype.kind == "i"
    assert str(schema.field("x_face_0").type) == "float"
    for _, frames in df.groupby(level=0)["frame"]:
        assert (frames.to_numpy() == np.arange(len(frames))).all()
    n_frames = read_csv(tiny / METADATA_FILE).set_index("sequence_id")["n_frames"]
    assert {s: len(x) for s, x in tiny_sequences.items()} == n_frames.to_dict()


def test_phrases_use_the_character_map(demo_meta):
    meta = demo_meta
    for split, limit in (("train", MAX_TRAIN_CHARS), ("supplemental", MAX_SUPPLEMENTAL_CHARS)):
        phrases = meta.loc[meta["split"] == split, "phrase"]
        assert phrases.str.len().between(1, limit).all()
        assert set("".join(phrases)) <= set(CHARACTERS)
        assert (phrases == phrases.str.lower()).all()
    train = meta.loc[meta["split"] == "train", "phrase"]
    assert train.str.fullmatch(r"[+(]?[\d() .+-]{7,}").mean() > 0.1  # phone numbers
    assert train.str.contains(r"^(?:www\.|https?://)|\.(?:com|net|org|jp)").mean() > 0.1  # URLs
    assert train.str.match(r"\d+ [a-z]").mean() > 0.1  # street addresses
    supp = meta.loc[meta["split"] == "supplemental", "phrase"]
    assert supp.nunique() <= PRESETS["demo"].sentence_pool and supp.value_counts().iloc[0] >= 5


def test_sequence_lengths_like_the_real_data(demo_meta):
    n = demo_meta.loc[demo_meta["split"] == "train", "n_frames"]
    assert 140 <= n.mean() <= 185 and 125 <= n.median() <= 170 and n.mean() > n.median()
    assert n.max() <= MAX_FRAMES and n.quantile(0.99) > 300
    assert (n < 15).mean() < 0.01
    signer = sample_signer(SEED, 0, 1, 4)
    short = [plan_timing("abcdefghij", signer, np.random.default_rng([SEED, TIMING_STREAM, i])).n_frames
             for i in range(3000)]
    assert 0 < sum(k < 15 for k in short) < 30  # a few corrupted recordings


def test_deterministic(tiny, tmp_path):
    again = tmp_path / "again"
    generate_dataset(again, "tiny", SEED, metadata_only=True, progress=False)
    for csv in ("train.csv", "supplemental_metadata.csv", METADATA_FILE):
        assert (again / csv).read_bytes() == (tiny / csv).read_bytes()
    meta = read_csv(tiny / METADATA_FILE)
    rows = meta[meta["path"] == meta["path"].iloc[-1]]
    write_file(tmp_path, SEED, PRESETS["tiny"].n_signers, rows)
    first, second = load_xyz(tiny / rows["path"].iloc[0]), load_xyz(tmp_path / rows["path"].iloc[0])
    assert first.keys() == second.keys()
    assert all(np.array_equal(first[k], second[k], equal_nan=True) for k in first)
    other = build_metadata("tiny", SEED + 1)
    assert not other["phrase"].equals(meta["phrase"])


def test_hands_are_missing_as_whole_hands_in_bursts(tiny_sequences):
    runs = []
    for xyz in tiny_sequences.values():
        for part in ("left_hand", "right_hand"):
            missing = np.isnan(xyz[:, POINT[f"{part}_0"]:POINT[f"{part}_20"] + 1])  # (T, 21, 3)
            assert (missing.all(axis=(1, 2)) | ~missing.any(axis=(1, 2))).all(), "partial hand"
        rh, lh = (np.isnan(xyz[:, POINT[f"{p}_0"], 0]) for p in ("right_hand", "left_hand"))
        dominant = rh if rh.mean() <= lh.mean() else lh
        edges = np.flatnonzero(np.diff(np.r_[0, dominant.astype(int), 0]))
        runs += list(edges[1::2] - edges[::2])
    assert max(runs) >= 3  # drop-outs come in bursts, not single frames
    other_missing = np.mean([max(np.isnan(x[:, POINT["left_hand_0"], 0]).mean(),
                                 np.isnan(x[:, POINT["right_hand_0"], 0]).mean()) for x in tiny_sequences.values()])
    assert other_missing > 0.7  # the non-signing hand is mostly not detected


def test_pose_wrist_is_at_the_hand_wrist(tiny_sequences):
    checked = 0
    for xyz in tiny_sequences.values():
        for hand_wrist, pose_wrist in HANDS.values():
            present = np.isfinite(xyz[:, hand_wrist, 0])
            gap = np.abs(xyz[present, hand_wrist, :2] - xyz[present, POINT[pose_wrist], :2])
            assert (gap < WRIST_TOLERANCE).all()
            checked += present.sum()
    assert checked > 1000


def test_face_and_pose_are_plausible(tiny_sequences):
    xyz = next(iter(tiny_sequences.values()))
    mean = {name: np.nanmean(xyz[:, POINT[name]], axis=0) for name in
            ("face_33", "face_263", "face_1", "face_13", "face_61", "face_291", "pose_11", "pose_12")}
    assert mean["face_33"][0] < mean["face_1"][0] < mean["face_263"][0]  # subject's right eye is on the image left
    assert mean["face_61"][0] < mean["face_13"][0] < mean["face_291"][0]
    assert mean["face_33"][1] < mean["face_1"][1] < mean["face_13"][1] < mean["pose_12"][1]  # eyes, nose, mouth, body
    assert mean["pose_12"][0] < mean["face_1"][0] < mean["pose_11"][0]
    assert np.isfinite(xyz[:, POINT["pose_0"]:POINT["pose_32"] + 1]).all()


def test_every_character_has_a_distinct_hand_shape():
    def poses(char: str) -> np.ndarray:
        """Citation pose at the start and at the end of the character's motion (static: twice the same)."""
        start = handshapes.canonical_hand(char)
        end = handshapes.shape_state(char).copy()
        motion = MOTIONS.get(handshapes.SHAPES[char].motion)
        if motion is not None:
            end[hand.OFFSET] += motion.points[-1] - motion.points[0]
            if motion.twist is not None:
                end[hand.ORIENT] += np.deg2rad(motion.twist[-1] - motion.twist[0])
        return np.stack([start, hand.forward_kinematics(end[None])[0]])

    shapes = {c: poses(c) for c in CHARACTERS}
    assert len(shapes) == 59
    closest = min((np.linalg.norm(shapes[a] - shapes[b], axis=-1).max(), a, b) for a, b in combinations(CHARACTERS, 2))
    assert closest[0] > MIN_SHAPE_DISTANCE_P, closest


def test_thumb_reaches_its_contact_points():
    for char, shape in handshapes.SHAPES.items():
        if shape.thumb.startswith("tip_"):
            state = handshapes.shape_state(char)
            target = handshapes.thumb_target(state, handshapes.THUMB_TARGETS[shape.thumb])
            assert np.linalg.norm(hand.local_joints(state)[0, 4] - target) < 0.08, char


def test_same_letter_is_consistent_across_signers():
    """Hold poses of a letter cluster by letter, not by signer (rotation-invariant joint-distance features)."""
    letters, feats = "blyvw", {}
    for index in range(4):
        signer = sample_signer(SEED, index, index + 1, 4)
        plan = plan_timing(letters, signer, np.random.default_rng(index))
        states = hand_trajectory(letters, signer, plan, np.random.default_rng(index))
        mid = np.minimum((plan.hold_starts + plan.hold / 2).astype(int), plan.n_frames - 1)
        joints = hand.local_joints(states[mid], signer.hand)
        d = np.linalg.norm(joints[:, :, None] - joints[:, None], axis=-1).reshape(len(letters), -1)
        for c, row in zip(letters, d):
            feats.setdefault(c, []).append(row)
    within = max(np.linalg.norm(a - b) for rows in feats.values() for a, b in combinations(rows, 2))
    between = min(np.linalg.norm(a - b) for c1, c2 in combinations(letters, 2) for a in feats[c1] for b in feats[c2])
    assert within < between


def test_left_handed_signer_signs_with_the_left_hand():
    signer = next(s for s in (sample_signer(SEED, i, 1, 50) for i in range(50)) if s.left_handed and s.miss_rate < 0.3)
    xyz = synthesize_sequence("hello world", signer, SEED, 12345)
    left, right = (np.isfinite(xyz[:, POINT[f"{p}_0"], 0]).mean() for p in ("left_hand", "right_hand"))
    assert left > 0.4 and left > right
    present = np.isfinite(xyz[:, POINT["left_hand_0"], 0])
    assert np.abs(xyz[present, POINT["left_hand_0"], :2] - xyz[present, POINT["pose_15"], :2]).max() < WRIST_TOLERANCE


def test_cli_refuses_a_non_empty_target_and_overwrites_atomically(tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(SystemExit, match="--overwrite"):
        make_synthetic_data.main(["--preset", "tiny", "--out", str(out), "--metadata-only", "--quiet"])
    assert (out / "keep.txt").is_file()
    summary = make_synthetic_data.main(["--preset", "tiny", "--out", str(out), "--metadata-only", "--overwrite",
                                        "--quiet"])
    assert not (out / "keep.txt").exists() and (out / "train.csv").is_file()
    assert not list(out.glob("*_landmarks/*.parquet")) and summary["files"] == 0
    assert [p.name for p in tmp_path.iterdir()] == ["data"]  # no temp folder left behind


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        build_metadata("huge")


@pytest.mark.slow
def test_parallel_workers_write_identical_files(tiny, tmp_path):
    out = tmp_path / "parallel"
    make_synthetic_data.main(["--preset", "tiny", "--out", str(out), "--seed", str(SEED), "--workers", "2", "--quiet"])
    for parquet in sorted(tiny.glob("*_landmarks/*.parquet")):
        first, second = load_xyz(parquet), load_xyz(out / parquet.relative_to(tiny))
        assert all(np.array_equal(first[k], second[k], equal_nan=True) for k in first)
