"""File names of the export (TensorFlow-free, so scoring and predict can use them cheaply)."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

FULL_FIT_FOLD: str = "fold-1"  # round-2 checkpoints: {cfg.output_dir}/fold-1/checkpoint_*.pth
CHECKPOINT_GLOB: str = "checkpoint_*.pth"
N_SEEDS: int = 2  # the original ensembles the first two checkpoints
TFLITE_NAME: str = "model.tflite"
SAVED_MODEL_NAME: str = "saved_model"
INFERENCE_ARGS_NAME: str = "inference_args.json"
PARITY_JSON: str = "parity_report.json"
SCORE_JSON: str = "tflite_score.json"
PREDICTIONS_CSV: str = "tflite_predictions.csv"


def full_fit_dir(cfg: SimpleNamespace) -> Path:
    """{cfg.output_dir}/fold-1: where the round-2 checkpoints and the export live."""
    return Path(cfg.output_dir) / FULL_FIT_FOLD


def default_checkpoints(cfg: SimpleNamespace, n: int = N_SEEDS) -> list[Path]:
    """The first `n` of the sorted checkpoint_*.pth files of the config's full-fit folder."""
    folder = full_fit_dir(cfg)
    found = sorted(folder.glob(CHECKPOINT_GLOB))
    if not found:
        raise FileNotFoundError(f"no {CHECKPOINT_GLOB} in {folder}: train with `python train.py -C {cfg.name} "
                                f"--fold -1` first, or pass --checkpoints")
    return found[:n]
