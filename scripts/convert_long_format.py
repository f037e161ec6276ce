"""Convert MediaPipe Holistic files in the long layout (`frame, [row_id,] type, landmark_index, x, y, z`; Kaggle's
isolated-sign competition and many apps) into the fingerspelling competition's wide raw format.

    python scripts/convert_long_format.py capture.parquet other.csv --out datamount/my_recordings
    python scripts/predict.py datamount/my_recordings/capture.parquet --tflite model.tflite

Writes `OUT/<name>.parquet` (one sequence, the file's own frame numbers, float32, NaN where a landmark is
missing) and adds it to `OUT/train.csv` (phrase from --phrase, else the file name), like
scripts/extract_landmarks.py. An unknown `type`, a `landmark_index` out of range, a missing column or a landmark
listed twice stops with an error that names the file, column and value (exit status 4; 3 for a missing file),
before anything is written.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common.errors import BadInputError, ExitCode, MissingInputError, run_cli
from data.long_format import read_long_file
from data.recordings import phrase_from_name, write_recording


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", type=Path, help="long-format .parquet or .csv files")
    parser.add_argument("--out", type=Path, required=True, help="output folder (raw competition format)")
    parser.add_argument("--phrase", help="phrase of every input (default: from each file name)")
    parser.add_argument("--participant-id", type=int, default=0, help="participant_id written to train.csv")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run_cli("convert_long_format", _main, argv)


def _main(argv: list[str] | None) -> int:
    args = parse_args(argv)
    converted = []
    for path in args.inputs:  # every file is read and checked before anything is written
        if not path.is_file():
            raise MissingInputError(f"input {path} does not exist")
        try:
            converted.append((path, *read_long_file(path)))
        except (OSError, ValueError) as e:
            raise BadInputError(str(e)) from e
    for path, frames, xyz in converted:
        row = write_recording(args.out, path.stem, xyz, args.phrase or phrase_from_name(path.name),
                              args.participant_id, frames)
        print(f"{path} -> {args.out / row['path']}: {len(frames)} frames (frames {frames[0]}..{frames[-1]}), "
              f"sequence_id {row['sequence_id']}")
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
