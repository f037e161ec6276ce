"""The video hook of scripts/predict.py: extract videos to parquet first, render the prediction over them after.

Both steps run in the video environment as subprocesses (video.env), so predict.py itself never imports
mediapipe or OpenCV.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from common.errors import BadInputError, UsageError
from video.env import VIDEO_SUFFIXES, is_video, run_in_video_env

__all__ = ["add_video_args", "extract_videos", "is_video", "report_videos"]


def add_video_args(parser: argparse.ArgumentParser) -> None:
    """predict.py's options for video inputs."""
    group = parser.add_argument_group(f"video inputs {VIDEO_SUFFIXES} (MediaPipe Holistic in .venv-video)")
    group.add_argument("--landmarks-dir", type=Path,
                       help="where the extracted <video>.parquet files go (default: <out>_landmarks/ next to --out)")
    group.add_argument("--mirror", action="store_true", help="selfie-style (mirrored) videos: flip frames first")
    group.add_argument("--rotate", default="auto", choices=["auto", "0", "90", "180", "270"],
                       help="auto: the video's rotation tag (default); a number: rotate that many degrees clockwise")
    group.add_argument("--render", type=Path, metavar="OUT.mp4|OUT.png",
                       help="draw the landmarks and the predicted phrase over the video (every frame, or a sheet)")


def landmarks_dir(args: argparse.Namespace) -> Path:
    return args.landmarks_dir or args.out.with_name(f"{args.out.stem}_landmarks")


def extract_videos(args: argparse.Namespace) -> dict[Path, Path]:
    """Replace every video among args.inputs by its extracted parquet (in place); returns {parquet: video}."""
    videos = [p for p in args.inputs if is_video(p)]
    if args.render and not videos:
        raise UsageError("--render needs a video input (it draws over the video's frames)")
    if not videos:
        return {}
    out_dir = landmarks_dir(args)
    flags = ["--mirror"] if args.mirror else []
    if run_in_video_env("scripts/extract_landmarks.py", [*videos, "--out", out_dir, "--rotate", args.rotate,
                                                          *flags]) != 0:
        raise BadInputError(f"landmark extraction failed for {', '.join(map(str, videos))}; see the messages above")
    parquet_of = {v: out_dir / f"{v.stem}.parquet" for v in videos}
    args.inputs = [parquet_of.get(p, p) for p in args.inputs]
    return {parquet: video for video, parquet in parquet_of.items()}


def render_path(render: Path, video: Path, n_videos: int) -> Path:
    """--render itself for one video; <render stem>_<video stem><suffix> for several."""
    return render if n_videos == 1 else render.with_name(f"{render.stem}_{video.stem}{render.suffix}")


def report_videos(args: argparse.Namespace, videos: dict[Path, Path], rows: list[dict]) -> list[Path]:
    """Print each video's phrase and (--render) draw its landmarks with the phrase; returns the written files."""
    phrases = {Path(r["file"]): r["phrase"] for r in rows}
    for parquet, video in videos.items():
        print(f'{video}: "{phrases.get(parquet, "")}"')
    if not args.render:
        return []
    written = []
    for parquet, video in videos.items():
        out = render_path(args.render, video, len(videos))
        flags = ["--mirror"] if args.mirror else []
        if run_in_video_env("video/overlay.py", [video, parquet, f"--phrase={phrases.get(parquet, '')}", "--out", out,
                                                 "--rotate", args.rotate, "--quiet", *flags]) != 0:
            raise BadInputError(f"rendering {out} failed; see the messages above")
        written.append(out)
    return written
