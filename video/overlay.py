"""Draw extracted Holistic landmarks over a video's frames, with the predicted phrase: what the model saw.

    python -m video.overlay clip.mp4 clip.parquet --phrase "bear" --out clip_landmarks.mp4   # every frame
    python -m video.overlay clip.mp4 clip.parquet --phrase "bear" --out clip_landmarks.png   # a contact sheet

Runs in the video environment (OpenCV); scripts/predict.py --render calls it there. --mirror and --rotate must be
the values the landmarks were extracted with, so the frames are shown as Holistic saw them.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from data.landmarks import HOLISTIC_LANDMARKS, N_HOLISTIC, RAW_LANDMARK_COLUMNS
from data.raw_format import read_landmark_parquet
from data.synthetic.topology import edges_for
from video.holistic import frames_of, open_capture, transform_frame

PART_COLORS = {  # BGR, the colours of scripts/render_sequence.py
    "right_hand": (14, 127, 255), "left_hand": (44, 160, 44), "lips": (40, 39, 214), "eyes": (180, 119, 31),
    "nose": (75, 86, 140), "arms": (115, 115, 115),
}
FACE_COLOR = (200, 200, 200)
FACE = slice(0, HOLISTIC_LANDMARKS.index("left_hand_0"))
SHEET_FRAMES, SHEET_COLS, SHEET_WIDTH = 8, 4, 320  # contact sheet: frames, columns, width of one panel (px)


def load_landmarks(parquet: str | Path) -> np.ndarray:
    """(T, 543, 3) landmarks of the single sequence of an extracted parquet."""
    sequences = read_landmark_parquet(parquet, RAW_LANDMARK_COLUMNS)
    if len(sequences) != 1:
        raise ValueError(f"{parquet}: expected one sequence, found {len(sequences)}")
    arr = next(iter(sequences.values()))
    return arr.reshape(len(arr), 3, N_HOLISTIC).transpose(0, 2, 1)


def draw_landmarks(frame: np.ndarray, xyz: np.ndarray) -> np.ndarray:
    """A copy of `frame` with face points, lips, eyes, arms and both hands drawn (NaN points skipped)."""
    out = frame.copy()
    h, w = out.shape[:2]
    px = np.where(np.isfinite(xyz[:, :2]), xyz[:, :2] * [w, h], np.nan)
    thick = max(1, round(min(w, h) / 240))
    for x, y in px[FACE]:
        if np.isfinite(x):
            cv2.circle(out, (int(x), int(y)), max(1, thick // 2), FACE_COLOR, -1, cv2.LINE_AA)
    for part, edges in edges_for(HOLISTIC_LANDMARKS).items():
        for a, b in edges:
            if np.isfinite(px[a]).all() and np.isfinite(px[b]).all():
                cv2.line(out, tuple(px[a].astype(int)), tuple(px[b].astype(int)), PART_COLORS[part], thick,
                         cv2.LINE_AA)
    return out


def caption(frame: np.ndarray, text: str) -> np.ndarray:
    """`text` in a dark band at the top of the frame."""
    scale = frame.shape[1] / 900
    band = int(36 * scale) + 8
    cv2.rectangle(frame, (0, 0), (frame.shape[1], band), (0, 0, 0), -1)
    cv2.putText(frame, text, (8, band - 10), cv2.FONT_HERSHEY_SIMPLEX, max(0.4, scale), (255, 255, 255),
                max(1, round(2 * scale)), cv2.LINE_AA)
    return frame


def read_frames(video: str | Path, rotate: str | int, mirror: bool) -> list[np.ndarray]:
    """Every frame of `video`, transformed as the extractor transformed it."""
    cap, _, rotation = open_capture(str(video), rotate)
    try:
        return [transform_frame(frame, rotation, mirror) for _, frame in frames_of(cap)]
    finally:
        cap.release()


def render(video: str | Path, parquet: str | Path, phrase: str, out: str | Path, rotate: str | int = "auto",
           mirror: bool = False, progress: bool = True) -> Path:
    """Write the overlay as a video (.mp4/.avi: every frame) or a picture (.png/.jpg: a contact sheet)."""
    out = Path(out)
    frames, xyz = read_frames(video, rotate, mirror), load_landmarks(parquet)
    if len(frames) != len(xyz):
        raise ValueError(f"{video} has {len(frames)} frames but {parquet} holds {len(xyz)}: not its landmarks "
                         f"(or extracted with another --rotate)")
    if not frames:
        raise ValueError(f"{video}: no frame could be decoded")
    out.parent.mkdir(parents=True, exist_ok=True)
    title = f'"{phrase}"'
    if out.suffix.lower() in (".png", ".jpg", ".jpeg"):
        picks = np.unique(np.linspace(0, len(frames) - 1, min(SHEET_FRAMES, len(frames))).round().astype(int))
        panels = []
        for i in picks:
            panel = draw_landmarks(frames[i], xyz[i])
            panel = cv2.resize(panel, (SHEET_WIDTH, round(SHEET_WIDTH * panel.shape[0] / panel.shape[1])))
            panels.append(caption(panel, f"frame {i + 1}/{len(frames)}"))
        panels += [np.zeros_like(panels[0])] * (-len(panels) % SHEET_COLS)
        rows = [np.hstack(panels[r:r + SHEET_COLS]) for r in range(0, len(panels), SHEET_COLS)]
        sheet = np.vstack(rows)
        header = caption(np.zeros((56, sheet.shape[1], 3), np.uint8), f"{Path(video).name}: {title}")
        ok = cv2.imwrite(str(out), np.vstack([header, sheet]))
    elif out.suffix.lower() in (".mp4", ".avi"):
        fps = cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FPS) or 30.0
        h, w = frames[0].shape[:2]
        writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*("mp4v" if out.suffix.lower() == ".mp4"
                                                                     else "MJPG")), fps, (w, h))
        ok = writer.isOpened()
        for frame, points in tqdm(list(zip(frames, xyz)), desc=out.name, unit="frame", disable=not progress,
                                  leave=False):
            writer.write(caption(draw_landmarks(frame, points), title))
        writer.release()
    else:
        raise ValueError(f"--render {out}: unsupported type {out.suffix!r} (use .mp4, .avi, .png or .jpg)")
    if not ok or not out.is_file():
        raise ValueError(f"could not write {out}")
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", type=Path)
    parser.add_argument("parquet", type=Path, help="its landmarks (scripts/extract_landmarks.py output)")
    parser.add_argument("--phrase", default="", help="text shown over the frames (the prediction)")
    parser.add_argument("--out", type=Path, required=True, help=".mp4/.avi (every frame) or .png/.jpg (sheet)")
    parser.add_argument("--rotate", default="auto", choices=["auto", "0", "90", "180", "270"])
    parser.add_argument("--mirror", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        out = render(args.video, args.parquet, args.phrase, args.out, args.rotate, args.mirror, not args.quiet)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
