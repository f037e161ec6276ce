"""Export the round-2 ensemble to an fp16 TFLite model for Kaggle, and prove it computes what PyTorch does.

    python scripts/convert_cfg_2_to_tf_lite.py                       # cfg_2, first two checkpoints of fold-1
    python scripts/convert_cfg_2_to_tf_lite.py -C demo_2             # the demo run
    python scripts/convert_cfg_2_to_tf_lite.py --checkpoints a.pth b.pth --out-dir out/ --no-parity

Writes saved_model/, model.tflite (signature serving_default: inputs float32[T, 390] -> outputs [n, 63]) and
inference_args.json into --out-dir (default: the checkpoints' folder), then prints the parity report of
SPEC §9.5 (PyTorch vs Keras per module, the fp32 graph vs the PyTorch re-statement, TFLite vs the graph,
TFLite vs PyTorch strings over a validation fold) and writes it as parity_report.json next to the model.
Exits non-zero when the file exceeds 40 MiB or parity fails.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # SPEC §9.5: before TensorFlow is imported
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
    from export.paths import PARITY_JSON

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
    args = parse_args(argv)
    import torch

    from configs import load_config
    from export.convert import export_ensemble
    from export.paths import default_checkpoints
    from export.torch_pipeline import load_models

    torch.set_num_threads(1)
    cfg = load_config(args.config)
    checkpoints = args.checkpoints or default_checkpoints(cfg)
    landmarks = landmarks_of(args.datamount)
    print(f"config {cfg.name}; {len(checkpoints)} checkpoint(s): {', '.join(map(str, checkpoints))}")
    torch_nets = load_models(cfg, checkpoints, landmarks)
    try:
        result, module = export_ensemble(cfg, torch_nets, args.out_dir or checkpoints[0].parent, landmarks)
    except ValueError as e:  # the size check
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {result.tflite} ({result.size_bytes:,} bytes = {result.size_bytes / 2**20:.2f} MiB), "
          f"{result.saved_model}, {result.inference_args}")
    print("conversion time: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items()))
    if args.no_parity:
        return 0
    return 0 if run_parity(args, cfg, torch_nets, module, result.tflite) else 1


if __name__ == "__main__":
    sys.exit(main())
