"""Measure how far the built-in synthetic data is from real MediaPipe output (README "Real vs synthetic").

    python scripts/compare_real_synthetic.py                                  # (a) + (b)
    python scripts/compare_real_synthetic.py --tflite model.tflite            # + (c) what a model reads

(a) The 1,582 real static-letter hands of ../shared/realdata (MediaPipe Hands) are classified by the nearest of
    our synthetic citation handshapes after the same normalisation (data/synthetic/realism.py); accuracy per letter,
    with and without the 3-D rotation removed, for the hand as recorded and mirrored.
(b) Per-frame statistics (hand size relative to the shoulders, wrist speed, signing hand missing, z range, wrist
    height) of the three real fingerspelling videos (extracted with scripts/extract_landmarks.py, once, into
    --extracted) against --n-synthetic synthetic sequences.
(c) With --tflite or --checkpoints: the phrase a model reads from each real video and its character error rate
    against the file name.
Prints markdown tables and writes everything to --out (JSON).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

from data.landmarks import N_HAND, N_HOLISTIC, RAW_LANDMARK_COLUMNS  # noqa: E402
from data.raw_format import read_landmark_parquet  # noqa: E402
from data.synthetic import camera  # noqa: E402
from data.synthetic.dataset import build_metadata, signer_for  # noqa: E402
from data.synthetic.handshapes import canonical_hand  # noqa: E402
from data.synthetic.realism import SequenceStats, classify_static_hands, normalise_hands, sequence_stats  # noqa: E402
from data.synthetic.sequence import synthesize_sequence  # noqa: E402
from metrics.levenshtein import per_sample_scores  # noqa: E402

REALDATA = ROOT.parent / "shared" / "realdata"
STATIC_CSV = "landmarks/static_hand_letters_mediapipe_hands.csv"
VIDEOS = ("alligator", "bear", "horse")
STATIC_ASPECT = 4 / 3  # the static letters' webcam frames are not in the file; 640x480 is the common default


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--realdata", type=Path, default=REALDATA, help=f"real recordings (default {REALDATA})")
    parser.add_argument("--extracted", type=Path, default=ROOT / "datamount" / "realdata_landmarks",
                        help="where the real videos' landmarks are (extracted there first if missing)")
    parser.add_argument("--n-synthetic", type=int, default=150, help="synthetic sequences for (b)")
    parser.add_argument("--seed", type=int, default=0, help="synthetic data seed")
    parser.add_argument("--static-aspect", type=float, default=STATIC_ASPECT,
                        help="width / height of the static letters' frames (default 4/3)")
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--tflite", type=Path, help="a model.tflite for (c)")
    model.add_argument("--checkpoints", nargs="+", type=Path, help="PyTorch checkpoints for (c) (with -C)")
    parser.add_argument("-C", "--config", default="demo_2", help="config of --checkpoints (default demo_2)")
    parser.add_argument("--hand-z-scale", type=float, default=camera.HAND_Z_SCALE,
                        help=f"the generator's hand depth scale (default {camera.HAND_Z_SCALE}; 1.0 = before the fix)")
    parser.add_argument("--out", type=Path, default=ROOT / "datamount" / "real_vs_synthetic.json")
    return parser.parse_args(argv)


# ----------------------------------------------------------------------------------------------------------- (a)
def static_letters(args: argparse.Namespace) -> dict:
    """Nearest-synthetic-handshape accuracy of the real static letters, per letter."""
    table = pd.read_csv(args.realdata / STATIC_CSV)
    labels = table.iloc[:, 3 * N_HAND].astype(str).to_numpy()
    raw = table.iloc[:, :3 * N_HAND].to_numpy(np.float64).reshape(-1, N_HAND, 3)  # landmark-major x, y, z
    raw *= [args.static_aspect, 1.0, args.static_aspect]
    depth = [1.0, 1.0, camera.HAND_Z_SCALE]  # the generator's hands as it writes them (camera.project)
    templates = {c: normalise_hands((canonical_hand(c) * depth)[None])[0] for c in sorted(set(labels))}
    results = {}
    for mirrored in (False, True):
        hands = normalise_hands(raw * [-1.0, 1.0, 1.0] if mirrored else raw)
        for rotate in (True, False):
            pred = np.array(classify_static_hands(hands, templates, rotate))
            key = f"{'mirrored' if mirrored else 'as recorded'}, {'rotation removed' if rotate else 'no rotation'}"
            results[key] = {
                "accuracy": float((pred == labels).mean()),
                "per_letter": {c: float((pred[labels == c] == c).mean()) for c in templates},
                "confused_with": {c: pd.Series(pred[labels == c]).value_counts().index[0] for c in templates},
                "n": {c: int((labels == c).sum()) for c in templates},
            }
    return {"n_frames": len(labels), "chance": 1 / len(templates), "aspect": args.static_aspect, "results": results}


# ----------------------------------------------------------------------------------------------------------- (b)
def ensure_extracted(args: argparse.Namespace) -> dict:
    """The extraction report of the real videos (running scripts/extract_landmarks.py once if needed)."""
    report = args.extracted / "extraction_report.json"
    if not all((args.extracted / f"{v}.parquet").is_file() for v in VIDEOS) or not report.is_file():
        cmd = [sys.executable, str(ROOT / "scripts" / "extract_landmarks.py"), str(args.realdata / "videos"), "--out",
               str(args.extracted), "--quiet"]
        subprocess.run(cmd, check=True)
    return json.loads(report.read_text())


def load_sequence(path: Path) -> np.ndarray:
    (arr,) = read_landmark_parquet(path, RAW_LANDMARK_COLUMNS).values()
    return arr.reshape(len(arr), 3, N_HOLISTIC).transpose(0, 2, 1)


def frame_statistics(args: argparse.Namespace) -> dict:
    """SequenceStats of each real video and of n synthetic sequences (median and quartiles)."""
    report = ensure_extracted(args)
    real = {v: asdict(sequence_stats(load_sequence(args.extracted / f"{v}.parquet"),
                                     report[v]["width"] / report[v]["height"], "right_hand")) for v in VIDEOS}
    meta = build_metadata("demo", args.seed)
    meta = meta[meta["split"] == "train"].head(args.n_synthetic)
    n_signers = int(meta["signer"].max()) + 1 if len(meta) else 1
    n_signers = max(n_signers, 12)  # the demo preset's signer count
    synthetic = []
    for phrase, s, pid, sid in zip(meta["phrase"], meta["signer"], meta["participant_id"], meta["sequence_id"]):
        signer = signer_for(args.seed, int(s), int(pid), n_signers)
        xyz = synthesize_sequence(phrase, signer, args.seed, int(sid))
        synthetic.append(asdict(sequence_stats(xyz, signer.camera.aspect,
                                               "left_hand" if signer.left_handed else "right_hand")))
    frame = pd.DataFrame(synthetic)
    summary = {k: [float(np.nanpercentile(frame[k], q)) for q in (25, 50, 75)] for k in frame.columns}
    return {"real": real, "synthetic_quartiles": summary, "n_synthetic": len(frame)}


# ----------------------------------------------------------------------------------------------------------- (c)
def model_reading(args: argparse.Namespace) -> dict | None:
    """What a model reads from each real video, and the character error rate against the file name."""
    if not (args.tflite or args.checkpoints):
        return None
    from scripts import predict

    out = args.out.with_name("real_video_predictions.csv")
    model = ["--tflite", str(args.tflite)] if args.tflite else ["-C", args.config, "--checkpoints",
                                                                *map(str, args.checkpoints)]
    parquets = [str(args.extracted / f"{v}.parquet") for v in VIDEOS]
    if predict.main([*parquets, *model, "--out", str(out)]) != 0:
        raise RuntimeError("prediction failed")
    phrases = pd.read_csv(out, keep_default_na=False)["phrase"].tolist()
    cer = 1 - per_sample_scores(list(VIDEOS), phrases, "levenshtein")
    names = [args.tflite] if args.tflite else args.checkpoints
    return {"model": ", ".join(str(n) for n in names), "read": dict(zip(VIDEOS, phrases)),
            "cer": dict(zip(VIDEOS, map(float, cer))), "cer_total": float(
                sum(c * len(v) for c, v in zip(cer, VIDEOS)) / sum(map(len, VIDEOS)))}


# ------------------------------------------------------------------------------------------------------ report
def markdown(result: dict) -> str:
    lines = []
    a = result["static_letters"]
    lines += [f"(a) {a['n_frames']} real static-letter hands, nearest synthetic handshape (chance {a['chance']:.0%})",
              "", "| Normalisation | Accuracy |", "|---|---|"]
    lines += [f"| {k} | {v['accuracy']:.1%} |" for k, v in a["results"].items()]
    best = max(a["results"], key=lambda k: a["results"][k]["accuracy"])
    per = a["results"][best]
    letters = list(per["per_letter"])
    lines += ["", f"Per letter ({best}):", "", "| " + " | ".join(["letter"] + letters) + " |",
              "|" + "---|" * (len(letters) + 1),
              "| " + " | ".join(["accuracy"] + [f"{per['per_letter'][c]:.0%}" for c in letters]) + " |",
              "| " + " | ".join(["taken for"] + [per["confused_with"][c] for c in letters]) + " |"]
    b = result["frame_statistics"]
    keys = list(SequenceStats.__dataclass_fields__)
    lines += ["", f"(b) per-frame statistics, real videos vs {b['n_synthetic']} synthetic sequences (median, IQR)", "",
              "| Statistic | " + " | ".join(VIDEOS) + " | synthetic |", "|---|" + "---|" * (len(VIDEOS) + 1)]
    for k in keys:
        q = b["synthetic_quartiles"][k]
        lines.append(f"| {k} | " + " | ".join(f"{b['real'][v][k]:.3f}" for v in VIDEOS)
                     + f" | {q[1]:.3f} ({q[0]:.3f}–{q[2]:.3f}) |")
    c = result.get("model_reading")
    if c:
        lines += ["", f"(c) {c['model']}", "", "| Video | Read | CER |", "|---|---|---|"]
        lines += [f"| {v} | `{c['read'][v]}` | {c['cer'][v]:.2f} |" for v in VIDEOS]
        lines.append(f"| all | | {c['cer_total']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    camera.HAND_Z_SCALE = args.hand_z_scale
    if not args.realdata.is_dir():
        print(f"error: real recordings folder {args.realdata} does not exist", file=sys.stderr)
        return 2
    result = {"hand_z_scale": args.hand_z_scale, "static_letters": static_letters(args),
              "frame_statistics": frame_statistics(args)}
    result["model_reading"] = model_reading(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from data.datamount import write_json_atomic

    write_json_atomic(result, args.out)
    print(markdown(result))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
