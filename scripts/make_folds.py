"""Write datamount/train_folded.csv and supplemental_metadata_folded.csv (SPEC §1.4; policy in data/folds.py).

    python scripts/make_folds.py --datamount datamount                       # after scripts/prepare_data.py
    python scripts/make_folds.py --raw datamount/asl-fingerspelling --strategy random --seed 0

By default the metadata rows come from the datamount (the rows scripts/prepare_data.py converted);
--raw reads train.csv / supplemental_metadata.csv of a raw folder instead (e.g. when the npy files
came from elsewhere). seq_len is read from each npy; a listed row without its npy is an error.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common.errors import run_cli
from data.datamount import DEFAULT_ROOT
from data.folds import fold_summary, make_folds
from scripts.prepare_data import add_fold_args


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raw", type=Path, default=None,
                        help="folder with train.csv / supplemental_metadata.csv (default: the datamount)")
    parser.add_argument("--datamount", type=Path, default=DEFAULT_ROOT, help="datamount root (default datamount)")
    add_fold_args(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run_cli("make_folds", _main, argv)


def _main(argv: list[str] | None) -> int:
    args = parse_args(argv)
    train, supplemental = make_folds(args.datamount, args.raw, args.n_folds, args.seed, args.strategy)
    print(fold_summary(train, "train_folded.csv"))
    print(fold_summary(supplemental, "supplemental_metadata_folded.csv"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
