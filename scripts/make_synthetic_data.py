"""Generate the synthetic ASL fingerspelling data set in the competition's raw format.

    python scripts/make_synthetic_data.py --preset demo --out datamount/synthetic --seed 0
    python scripts/make_synthetic_data.py --preset full --out datamount/synthetic_full --workers 8
    python scripts/make_synthetic_data.py --preset full --metadata-only --out datamount/synthetic_meta

Presets: tiny (40 train + 12 supplemental sequences, 4 signers), demo (2,000 + 600, 12 signers) and
full (the competition's 67,208 train sequences in 68 files, 94 signers, 52,958 supplemental). The same
seed gives byte-identical CSVs and identical landmark arrays, whatever the worker count. The output
folder is written atomically; a non-empty target is refused unless --overwrite is given.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

# The generator does many small matrix products: multi-threaded BLAS only contends (set before numpy loads).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parents[1]

from data.synthetic.dataset import PRESETS, generate_dataset  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default="demo")
    p.add_argument("--out", type=Path, default=Path("datamount/synthetic"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1, help="processes writing landmark files in parallel")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    p.add_argument("--metadata-only", action="store_true",
                   help="write only the CSVs (phrases, participants, ids; synthetic_metadata.csv adds n_frames)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error(f"--workers must be >= 1, got {args.workers}")
    return args


def main(argv: list[str] | None = None) -> dict:
    """Generate the data set, print counts, length statistics and wall time; returns the summary dict."""
    args = parse_args(argv)
    try:
        summary = generate_dataset(args.out, args.preset, args.seed, args.workers, args.overwrite,
                                   args.metadata_only, progress=not args.quiet)
    except FileExistsError as e:
        raise SystemExit(f"error: {e}") from e
    print(f"wrote {args.out} (preset {args.preset}, seed {args.seed}) in {summary['seconds']:.1f} s: "
          f"{summary['train_sequences']} train + {summary['supplemental_sequences']} supplemental sequences "
          f"from {summary['signers']} signers in {summary['files']} landmark files, "
          f"{summary['frames_written']} frames")
    print(f"train frames per sequence: mean {summary['train_frames_mean']:.1f}, median "
          f"{summary['train_frames_median']:.0f}, max {summary['train_frames_max']}, "
          f"{summary['train_under_15_frames']} under 15; supplemental: mean {summary['supplemental_frames_mean']:.1f}, "
          f"{summary['supplemental_unique_phrases']} unique phrases")
    return summary


if __name__ == "__main__":
    main()
