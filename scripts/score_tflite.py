"""Score a model.tflite the way Kaggle does, on one fold of raw competition-format data.

    python scripts/score_tflite.py -C demo_2                 # datamount/weights/demo_2/fold-1/model.tflite
    python scripts/score_tflite.py --model model.tflite --raw datamount/asl-fingerspelling --fold 0 --limit 1000

Kaggle's loop: LiteRT Interpreter (1 thread), get_signature_runner("serving_default"), inputs = the frames'
selected columns (inference_args.json next to the model), argmax per output row, reversed character map
(unknown ids -> ''). Rows and ground truth: the fold of <datamount>/train_folded.csv. Prints and writes, next
to the model, tflite_score.json (official Levenshtein score `score_lev`, the original's Damerau score
`score_dl`, per-sequence latency median and p95, file size) and tflite_predictions.csv.
Exits non-zero when the file exceeds 40 MiB (exit codes: common.errors.ExitCode).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common.errors import UsageError, run_cli  # noqa: E402
from data.datamount import (  # noqa: E402
    CHARACTER_MAP_JSON,
    SYNTHETIC_RAW_DIR,
    Datamount,
    write_csv_atomic,
)
from data.landmarks import read_selected_columns  # noqa: E402
from export.litert import TFLiteRunner, check_model_size, read_reverse_character_map  # noqa: E402
from common.run_layout import (  # noqa: E402
    INFERENCE_ARGS_NAME,
    PREDICTIONS_CSV,
    SCORE_JSON,
    TFLITE_NAME,
    full_fit_dir,
)
from export.scoring import check_raw_files, fold_rows, score_rows  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument("--model", type=Path, help="model.tflite (inference_args.json beside it)")
    model.add_argument("-C", "--config", help="score <output_dir>/fold-1/model.tflite of this config")
    parser.add_argument("--raw", type=Path, default=SYNTHETIC_RAW_DIR, help="raw data folder (train_landmarks/)")
    parser.add_argument("--datamount", type=Path, default=Path("datamount"), help="folder with train_folded.csv")
    parser.add_argument("--fold", type=int, default=0, help="fold of train_folded.csv to score")
    parser.add_argument("--limit", type=int, default=0, help="score at most this many sequences (0: all)")
    parser.add_argument("--threads", type=int, default=1, help="interpreter threads (Kaggle: 1)")
    return parser.parse_args(argv)


def character_map_path(raw: Path, datamount: Path) -> Path:
    """The raw folder's character_to_prediction_index.json, else the datamount's."""
    for folder in (raw, datamount):
        if (folder / CHARACTER_MAP_JSON).is_file():
            return folder / CHARACTER_MAP_JSON
    raise FileNotFoundError(f"no {CHARACTER_MAP_JSON} in {raw} or {datamount}")


def model_path(args: argparse.Namespace) -> Path:
    """--model, or the export of -C's full-fit run."""
    if args.model is not None:
        return args.model
    from configs import load_config

    return full_fit_dir(load_config(args.config)) / TFLITE_NAME


def main(argv: list[str] | None = None) -> int:
    return run_cli("score_tflite", _main, argv)


def _main(argv: list[str] | None) -> int:
    args = parse_args(argv)
    if args.limit < 0 or args.threads < 1:
        raise UsageError(f"--limit {args.limit} / --threads {args.threads}: need --limit >= 0 and --threads >= 1")
    args.model = model_path(args)
    size = check_model_size(args.model)  # FileNotFoundError / ValueError (over the limit)
    columns = read_selected_columns(args.model.parent / INFERENCE_ARGS_NAME)
    reverse_map = read_reverse_character_map(character_map_path(args.raw, args.datamount))
    rows = fold_rows(Datamount(args.datamount).train_folded, args.fold, args.limit or None)
    check_raw_files(rows, args.raw)
    runner = TFLiteRunner(args.model, num_threads=args.threads)
    result, table = score_rows(runner, rows, args.raw, columns, reverse_map, size, args.fold)
    result.to_json(args.model.parent / SCORE_JSON)
    write_csv_atomic(table, args.model.parent / PREDICTIONS_CSV)
    print(f"{args.model}: {size:,} bytes ({size / 2**20:.2f} MiB), fold {args.fold}, {result.n_sequences} sequences")
    print(f"score_lev (Levenshtein, official) {result.score_lev:.4f}   score_dl (Damerau, original metric_1) "
          f"{result.score_dl:.4f}")
    print(f"latency per sequence, {args.threads} thread(s): median {result.latency_ms_median:.1f} ms, p95 "
          f"{result.latency_ms_p95:.1f} ms (CPU time median {result.cpu_ms_median:.1f} ms)")
    print(f"wrote {args.model.parent / SCORE_JSON} and {args.model.parent / PREDICTIONS_CSV}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
