"""Predict phrases for new landmark files with PyTorch checkpoints or an exported model.tflite.

    python scripts/predict.py data/*.parquet --tflite datamount/weights/cfg_2/fold-1/model.tflite
    python scripts/predict.py seq.npy --checkpoints ckpt_seed1.pth ckpt_seed2.pth -C cfg_2 --out preds.csv
    python scripts/predict.py my_clip.mp4 --tflite model.tflite --render my_clip.png   # a video: see video/

Inputs: raw competition parquet files (every sequence in them; the 390 selected columns are read), npy
arrays (T, 390) in the selected-column order, or videos (extracted first with MediaPipe Holistic by
scripts/extract_landmarks.py in the video environment, into --landmarks-dir; --render draws what it found). Columns come from --inference-args, else the inference_args.json
next to the model / first checkpoint, else the default 130-landmark selection.
Writes a CSV `file, sequence_id, phrase, confidence`: confidence = sigmoid of the ensemble's aux logit (PyTorch;
empty for sequences shorter than 15 frames); a model.tflite only returns logits, so it has no confidence.
Both paths compute SPEC §9.3 (the PyTorch path is `inference.torch_graph.predict_sequence`).
"""
from __future__ import annotations

import argparse
import csv
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from common.errors import NPY_READ_ERRORS, ExitCode, MissingInputError, UsageError, one_line, run_cli
from data.landmarks import N_LANDMARKS, SELECTED_COLUMNS, read_selected_columns
from data.raw_format import read_landmark_parquet
from common.run_layout import INFERENCE_ARGS_NAME
from video.pipeline import add_video_args, extract_videos, is_video, report_videos

Predictor = Callable[[np.ndarray], tuple[str, float]]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("inputs", nargs="+", type=Path, help=".parquet (raw format), .npy (T, 390) or video files")
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument("--tflite", type=Path, help="an exported model.tflite")
    model.add_argument("--checkpoints", nargs="+", type=Path, help="PyTorch checkpoint(s) of the -C config")
    parser.add_argument("-C", "--config", default="cfg_2", help="config of the checkpoints (default cfg_2)")
    parser.add_argument("--inference-args", type=Path, help="inference_args.json with the 390 selected columns")
    parser.add_argument("--out", type=Path, default=Path("predictions.csv"), help="output CSV")
    parser.add_argument("--threads", type=int, default=1, help="interpreter / torch threads")
    add_video_args(parser)
    return parser.parse_args(argv)


def selected_columns(args: argparse.Namespace) -> list[str]:
    """--inference-args, else inference_args.json next to the model, else the default selection."""
    model_dir = (args.tflite or args.checkpoints[0]).parent
    for path in (args.inference_args, model_dir / INFERENCE_ARGS_NAME):
        if path is not None and path.is_file():
            return read_selected_columns(path)
    if args.inference_args is not None:
        raise FileNotFoundError(f"--inference-args {args.inference_args} does not exist")
    return SELECTED_COLUMNS


INPUT_SUFFIXES = (".parquet", ".npy")
CSV_COLUMNS = ["file", "sequence_id", "phrase", "confidence"]


def check_inputs(args: argparse.Namespace) -> None:
    """Before anything is written: every input and model file exists and every input has a known type."""
    for path in [*args.inputs, *(args.checkpoints or []), *([args.tflite] if args.tflite else [])]:
        if not path.is_file():
            raise MissingInputError(f"input {path} does not exist")
    for path in args.inputs:
        if path.suffix not in INPUT_SUFFIXES and not is_video(path):
            raise UsageError(f"{path}: unsupported input type {path.suffix!r} (use .parquet, .npy or a video)")
    if args.threads < 1:
        raise UsageError(f"--threads {args.threads}: must be at least 1")


def read_input(path: Path, columns: list[str]) -> list[tuple[int | None, np.ndarray]]:
    """[(sequence_id or None for npy, frames (T, 390))] of one input file; ValueError naming the file."""
    if path.suffix == ".parquet":
        return list(read_landmark_parquet(path, columns).items())
    try:
        frames = np.load(path, allow_pickle=False)
    except NPY_READ_ERRORS as e:
        raise ValueError(f"{path}: not a readable .npy file ({type(e).__name__}: {e})") from e
    if frames.ndim != 2 or frames.shape[1] != len(columns) or not np.issubdtype(frames.dtype, np.number):
        raise ValueError(f"{path}: expected a numeric (T, {len(columns)}) array, got {frames.dtype} {frames.shape}")
    return [(None, frames.astype(np.float32))]


def iter_inputs(paths: list[Path], columns: list[str],
                problems: list[str]) -> Iterator[tuple[Path, int | None, np.ndarray]]:
    """(file, sequence_id or None for npy, frames (T, 390)) of every good sequence; bad ones go to `problems`."""
    for path in paths:
        try:
            sequences = read_input(path, columns)
        except ValueError as e:
            problems.append(one_line(e))
            continue
        for sequence_id, frames in sequences:
            if np.isinf(frames).any():
                where = "" if sequence_id is None else f" sequence_id {sequence_id}"
                problems.append(f"{path}{where}: holds +-inf values (NaN marks a missing landmark; inf is invalid)")
                continue
            yield path, sequence_id, frames


def csv_value(value) -> str:
    """The CSV text of a cell as pandas writes it (None / NaN -> empty)."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def tflite_predictor(path: Path, threads: int) -> Predictor:
    """Kaggle's decoding of a model.tflite (no confidence: the signature only returns logits)."""
    from data.tokenizer import decode
    from export.litert import TFLiteRunner

    runner = TFLiteRunner(path, num_threads=threads)
    return lambda frames: (decode(runner(frames).argmax(1)), math.nan)


def torch_predictor(config: str, checkpoints: list[Path], columns: list[str], threads: int) -> Predictor:
    """The PyTorch re-statement of the exported graph (no TensorFlow involved)."""
    import torch

    from configs import load_config
    from export.thresholds import trained_thresholds
    from inference.torch_graph import load_models, predict_sequence

    torch.set_num_threads(threads)
    cfg = load_config(config)
    landmarks = [c[2:] for c in columns[:N_LANDMARKS]]
    nets = load_models(cfg, checkpoints, landmarks)
    thresholds = trained_thresholds(cfg, checkpoints)  # as the export of these checkpoints would use

    def predict(frames: np.ndarray) -> tuple[str, float]:
        prediction = predict_sequence(nets, frames, cfg.max_len, thresholds.min_frames, thresholds.min_conf)
        return prediction.phrase, prediction.confidence
    return predict


def main(argv: list[str] | None = None) -> int:
    return run_cli("predict", _main, argv)


def _main(argv: list[str] | None) -> int:
    """Predict every good sequence, appending each row to --out as it is done; bad inputs are skipped and listed."""
    args = parse_args(argv)
    check_inputs(args)
    videos = extract_videos(args)  # videos -> their extracted parquet files
    columns = selected_columns(args)
    if args.tflite:
        predictor = tflite_predictor(args.tflite, args.threads)
    else:
        predictor = torch_predictor(args.config, args.checkpoints, columns, args.threads)
    rows, problems = [], []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as f:  # row by row: a crash keeps every finished prediction
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for path, sequence_id, frames in iter_inputs(args.inputs, columns, problems):
            try:
                phrase, confidence = predictor(frames)
            except ValueError as e:
                problems.append(f"{path} sequence_id {sequence_id}: {one_line(e)}")
                continue
            rows.append({"file": str(path), "sequence_id": sequence_id, "phrase": phrase, "confidence": confidence})
            writer.writerow([csv_value(rows[-1][c]) for c in CSV_COLUMNS])
            f.flush()
    print(f"wrote {len(rows)} predictions to {args.out}")
    for path in report_videos(args, videos, rows):
        print(f"wrote {path}")
    for problem in problems:
        print(f"predict: skipped {problem}", file=sys.stderr)
    return ExitCode.PROBLEMS if problems else ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
