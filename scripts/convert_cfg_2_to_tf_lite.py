"""Export the round-2 ensemble to an fp16 TFLite model for Kaggle, and prove it computes what PyTorch does.

    python scripts/convert_cfg_2_to_tf_lite.py                       # cfg_2, first two checkpoints of fold-1
    python scripts/convert_cfg_2_to_tf_lite.py -C demo_2             # the demo run
    python scripts/convert_cfg_2_to_tf_lite.py --checkpoints a.pth b.pth --out-dir out/ --no-parity

Writes saved_model/, model.tflite (signature serving_default: inputs float32[T, 390] -> outputs [n, 63]) and
inference_args.json into --out-dir (default: the checkpoints' folder), then prints the parity report of
SPEC §9.5 (PyTorch vs Keras per module, the fp32 graph vs the PyTorch re-statement, TFLite vs the graph,
TFLite vs PyTorch strings over a validation fold) and writes it as parity_report.json next to the model.
The graph's dummy-phrase thresholds (max_len_for_dummy, pp_min_conf) are those the checkpoints were trained with:
each checkpoint's config_seed{s}.json beside it, else the -C config; checkpoints that disagree are refused
(export/thresholds.py).
Exits 8 when the file exceeds 40 MiB or parity fails (exit codes: common.errors.ExitCode); the previous
export in --out-dir stays whole until the new one, report included, is complete (then all of it is swapped in).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common.errors import ExitCode, MissingInputError, UsageError, run_cli


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-C", "--config", default="cfg_2", help="config name (default cfg_2)")
    parser.add_argument("--checkpoints", nargs="+", type=Path,
                        help="1 or more checkpoints (default: the first two checkpoint_*.pth of <output_dir>/fold-1)")
    parser.add_argument("--out-dir", type=Path, help="output folder (default: the first checkpoint's folder)")
    parser.add_argument("--datamount", type=Path, default=Path("datamount"),
                        help="datamount root: inference_args.json and the validation fold for the parity check")
    parser.add_argument("--no-parity", action="store_true", help="skip the parity report")
    parser.add_argument("--parity-fold", type=int, default=0, help="validation fold of the string check")
    parser.add_argument("--parity-limit", type=int, default=500, help="at most this many fold sequences (0: all)")
    return parser.parse_args(argv)


def landmarks_of(datamount: Path) -> list[str]:
    """The 130 landmark names the data was prepared with (default: SELECTED_LANDMARKS)."""
    from data.datamount import Datamount
    from data.landmarks import SELECTED_LANDMARKS, read_inference_args

    path = Datamount(datamount).inference_args
    return read_inference_args(path) if path.is_file() else SELECTED_LANDMARKS


def run_parity(args: argparse.Namespace, cfg, torch_nets, module, tflite: Path) -> bool:
    """Print and save the parity report; True when parity holds."""
    from data.datamount import Datamount
    from export.litert import TFLiteRunner
    from export.parity import npy_fold_sequences, parity_report
    from common.run_layout import PARITY_JSON

    fold = None
    if Datamount(args.datamount).train_folded.is_file():
        fold = npy_fold_sequences(args.datamount, args.parity_fold, args.parity_limit or None)
    else:
        print(f"(no {Datamount(args.datamount).train_folded}: skipping the validation-fold string check)")
    report = parity_report(torch_nets, module.nets, module, TFLiteRunner(tflite, num_threads=1), cfg.max_len, fold)
    print(report.format())
    report.to_json(tflite.parent / PARITY_JSON)
    return not report.failures()


def main(argv: list[str] | None = None) -> int:
    return run_cli("convert_cfg_2_to_tf_lite", _main, argv)


def _main(argv: list[str] | None) -> int:
    """Check the inputs and load the checkpoints (seconds), then import TensorFlow and convert (minutes)."""
    args = parse_args(argv)
    import torch

    from configs import load_config
    from common.run_layout import default_checkpoints
    from export.thresholds import trained_thresholds
    from inference.torch_graph import load_models

    torch.set_num_threads(1)
    try:
        cfg = load_config(args.config)
    except ValueError as e:
        raise UsageError(str(e)) from None
    checkpoints = args.checkpoints or default_checkpoints(cfg)
    for path in checkpoints:
        if not path.is_file():
            raise MissingInputError(f"checkpoint {path} does not exist")
    landmarks = landmarks_of(args.datamount)
    thresholds = trained_thresholds(cfg, checkpoints)
    print(f"config {cfg.name}; {len(checkpoints)} checkpoint(s): {', '.join(map(str, checkpoints))}")
    print(f"fallback thresholds: fewer than {thresholds.min_frames} frames or confidence below "
          f"{thresholds.min_conf} give the dummy phrase (from {thresholds.source})")
    torch_nets = load_models(cfg, checkpoints, landmarks)
    from export.convert import export_ensemble  # TensorFlow: only once the inputs are known to be good

    parity_ok = []

    def parity(tflite: Path, module) -> None:  # on the staged export: the report is swapped in with its model
        parity_ok.append(run_parity(args, cfg, torch_nets, module, tflite))

    result, _ = export_ensemble(cfg, torch_nets, args.out_dir or checkpoints[0].parent, landmarks,
                                None if args.no_parity else parity, thresholds)
    print(f"wrote {result.tflite} ({result.size_bytes:,} bytes = {result.size_bytes / 2**20:.2f} MiB), "
          f"{result.saved_model}, {result.inference_args}")
    print("conversion time: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items()))
    if not all(parity_ok):
        print("convert_cfg_2_to_tf_lite: error: the parity check failed (see the report above)", file=sys.stderr)
        return ExitCode.CHECK_FAILED
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
