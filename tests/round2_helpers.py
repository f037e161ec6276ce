"""Fabricated round-1 outputs for the round-2 table tests: a datamount with CSVs and val_data files."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from data.tokenizer import EOS_ID, MAX_PHRASE_LEN, PAD_ID, SOS_ID, encode, write_character_map

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
