"""The original team's published artefacts: their pre-processed Kaggle datasets and the fold/OOF CSVs of their repo.

The original README starts from the team's npy data sets instead of converting the competition parquet files:

    kaggle datasets download -d darraghdog/asl-fingerspelling-preprocessing-train-dataset   # train_landmarks_npy/
    kaggle datasets download -d darraghdog/asl-fingerspelling-preprocessed-supp-dataset     # supplemental_landmarks/

unzipped into datamount/, with supplemental_landmarks/* moved into train_landmarks_npy/. Their repository also ships
datamount/train_folded.csv, supplemental_metadata_folded.csv and train_folded_oof_supp.csv (round 1's OOF table),
so a user can skip round 1. scripts/download_data.py fetches both (--team-datasets, --team-csvs); every CSV is
verified against the git blob SHA-1 recorded here before it is written.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

TEAM_DATASETS: tuple[str, ...] = ("darraghdog/asl-fingerspelling-preprocessing-train-dataset",
                                  "darraghdog/asl-fingerspelling-preprocessed-supp-dataset")
SUPPLEMENTAL_FOLDER = "supplemental_landmarks"  # in the supp data set; its file_id folders join train_landmarks_npy/
TEAM_REPO = "ChristofHenkel/kaggle-asl-fingerspelling-1st-place-solution"
TEAM_COMMIT = "82d4b5bbad44738469a1bfc668540675ce3975eb"
TEAM_CSVS: dict[str, str] = {  # datamount/<name> -> git blob SHA-1 at TEAM_COMMIT
    "train_folded.csv": "243874418bc4dadab195115b47dd2548676e44ae",
    "supplemental_metadata_folded.csv": "03f4ab520a2b6518b290725779cf7f8f6ca106be",
    "train_folded_oof_supp.csv": "294eebafb8e347f1f4a4262a449a461671acbaa3",
}


def git_blob_sha1(data: bytes) -> str:
    """The id git gives a file with this content: sha1(b"blob <size>\\0" + data)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def team_csv_url(name: str, commit: str = TEAM_COMMIT) -> str:
    """Raw-file address of datamount/<name> in the team's repository at `commit`."""
    return f"https://raw.githubusercontent.com/{TEAM_REPO}/{commit}/datamount/{name}"


def is_team_csv(path: str | Path) -> bool:
    """True when `path` exists and is, byte for byte, the team's file of that name."""
    path = Path(path)
    return path.name in TEAM_CSVS and path.is_file() and git_blob_sha1(path.read_bytes()) == TEAM_CSVS[path.name]
