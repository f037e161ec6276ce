"""Round-1 out-of-fold scores -> datamount/train_folded_oof_supp.csv, the round-2 training table (SPEC §8).

    python scripts/get_train_folded_oof_supp.py                       # reads datamount/weights/cfg_1/fold*/
    python scripts/get_train_folded_oof_supp.py -C demo_1             # the demo's round 1
    python scripts/get_train_folded_oof_supp.py --datamount /data/dm --weights /data/dm/weights/cfg_1

For every fold k of train_folded.csv, every `val_data_seed*.pth` in `<weights>/fold<k>/` is decoded and scored per
row with `(N - D) / N` (Damerau-Levenshtein, can be negative); scores are averaged over the seed files. The
supplemental rows shorter than 33 characters follow with score 0.5. A summary with the pooled round-1 validation
scores (both metrics, and the dummy-phrase baseline) is written next to the CSV as `<csv stem>_summary.json`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from common.atomic import write_json_atomic
from common.errors import UsageError, run_cli
from configs import load_config
from data.datamount import DEFAULT_ROOT, Datamount, write_csv_atomic
from data.tokenizer import read_character_map
from training.round2_table import build_oof_table


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-C", "--config", default="cfg_1", help="round-1 config whose weights to read (default cfg_1)")
    parser.add_argument("--datamount", type=Path, default=DEFAULT_ROOT, help="datamount root (default datamount)")
    parser.add_argument("--weights", type=Path, default=None,
                        help="folder with fold<k>/val_data_seed*.pth (default <datamount>/weights/<config name>)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output CSV (default <datamount>/train_folded_oof_supp.csv)")
    return parser.parse_args(argv)


def read_csv(path: Path, producer: str) -> pd.DataFrame:
    """A datamount CSV, with an error naming the script that writes it."""
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; run {producer} first")
    return pd.read_csv(path)


def main(argv: list[str] | None = None) -> int:
    return run_cli("get_train_folded_oof_supp", _main, argv)


def _main(argv: list[str] | None) -> int:
    args = parse_args(argv)
    mount = Datamount(args.datamount)
    out = args.out or mount.oof_supp
    try:
        weights = args.weights or mount.weights / load_config(args.config).name
    except ValueError as e:
        raise UsageError(str(e)) from None
    read_character_map(mount.character_map)  # decoding uses data.tokenizer, which must be the same map
    train = read_csv(mount.train_folded, "scripts/make_folds.py")
    supplemental = read_csv(mount.supplemental_folded, "scripts/make_folds.py")
    table, summary = build_oof_table(train, supplemental, weights)
    write_csv_atomic(table, out)
    summary_path = out.with_name(f"{out.stem}_summary.json")
    write_json_atomic(summary.as_dict(), summary_path)
    scores = summary.scores()
    train_scores = table.score[table.is_sup == 0]
    print(f"wrote {out}: {len(train_scores)} train rows (mean OOF score {train_scores.mean():.4f}) + "
          f"{int(table.is_sup.sum())} supplemental rows")
    print("round-1 OOF validation: " + " | ".join(f"{k} {v:.4f}" for k, v in scores.items()))
    print(f"summary: {summary_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
