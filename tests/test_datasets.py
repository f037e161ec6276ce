"""ds_1 / ds_2 datasets (SPEC §3): item contract, filters, CutMix partners, ds_2 epoch composition, errors."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from configs.cfg_1 import cfg as cfg_1
from configs.cfg_2 import cfg as cfg_2
from data import DATASETS, ds_1, ds_2
from data.augmentations import Compose
from data.dataset import build_train_aug, load_flip_array, load_landmarks, read_npy, seed_worker
from data.landmarks import N_LANDMARKS, symmetry_frame, write_inference_args
from data.preprocessing import N_COLUMNS, interpolate_or_pad, normalize_sequence
from data.tokenizer import MAX_PHRASE_LEN, OutOfVocabularyError, decode, tokenize

MAX_LEN = 384


def raw(n_frames: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n_frames, 3, N_LANDMARKS)).astype(np.float32)
    x[::3, :, 40:61] = np.nan  # left hand missing in every third frame
    return x.reshape(n_frames, N_COLUMNS)


def write_rows(root: Path, rows: list[dict], base: SimpleNamespace) -> tuple[pd.DataFrame, SimpleNamespace]:
    """Write one npy per row (T = row['seq_len']), inference_args.json and symmetry.csv; return (df, cfg)."""
    folder = root / "train_landmarks_npy"
    for i, row in enumerate(rows):
        (folder / str(row["file_id"])).mkdir(parents=True, exist_ok=True)
        np.save(folder / str(row["file_id"]) / f"{row['sequence_id']}.npy", raw(row["seq_len"], seed=i))
    write_inference_args(folder / "inference_args.json")
    symmetry_frame().to_csv(root / "symmetry.csv", index=False)
    cfg = copy.deepcopy(base)
    cfg.data_folder, cfg.symmetry_fp, cfg.seed = str(folder) + "/", str(root / "symmetry.csv"), 0
    return pd.DataFrame(rows), cfg


def row(sequence_id: int, participant: int, phrase: str, seq_len: int, **extra) -> dict:
    return {"file_id": 7, "sequence_id": sequence_id, "participant_id": participant, "phrase": phrase, "fold": 0,
            "seq_len": seq_len, **extra}


def no_random_aug(cfg: SimpleNamespace) -> SimpleNamespace:
    cfg.flip_aug, cfg.outer_cutmix_aug = 0.0, 0.0
    return cfg


@pytest.fixture
def small(tmp_path: Path) -> tuple[pd.DataFrame, SimpleNamespace]:
    """Six competition rows of two participants plus a short one (filtered in train mode by cfg_1)."""
    rows = [row(100 + i, i % 2, phrase, 20 + 7 * i) for i, phrase in enumerate(
        ["hello world", "abc", "3 main st", "x", "https://a.b", "zz top"])]
    rows.append(row(200, 0, "short", 5))
    return write_rows(tmp_path, rows, cfg_1)


def expected_val_item(cfg: SimpleNamespace, df: pd.DataFrame, i: int) -> dict[str, torch.Tensor]:
    """Val items are deterministic: normalise -> pad -> tokenize (SPEC §3.2 steps 1, 2, 4, 5)."""
    r = df.iloc[i]
    x = np.load(Path(cfg.data_folder) / str(r.file_id) / f"{r.sequence_id}.npy")
    frames, mask = interpolate_or_pad(normalize_sequence(x), MAX_LEN)
    ids, attention = tokenize(r.phrase)
    return {"input": frames, "input_mask": mask, "token_ids": torch.from_numpy(ids),
            "attention_mask": torch.from_numpy(attention), "seq_len": torch.tensor(len(x))}


def test_registry():
    assert DATASETS == {"ds_1": ds_1.CustomDataset, "ds_2": ds_2.CustomDataset}


def test_item_contract_and_dtypes(small):
    df, cfg = small
    dataset = ds_1.CustomDataset(df, cfg, build_train_aug(cfg), mode="train")
    assert len(dataset) == 6  # seq_len 5 < min_seq_len 15 is dropped in train mode
    for i in range(len(dataset)):
        item = dataset[i]
        assert set(item) == {"input", "input_mask", "token_ids", "attention_mask", "seq_len"}
        assert item["input"].shape == (MAX_LEN, N_LANDMARKS, 3) and item["input"].dtype == torch.float32
        assert item["input_mask"].shape == (MAX_LEN,) and item["input_mask"].dtype == torch.float32
        assert item["token_ids"].shape == (MAX_PHRASE_LEN,) and item["token_ids"].dtype == torch.int64
        assert item["attention_mask"].dtype == torch.int64 and item["seq_len"].dtype == torch.int64
        assert item["seq_len"].shape == () and item["seq_len"] == df.iloc[i].seq_len  # raw T, before augmentation
        assert torch.isfinite(item["input"]).all()


def test_val_mode_does_no_augmentation(small):
    df, cfg = small

    def exploding_aug(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        raise AssertionError("augmentation called in val mode")

    cfg.flip_aug, cfg.outer_cutmix_aug = 1.0, 1.0
    dataset = ds_1.CustomDataset(df, cfg, exploding_aug, mode="val")
    assert len(dataset) == 7  # no min_seq_len filter outside train mode
    for i in range(len(dataset)):
        item, expected = dataset[i], expected_val_item(cfg, df, i)
        for key, value in expected.items():
            torch.testing.assert_close(item[key], value, atol=1e-5, rtol=0)


def test_train_mode_without_random_steps_equals_val(small):
    df, cfg = small
    train = ds_1.CustomDataset(df, no_random_aug(cfg), None, mode="train")
    for i in range(len(train)):
        torch.testing.assert_close(train[i]["input"], expected_val_item(cfg, df, i)["input"], atol=1e-5, rtol=0)


def test_flip_probability_mirrors_the_sequence(small):
    df, cfg = small
    cfg = no_random_aug(cfg)
    cfg.flip_aug = 1.0
    flipped = ds_1.CustomDataset(df, cfg, None, mode="train")[0]["input"]
    plain = expected_val_item(cfg, df, 0)["input"]
    mirror = load_flip_array(cfg, load_landmarks(cfg))
    torch.testing.assert_close(flipped[:, :, 0], -plain[:, mirror, 0], atol=1e-5, rtol=0)
    torch.testing.assert_close(flipped[:, :, 1:], plain[:, mirror, 1:], atol=1e-5, rtol=0)


def test_cutmix_partner_is_same_participant_other_sequence(tmp_path):
    rows = [row(1, 0, "aaaa", 30), row(2, 0, "bbbb", 30), row(3, 1, "cccc", 30), row(4, 1, "dddd", 30),
            row(5, 2, "eeee", 30)]
    df, cfg = write_rows(tmp_path, rows, cfg_1)
    cfg = no_random_aug(cfg)
    cfg.outer_cutmix_aug = 1.0
    dataset = ds_1.CustomDataset(df, cfg, None, mode="train")
    partner_letter = {"a": "b", "b": "a", "c": "d", "d": "c"}
    for _ in range(20):
        for i, r in enumerate(rows):
            own = r["phrase"][0]
            phrase = decode_ids(dataset[i])
            if own == "e":  # the only recording of participant 2: no partner, unchanged
                assert phrase == "eeee"
            else:  # both parts present: cut points are clipped to 1..len-1
                assert set(phrase) == {own, partner_letter[own]}


def decode_ids(item: dict[str, torch.Tensor]) -> str:
    return decode(item["token_ids"][item["attention_mask"].bool()].tolist())


def supplemental_rows() -> list[dict]:
    rows = [row(10 + i, i % 2, f"train {i}", 25, is_sup=0, score=s) for i, s in enumerate([0.9, -0.3, 1.7])]
    rows += [row(20 + i, i % 3, phrase, 30 + i, is_sup=1, score=0.5)
             for i, phrase in enumerate(["alpha", "beta", "alpha", "alpha", "gamma", "beta"])]
    return rows


def test_ds_2_epoch_composition(tmp_path):
    df, cfg = write_rows(tmp_path, supplemental_rows(), cfg_2)
    dataset = ds_2.CustomDataset(df, no_random_aug(cfg), None, mode="train")
    assert len(dataset) == 3 + 3  # every train row + one recording per distinct supplemental phrase
    for i in range(3):
        assert dataset[i]["seq_len"] == 25 and decode_ids(dataset[i]) == f"train {i}"
    expected = {3: ("alpha", {30, 32, 33}), 4: ("beta", {31, 35}), 5: ("gamma", {34})}  # first-appearance order
    for idx, (phrase, lengths) in expected.items():
        seen = set()
        for _ in range(60):
            item = dataset[idx]
            assert decode_ids(item) == phrase
            seen.add(int(item["seq_len"]))
        assert seen == lengths  # a random recording of that phrase, every one reachable


def test_ds_2_scores_and_val_mode(tmp_path):
    df, cfg = write_rows(tmp_path, supplemental_rows(), cfg_2)
    val = ds_2.CustomDataset(df, cfg, None, mode="val")
    assert len(val) == 3 and (val.df["is_sup"] == 0).all()
    scores = [val[i]["score"] for i in range(3)]
    assert all(s.dtype == torch.float64 and s.shape == () for s in scores)
    assert [float(s) for s in scores] == [0.9, 0.0, 1.0]  # clipped to [0, 1]
    no_score = ds_2.CustomDataset(df.drop(columns=["score"]), cfg, None, mode="test")
    assert float(no_score[0]["score"]) == 1.0
    cfg.score_float32 = True
    assert ds_2.CustomDataset(df, cfg, None, mode="val")[0]["score"].dtype == torch.float32


def test_ds_2_cutmix_mixes_scores(tmp_path):
    rows = [row(1, 0, "aaaa", 30, is_sup=0, score=0.0), row(2, 0, "bbbb", 30, is_sup=0, score=1.0)]
    df, cfg = write_rows(tmp_path, rows, cfg_2)
    cfg = no_random_aug(cfg)
    cfg.outer_cutmix_aug = 1.0
    dataset = ds_2.CustomDataset(df, cfg, None, mode="train")
    scores = [float(dataset[0]["score"]) for _ in range(200)]
    assert min(scores) > 0.0 and max(scores) < 1.0 and np.std(scores) > 0.1


def test_dataloader_batches_and_worker_seeding(small):
    df, cfg = small
    df = pd.concat([df.iloc[:1]] * 4, ignore_index=True)  # the same recording four times
    dataset = ds_1.CustomDataset(df, cfg, build_train_aug(cfg), mode="train")
    loader = DataLoader(dataset, batch_size=1, num_workers=2, worker_init_fn=seed_worker,
                        generator=torch.Generator().manual_seed(0))
    batches = list(loader)
    assert batches[0]["input"].shape == (1, MAX_LEN, N_LANDMARKS, 3)
    # worker 0 serves batch 0, worker 1 batch 1: same row, same position in each worker's stream
    assert not torch.equal(batches[0]["input"], batches[1]["input"])


def test_same_seed_same_items(small):
    df, cfg = small
    first = ds_1.CustomDataset(df, cfg, build_train_aug(cfg), mode="train", seed=3)
    second = ds_1.CustomDataset(df, cfg, build_train_aug(cfg), mode="train", seed=3)
    for i in range(len(first)):
        torch.testing.assert_close(first[i], second[i])
    with pytest.raises(IndexError):
        first[len(first)]


def test_build_train_aug(small):
    _, cfg = small
    assert isinstance(build_train_aug(cfg), Compose)
    cfg.train_aug = None
    assert build_train_aug(cfg) is None


def test_out_of_vocabulary_phrase_names_sequence(small):
    df, cfg = small
    df.loc[2, "phrase"] = "Upper Case"
    with pytest.raises(OutOfVocabularyError, match="sequence_id 102"):
        ds_1.CustomDataset(df, cfg, None, mode="val")


@pytest.mark.parametrize("content, message", [
    (np.zeros((4, N_COLUMNS), np.float64), "float32"),
    (np.zeros((4, 100), np.float32), "float32 \\(T, 390\\)"),
    (np.zeros((0, N_COLUMNS), np.float32), "empty sequence"),
    (b"not an npy file", "not a readable"),
])
def test_bad_npy_files_are_named(small, content, message):
    df, cfg = small
    path = Path(cfg.data_folder) / "7" / "101.npy"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        np.save(path, content)
    dataset = ds_1.CustomDataset(df, cfg, None, mode="val")
    with pytest.raises(ValueError, match=message) as error:
        dataset[1]
    assert str(path) in str(error.value)


def test_missing_files_are_named(small):
    df, cfg = small
    (Path(cfg.data_folder) / "7" / "100.npy").unlink()
    with pytest.raises(FileNotFoundError, match="100.npy"):
        ds_1.CustomDataset(df, cfg, None, mode="val")[0]
    Path(cfg.symmetry_fp).unlink()
    with pytest.raises(FileNotFoundError, match="symmetry"):
        ds_1.CustomDataset(df, cfg, None, mode="train")
    (Path(cfg.data_folder) / "inference_args.json").write_text(json.dumps({"selected_columns": ["x_face_0"]}))
    with pytest.raises(ValueError, match="inference_args"):
        build_train_aug(cfg)
    with pytest.raises(ValueError, match="mode"):
        ds_1.CustomDataset(df, cfg, None, mode="eval")
    with pytest.raises(ValueError, match="participant_id"):
        ds_1.CustomDataset(df.drop(columns=["participant_id"]), cfg, None, mode="train")


def test_fast_npy_reader_matches_np_load(tmp_path):
    for i, array in enumerate([raw(13, 0), np.asfortranarray(raw(5, 1)), raw(3, 2).astype(np.float64),
                               np.zeros((2, 3, 4), np.float32)]):
        path = tmp_path / f"{i}.npy"
        np.save(path, array)
        loaded = read_npy(str(path))
        np.testing.assert_array_equal(loaded, np.load(path))
        assert loaded.dtype == array.dtype
    np.save(tmp_path / "cut.npy", raw(10, 0))
    (tmp_path / "cut.npy").write_bytes((tmp_path / "cut.npy").read_bytes()[:-8])
    with pytest.raises(ValueError, match="data bytes"):
        read_npy(str(tmp_path / "cut.npy"))
