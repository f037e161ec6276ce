"""The datamount layout (SPEC §1.2-1.4): one place for every file name under `datamount/`.

    datamount/
      train_landmarks_npy/<file_id>/<sequence_id>.npy   float32 (T, 390), SELECTED_COLUMNS order, NaN kept
      train_landmarks_npy/inference_args.json          {"selected_columns": [390 names]}
      train.csv, supplemental_metadata.csv              raw metadata rows that were converted (prepare step)
      prepare_report.json                               every problem the prepare step found
      train_folded.csv                                  train.csv columns + fold + seq_len
      supplemental_metadata_folded.csv                  + fold, seq_len, phrase_len
      train_folded_oof_supp.csv                         OOF output (round 2 input)
      character_to_prediction_index.json, symmetry.csv  static files
      weights/<cfg name>/fold<k>/                       checkpoints and validation outputs

Raw competition-format data (real or synthetic) lives in a separate folder with train.csv,
supplemental_metadata.csv, character_to_prediction_index.json, train_landmarks/*.parquet and
supplemental_landmarks/*.parquet (`DEFAULT_RAW_DIR`, `SYNTHETIC_RAW_DIR`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from common.atomic import atomic_path, write_json_atomic  # noqa: F401  (write_json_atomic: re-exported)
from common.run_layout import INFERENCE_ARGS_NAME, fold_dir
from data.landmarks import symmetry_frame
from data.tokenizer import write_character_map

DEFAULT_ROOT = Path("datamount")
DEFAULT_RAW_DIR = DEFAULT_ROOT / "asl-fingerspelling"  # real competition data (scripts/download_data.py)
SYNTHETIC_RAW_DIR = DEFAULT_ROOT / "synthetic"  # embedded synthetic data set (scripts/make_synthetic_data.py)

TRAIN_CSV = "train.csv"
SUPPLEMENTAL_CSV = "supplemental_metadata.csv"
CHARACTER_MAP_JSON = "character_to_prediction_index.json"
NPY_DIR = "train_landmarks_npy"


@dataclass(frozen=True)
class Datamount:
    """Paths of the datamount layout below `root` (nothing is created or read here)."""

    root: Path = DEFAULT_ROOT

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def npy_dir(self) -> Path:
        """Folder of the per-sequence npy files (the configs' `data_folder`)."""
        return self.root / NPY_DIR

    @property
    def inference_args(self) -> Path:
        """The 390 selected column names (read by the datasets and the TFLite export)."""
        return self.npy_dir / INFERENCE_ARGS_NAME

    @property
    def train_csv(self) -> Path:
        """Converted train.csv rows (written by the prepare step, read by the folds step)."""
        return self.root / TRAIN_CSV

    @property
    def supplemental_csv(self) -> Path:
        """Converted supplemental_metadata.csv rows (absent when the raw data has no supplemental set)."""
        return self.root / SUPPLEMENTAL_CSV

    @property
    def prepare_report(self) -> Path:
        """Every problem found by the prepare step (scripts/prepare_data.py)."""
        return self.root / "prepare_report.json"

    @property
    def train_folded(self) -> Path:
        """Round-1 table: train.csv columns + fold + seq_len."""
        return self.root / "train_folded.csv"

    @property
    def supplemental_folded(self) -> Path:
        """Supplemental rows + fold, seq_len, phrase_len."""
        return self.root / "supplemental_metadata_folded.csv"

    @property
    def oof_supp(self) -> Path:
        """Round-2 table written by scripts/get_train_folded_oof_supp.py."""
        return self.root / "train_folded_oof_supp.csv"

    @property
    def character_map(self) -> Path:
        """The competition's 59-character map."""
        return self.root / CHARACTER_MAP_JSON

    @property
    def symmetry(self) -> Path:
        """Mirror table `id, corresponding_id` used by the flip augmentation."""
        return self.root / "symmetry.csv"

    @property
    def weights(self) -> Path:
        """Root of the training outputs (weights/<cfg name>/fold<k>/)."""
        return self.root / "weights"

    def fold_dir(self, cfg_name: str, fold: int) -> Path:
        """Output folder of one training run, e.g. weights/cfg_2/fold-1."""
        return fold_dir(self.weights / cfg_name, fold)

    def npy_path(self, file_id: int, sequence_id: int) -> Path:
        """The npy file of one sequence."""
        return self.npy_dir / str(int(file_id)) / f"{int(sequence_id)}.npy"


def write_csv_atomic(df: pd.DataFrame, path: str | Path) -> None:
    """Write a CSV without index atomically (common.atomic), so readers never see a half-written file."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def write_static_files(root: str | Path = DEFAULT_ROOT) -> Datamount:
    """Write character_to_prediction_index.json and symmetry.csv into the datamount root.

    symmetry.csv lists every hand and pose landmark plus the 76 kept face landmarks (SPEC §1.3). The
    original's table maps all 543 Holistic points, but only the 130 kept landmarks are ever flipped
    (`data.landmarks.flip_array`), so the full 468-point face mirror table is not needed; a flip of
    a landmark outside this table raises an error naming it instead of silently mis-mirroring.
    """
    mount = Datamount(root)
    mount.root.mkdir(parents=True, exist_ok=True)
    write_character_map(mount.character_map)
    write_csv_atomic(symmetry_frame(), mount.symmetry)
    return mount
