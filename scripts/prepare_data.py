"""Raw competition-format data -> datamount npy layout + folds (SPEC §1).

    python scripts/prepare_data.py --raw datamount/asl-fingerspelling --datamount datamount --workers 8
    python scripts/prepare_data.py --raw datamount/synthetic              # the embedded synthetic set

Writes datamount/train_landmarks_npy/<file_id>/<sequence_id>.npy, inference_args.json,
character_to_prediction_index.json, symmetry.csv, the converted metadata rows, prepare_report.json and
(unless --no-folds) train_folded.csv + supplemental_metadata_folded.csv (see scripts/make_folds.py).

Exit status (common.errors.ExitCode, README "Errors and recovery"): 0 all converted; 1 some sequences skipped
with a report (0 with --allow-problems); 3 the raw folder or train.csv is missing; 4 a structural error
(a CSV without a required column, ids that are not 64-bit integers, folds impossible): nothing converted;
7 the datamount cannot be written; 9 a worker process died (re-run to finish).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from common.errors import ExitCode, UsageError, run_cli
from data.datamount import DEFAULT_RAW_DIR, DEFAULT_ROOT, Datamount
from data.folds import DEFAULT_N_FOLDS, DEFAULT_SEED, STRATEGIES, fold_summary, make_folds
from data.team import is_team_csv
from data.prepare import prepare, summarize

PROG = "prepare_data"


def add_fold_args(parser: argparse.ArgumentParser) -> None:
    """The fold options shared with scripts/make_folds.py."""
    parser.add_argument("--n-folds", type=int, default=DEFAULT_N_FOLDS, help="number of folds (default 4)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="fold seed (default 42)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="participant",
                        help="participant: folds grouped by participant_id (default); random: row-level shuffle")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raw", type=Path, default=DEFAULT_RAW_DIR,
                        help=f"raw competition-format folder (default {DEFAULT_RAW_DIR})")
    parser.add_argument("--datamount", type=Path, default=DEFAULT_ROOT, help="output root (default datamount)")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1),
                        help="parallel processes over parquet files (default min(8, CPUs))")
    parser.add_argument("--overwrite", action="store_true", help="re-convert sequences whose npy already exists")
    parser.add_argument("--allow-problems", action="store_true",
                        help="exit 0 even if some sequences were skipped (they stay listed in prepare_report.json)")
    parser.add_argument("--no-folds", action="store_true", help="do not write the fold CSVs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_fold_args(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run_cli(PROG, _main, argv)


def _main(argv: list[str] | None) -> int:
    args = parse_args(argv)
    if args.workers < 1:
        raise UsageError(f"--workers {args.workers}: must be at least 1")
    report = prepare(args.raw, args.datamount, args.workers, args.overwrite, progress=not args.quiet)
    print(summarize(report))
    mount = Datamount(args.datamount)
    team = [p.name for p in (mount.train_folded, mount.supplemental_folded) if is_team_csv(p)]
    if team:  # the original team's folds (scripts/download_data.py --team-csvs) are used whenever present
        print(f"keeping the original team's {', '.join(team)} in {args.datamount} (not re-folded)")
    elif not args.no_folds:
        train, supplemental = make_folds(args.datamount, None, args.n_folds, args.seed, args.strategy)
        print(fold_summary(train, "train_folded.csv"))
        print(fold_summary(supplemental, "supplemental_metadata_folded.csv"))
    if report.problems and not args.allow_problems:
        print(f"{PROG}: some sequences were skipped (see above); --allow-problems accepts this", file=sys.stderr)
        return ExitCode.PROBLEMS
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
