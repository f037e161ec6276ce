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
Both paths compute SPEC §9.3 (the PyTorch path is `export.torch_pipeline.predict_sequence`).
"""
from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data.landmarks import N_LANDMARKS, SELECTED_COLUMNS, read_selected_columns  # noqa: E402
from data.raw_format import read_landmark_parquet  # noqa: E402
from export.paths import INFERENCE_ARGS_NAME  # noqa: E402
from video.pipeline import add_video_args, extract_videos, report_videos  # noqa: E402

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


def iter_inputs(paths: list[Path], columns: list[str]) -> Iterator[tuple[Path, int | None, np.ndarray]]:
    """(file, sequence_id or None for npy, frames (T, 390)) for every sequence of every input file."""
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"input {path} does not exist")
        if path.suffix == ".parquet":
            for sequence_id, frames in read_landmark_parquet(path, columns).items():
                yield path, sequence_id, frames
        elif path.suffix == ".npy":
            frames = np.load(path)
            if frames.ndim != 2 or frames.shape[1] != len(columns):
                raise ValueError(f"{path}: expected a (T, {len(columns)}) array, got shape {frames.shape}")
            yield path, None, frames.astype(np.float32)
        else:
            raise ValueError(f"{path}: unsupported input type {path.suffix!r} (use .parquet or .npy)")


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
    from export.torch_pipeline import load_models, predict_sequence

    torch.set_num_threads(threads)
    cfg = load_config(config)
    landmarks = [c[2:] for c in columns[:N_LANDMARKS]]
    nets = load_models(cfg, checkpoints, landmarks)

    def predict(frames: np.ndarray) -> tuple[str, float]:
        prediction = predict_sequence(nets, frames, cfg.max_len)
        return prediction.phrase, prediction.confidence
    return predict


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    videos = extract_videos(args)  # videos -> their extracted parquet files
    columns = selected_columns(args)
    if args.tflite:
        predictor = tflite_predictor(args.tflite, args.threads)
    else:
        predictor = torch_predictor(args.config, args.checkpoints, columns, args.threads)
    rows = []
    for path, sequence_id, frames in iter_inputs(args.inputs, columns):
        phrase, confidence = predictor(frames)
        rows.append({"file": str(path), "sequence_id": sequence_id, "phrase": phrase, "confidence": confidence})
    table = pd.DataFrame(rows, columns=["file", "sequence_id", "phrase", "confidence"])
    table["sequence_id"] = table["sequence_id"].astype("Int64")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(f"wrote {len(table)} predictions to {args.out}")
    for path in report_videos(args, videos, rows):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
