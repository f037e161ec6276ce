"""Render frames of one landmark sequence as a PNG grid of skeletons (hands, lips, eyes, nose, arms).

    # raw competition-format parquet (real or synthetic); the phrase is looked up in the CSV next to it
    python scripts/render_sequence.py --parquet datamount/synthetic/train_landmarks/<file_id>.parquet \
        --sequence-id <id> --out docs/demo_sequence.png
    # pre-processed npy (T, 390) of the datamount layout
    python scripts/render_sequence.py --npy datamount/train_landmarks_npy/<file_id>/<id>.npy --phrase "..."

Only the 130 landmarks the project keeps are drawn (data.landmarks.SELECTED_LANDMARKS), so both inputs
look the same. Normalised coordinates are stretched by `--aspect` (image width / height; 9/16 = portrait).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.collections import LineCollection
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

from data.landmarks import N_LANDMARKS, SELECTED_COLUMNS, SELECTED_LANDMARKS  # noqa: E402
from data.raw_format import read_landmark_parquet  # noqa: E402
from data.synthetic.topology import edges_for  # noqa: E402

PART_STYLE = {  # part -> (colour, line width)
    "right_hand": ("tab:orange", 1.2), "left_hand": ("tab:green", 1.2), "lips": ("tab:red", 0.8),
    "eyes": ("tab:blue", 0.8), "nose": ("tab:brown", 0.8), "arms": ("0.45", 1.0),
}
DEFAULT_FRAMES, DEFAULT_COLS = 12, 6
PANEL_INCHES = 1.9
MARGIN = 0.04  # normalised units around the drawn landmarks
CLOSEUP_MARGIN = 0.1
FRAMED_POSE = ("pose_11", "pose_12")  # shoulders; elbows and a resting arm may fall outside the panels


def from_npy(path: str | Path) -> np.ndarray:
    """(T, 130, 3) landmarks from a pre-processed (T, 390) npy (x block, y block, z block)."""
    arr = np.load(path)
    if arr.ndim != 2 or arr.shape[1] != 3 * N_LANDMARKS:
        raise ValueError(f"{path}: expected a (T, {3 * N_LANDMARKS}) array, got shape {arr.shape}")
    return arr.reshape(len(arr), 3, N_LANDMARKS).transpose(0, 2, 1)


def from_parquet(path: str | Path, sequence_id: int) -> np.ndarray:
    """(T, 130, 3) landmarks of one sequence of a raw competition-format parquet."""
    sequences = read_landmark_parquet(path, SELECTED_COLUMNS)
    if sequence_id not in sequences:
        some = list(sequences)[:5]
        raise ValueError(f"{path}: no sequence_id {sequence_id} (file holds {len(sequences)}, e.g. {some})")
    arr = sequences[sequence_id]
    return arr.reshape(len(arr), 3, N_LANDMARKS).transpose(0, 2, 1)


def lookup_phrase(parquet: Path, sequence_id: int) -> str | None:
    """The phrase of `sequence_id` from train.csv / supplemental_metadata.csv above the parquet's folder."""
    for csv in ("train.csv", "supplemental_metadata.csv"):
        meta = parquet.parent.parent / csv
        if meta.is_file():
            rows = pd.read_csv(meta, usecols=["sequence_id", "phrase"], dtype={"phrase": str}, keep_default_na=False)
            hit = rows.loc[rows["sequence_id"] == sequence_id, "phrase"]
            if len(hit):
                return str(hit.iloc[0])
    return None


def _limits(xy: np.ndarray) -> tuple[float, float, float, float]:
    """Axis limits (x0, x1, y0, y1) covering the face, hands and shoulders of all frames (arms may be cut)."""
    framed = [i for i, name in enumerate(SELECTED_LANDMARKS) if not name.startswith("pose_") or name in FRAMED_POSE]
    pts = xy[:, framed]
    finite = pts[np.isfinite(pts).all(axis=-1)]
    if len(finite) == 0:
        return 0.0, 1.0, 0.0, 1.0
    lo, hi = np.percentile(finite, 0.5, axis=0) - MARGIN, np.percentile(finite, 99.5, axis=0) + MARGIN
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def draw_frame(ax: plt.Axes, xy: np.ndarray, edges: dict[str, list[tuple[int, int]]]) -> None:
    """Draw one frame's skeleton (xy: (130, 2), already stretched to display units); NaN parts are skipped."""
    for part, pairs in edges.items():
        colour, width = PART_STYLE[part]
        segments = xy[np.asarray(pairs)] if pairs else np.zeros((0, 2, 2))  # (E, 2, 2)
        segments = segments[np.isfinite(segments).all(axis=(1, 2))]
        ax.add_collection(LineCollection(segments, colors=colour, linewidths=width, capstyle="round"))
    finite = np.isfinite(xy).all(axis=1)
    ax.scatter(xy[finite, 0], xy[finite, 1], s=1.5, c="k", linewidths=0)


def dominant_hand(landmarks: np.ndarray) -> str | None:
    """'right_hand' or 'left_hand', whichever is detected in more frames (None if neither ever is)."""
    counts = {}
    for hand in ("right_hand", "left_hand"):
        wrist = SELECTED_LANDMARKS.index(f"{hand}_0")
        counts[hand] = int(np.isfinite(landmarks[:, wrist, 0]).sum())
    best = max(counts, key=counts.get)
    return best if counts[best] else None


def _draw_hand_closeup(ax: plt.Axes, xy: np.ndarray, hand: str | None, edges: dict, half: float) -> None:
    """The signing hand of one frame, centred on its landmarks, `half` display units around the centre."""
    idx = [SELECTED_LANDMARKS.index(f"{hand}_{k}") for k in range(21)] if hand else []
    pts = xy[idx]
    if not idx or not np.isfinite(pts).all():
        ax.text(0.5, 0.5, "hand not\ndetected", ha="center", va="center", fontsize=7, transform=ax.transAxes)
        return
    only_hand = np.full_like(xy, np.nan)
    only_hand[idx] = pts
    draw_frame(ax, only_hand, {hand: edges[hand]})
    cx, cy = (pts.min(axis=0) + pts.max(axis=0)) / 2
    ax.set_xlim(cx - half, cx + half)
    ax.set_ylim(cy + half, cy - half)
    ax.set_aspect("equal")


def render(landmarks: np.ndarray, out: str | Path, title: str = "", n_frames: int = DEFAULT_FRAMES,
           cols: int = DEFAULT_COLS, aspect: float = 9 / 16, dpi: int = 80, closeups: bool = True) -> Path:
    """Render `n_frames` evenly spaced frames of (T, 130, 3) landmarks into a PNG grid; returns the path.

    With `closeups`, every row of frames is followed by a row of close-ups of the signing hand.
    """
    if landmarks.ndim != 3 or landmarks.shape[1:] != (N_LANDMARKS, 3):
        raise ValueError(f"expected (T, {N_LANDMARKS}, 3) landmarks, got {landmarks.shape}")
    if len(landmarks) == 0:
        raise ValueError("cannot render an empty sequence")
    frames = np.unique(np.linspace(0, len(landmarks) - 1, min(n_frames, len(landmarks))).round().astype(int))
    xy = landmarks[..., :2] * np.array([aspect, 1.0])  # display units: equal pixels along x and y
    x0, x1, y0, y1 = _limits(xy)
    rows, per_row = -(-len(frames) // cols), 2 if closeups else 1
    panel_w = PANEL_INCHES * min(max((x1 - x0) / (y1 - y0), 0.4), 2.5)
    fig, axes = plt.subplots(rows * per_row, cols, figsize=(cols * max(panel_w, PANEL_INCHES * 0.8),
                                                            rows * per_row * PANEL_INCHES + 0.5), squeeze=False)
    edges, hand = edges_for(SELECTED_LANDMARKS), dominant_hand(landmarks)
    half = _hand_half_extent(xy, hand)
    for k, f in enumerate(frames):
        ax = axes[(k // cols) * per_row, k % cols]
        draw_frame(ax, xy[f], edges)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y1, y0)  # image y grows downwards
        ax.set_aspect("equal")
        ax.set_title(f"frame {f}/{len(landmarks)}", fontsize=7)
        if closeups:
            _draw_hand_closeup(axes[(k // cols) * per_row + 1, k % cols], xy[f], hand, edges, half)
    for k, ax in enumerate(axes.ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        if (k // cols) // per_row * cols + k % cols >= len(frames):
            ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out


def _hand_half_extent(xy: np.ndarray, hand: str | None) -> float:
    """Half-width of the close-up panels: the largest extent of the signing hand over the sequence."""
    if hand is None:
        return 0.1
    pts = xy[:, [SELECTED_LANDMARKS.index(f"{hand}_{k}") for k in range(21)]]
    pts = pts[np.isfinite(pts).all(axis=(1, 2))]  # frames where the hand is detected
    if len(pts) == 0:
        return 0.1
    return float((pts.max(axis=1) - pts.min(axis=1)).max()) * 0.5 * (1 + 2 * CLOSEUP_MARGIN)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--parquet", type=Path, help="raw landmark parquet (competition format)")
    src.add_argument("--npy", type=Path, help="pre-processed (T, 390) npy")
    p.add_argument("--sequence-id", type=int, help="sequence to draw from --parquet (default: the first)")
    p.add_argument("--phrase", help="title text (default: looked up in train.csv/supplemental_metadata.csv)")
    p.add_argument("--out", type=Path, default=Path("sequence.png"))
    p.add_argument("--frames", type=int, default=DEFAULT_FRAMES)
    p.add_argument("--cols", type=int, default=DEFAULT_COLS)
    p.add_argument("--aspect", type=float, default=9 / 16, help="image width / height of the source video")
    p.add_argument("--dpi", type=int, default=80)
    p.add_argument("--no-closeups", action="store_true", help="omit the rows of signing-hand close-ups")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> Path:
    """Render the requested sequence; returns the PNG path."""
    args = parse_args(argv)
    if args.parquet is not None:
        if not args.parquet.is_file():
            raise FileNotFoundError(f"--parquet {args.parquet}: no such file")
        seq_id = args.sequence_id
        if seq_id is None:
            seq_id = int(pd.read_parquet(args.parquet, columns=["frame"]).index[0])
        landmarks = from_parquet(args.parquet, seq_id)
        phrase = args.phrase if args.phrase is not None else lookup_phrase(args.parquet, seq_id)
        label = f"sequence {seq_id}"
    else:
        if not args.npy.is_file():
            raise FileNotFoundError(f"--npy {args.npy}: no such file")
        landmarks, phrase, label = from_npy(args.npy), args.phrase, args.npy.stem
    title = f'"{phrase}"  ({label})' if phrase is not None else label
    out = render(landmarks, args.out, title, args.frames, args.cols, args.aspect, args.dpi, not args.no_closeups)
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KB)")
    return out


if __name__ == "__main__":
    main()
