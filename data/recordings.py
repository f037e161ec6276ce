"""A user's own recordings as a competition-format raw folder: `DIR/<name>.parquet` + `DIR/train.csv`.

One recording = one parquet holding one sequence, listed in DIR/train.csv (`path, file_id, sequence_id,
participant_id, phrase`; `path` relative to DIR), so scripts/prepare_data.py --raw DIR, scripts/predict.py and
scripts/render_sequence.py read it unchanged. Ids are derived from the name (CRC-32), so re-running on the same
videos gives the same ids and a folder can grow one recording at a time (rows of the same path are replaced).
"""
from __future__ import annotations

import os
import re
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from data.datamount import write_csv_atomic
from data.raw_format import METADATA_COLUMNS, sequences_to_table

INDEX_NAME = "train.csv"


def recording_id(name: str) -> int:
    """A stable non-negative 31-bit id for a recording name (its file_id and sequence_id)."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def phrase_from_name(name: str) -> str:
    """The phrase a file name spells: 'bear' -> 'bear', 'Hello_World-2' -> 'hello world' (trailing take number)."""
    stem = re.sub(r"[-_ ]*\d+$", "", Path(name).stem) or Path(name).stem
    return re.sub(r"[_]+", " ", stem).strip().lower()


def write_recording(out_dir: str | Path, name: str, xyz: np.ndarray, phrase: str, participant_id: int = 0,
                    frames: np.ndarray | None = None) -> dict:
    """Write `out_dir/<name>.parquet` (one sequence; `frames` = its own frame numbers, default 0..T-1) and
    upsert its row in `out_dir/train.csv`; returns the row."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rid = recording_id(name)
    table = sequences_to_table({rid: xyz})
    if frames is not None:
        table = table.set_column(0, "frame", pa.array(np.asarray(frames).astype(np.int16)))
    path = out_dir / f"{name}.parquet"
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        pq.write_table(table, tmp, use_dictionary=["frame", "sequence_id"])
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    row = {"path": path.name, "file_id": rid, "sequence_id": rid, "participant_id": int(participant_id),
           "phrase": phrase}
    upsert_index(out_dir, [row])
    return row


def upsert_index(out_dir: Path, rows: list[dict]) -> pd.DataFrame:
    """Add `rows` to out_dir/train.csv, replacing earlier rows of the same path; returns the whole index."""
    index_path = out_dir / INDEX_NAME
    new = pd.DataFrame(rows, columns=METADATA_COLUMNS)
    if index_path.is_file():
        old = pd.read_csv(index_path, dtype={"phrase": str}, keep_default_na=False)
        new = pd.concat([old[~old["path"].isin(new["path"])], new], ignore_index=True)
    write_csv_atomic(new, index_path)
    return new
