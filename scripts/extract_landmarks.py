"""Videos (or a webcam) -> MediaPipe Holistic landmarks in the competition's raw format.

    python scripts/extract_landmarks.py my_videos/ clip.mp4 --out datamount/my_recordings
    python scripts/extract_landmarks.py --webcam 5 --name hello --phrase hello --out datamount/my_recordings
    python scripts/predict.py datamount/my_recordings/clip.parquet --tflite model.tflite

Runs the legacy `mp.solutions.holistic` graph (the one that produced the competition data: 468 face, 21 left
hand, 33 pose, 21 right hand landmarks) on every frame and writes `OUT/<name>.parquet` (index `sequence_id`,
column `frame`, then `x_face_0 ... z_right_hand_20`, float32, NaN where a part is not detected), adds the
recording to `OUT/train.csv` (`path, file_id, sequence_id, participant_id, phrase`; the phrase from --phrase or
the file name) and its measurements (frames, fps, detected fraction per part, extraction speed, settings) to
`OUT/extraction_report.json`. scripts/prepare_data.py --raw OUT, scripts/predict.py and
scripts/render_sequence.py read the folder unchanged. Exit status: 0 all written; 1 some videos could not be read
(listed; the others are written); 2 a bad option; 3 a video (or the video environment) is missing.

MediaPipe lives in its own environment (.venv-video, see requirements-video.txt): run from the main one, this
script re-runs itself there (creating it with `make video-env` on first use).

Handedness: `left_hand` is the person's left hand as seen in an unmirrored video (a right-handed signer's
dominant hand lands in `right_hand`, as for most signers of the competition data). A selfie-style recording
(mirrored, as phone front cameras and most webcam apps show it) needs --mirror.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from common.errors import ExitCode, MissingInputError, UsageError, run_cli
from video.env import VIDEO_SUFFIXES, have_mediapipe, is_video, run_in_video_env

REPORT_NAME = "extraction_report.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", nargs="*", type=Path, help=f"video files or folders of them {VIDEO_SUFFIXES}")
    parser.add_argument("--out", type=Path, required=True, help="output folder (raw competition format)")
    parser.add_argument("--webcam", type=float, metavar="SECONDS", help="record this many seconds from a camera")
    parser.add_argument("--camera", type=int, default=0, help="camera index for --webcam (default 0)")
    parser.add_argument("--name", default="webcam", help="recording name of a --webcam capture (default webcam)")
    parser.add_argument("--phrase", help="phrase of every recording (default: from each file name)")
    parser.add_argument("--participant-id", type=int, default=0, help="participant_id written to train.csv")
    parser.add_argument("--mirror", action="store_true",
                        help="flip frames left-right first (selfie-style recordings), so hands land as in the "
                             "competition data")
    parser.add_argument("--rotate", default="auto", choices=["auto", "0", "90", "180", "270"],
                        help="auto: apply the video's rotation tag (default); a number: ignore the tag and rotate "
                             "by that many degrees clockwise")
    holistic = parser.add_argument_group("MediaPipe Holistic settings (defaults: MediaPipe's, as the competition)")
    holistic.add_argument("--model-complexity", type=int, default=1, choices=[0, 1, 2],
                          help="pose model: only 1 (full) is bundled, 0/2 would need a download (default 1)")
    holistic.add_argument("--refine-face-landmarks", action="store_true",
                          help="iris refinement (off in the competition data: 468 face points either way)")
    holistic.add_argument("--min-detection-confidence", type=float, default=0.5)
    holistic.add_argument("--min-tracking-confidence", type=float, default=0.5)
    holistic.add_argument("--no-smooth-landmarks", action="store_true", help="disable MediaPipe's smoothing")
    holistic.add_argument("--static-image-mode", action="store_true",
                          help="detect on every frame instead of tracking (slower)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if not args.videos and args.webcam is None:
        parser.error("give video files/folders or --webcam SECONDS")
    return args


def collect_videos(paths: list[Path]) -> list[Path]:
    """The given video files, and the video files inside given folders (sorted); raises on anything else."""
    out = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and is_video(p))
            if not found:
                raise MissingInputError(f"folder {path} holds no video file {VIDEO_SUFFIXES}")
            out += found
        elif path.is_file():
            out.append(path)
        else:
            raise MissingInputError(f"video {path} does not exist")
    return out


def update_report(out_dir: Path, entries: dict[str, dict]) -> None:
    """Merge per-recording measurements into OUT/extraction_report.json."""
    from data.datamount import write_json_atomic

    path = out_dir / REPORT_NAME
    report = json.loads(path.read_text()) if path.is_file() else {}
    report.update(entries)
    write_json_atomic(report, path)


def summary_line(name: str, report: dict) -> str:
    d = report["detected"]
    return (f"{name}: {report['frames']} frames, {report['measured_fps']} fps, {report['width']}x{report['height']}; "
            f"detected right_hand {d['right_hand']:.0%}, left_hand {d['left_hand']:.0%}, pose {d['pose']:.0%}, "
            f"face {d['face']:.0%}; {report['extract_fps']} frames/s extracted")


def main(argv: list[str] | None = None) -> int:
    return run_cli("extract_landmarks", _main, sys.argv[1:] if argv is None else list(argv))


def _main(argv: list[str]) -> int:
    args = parse_args(argv)
    if not have_mediapipe():  # the main environment: run again in the video environment
        return run_in_video_env("scripts/extract_landmarks.py", argv)
    from data.recordings import phrase_from_name, write_recording
    from video.holistic import HolisticSettings, extract

    sources: list[tuple[str, Path | int]] = [(p.stem, p) for p in collect_videos(args.videos)]
    try:
        settings = HolisticSettings(args.model_complexity, args.refine_face_landmarks, args.min_detection_confidence,
                                    args.min_tracking_confidence, not args.no_smooth_landmarks,
                                    args.static_image_mode)
    except ValueError as e:
        raise UsageError(str(e)) from e
    if args.webcam is not None:
        sources.append((args.name, args.camera))
    failures, reports = 0, {}
    for name, source in sources:
        try:
            found = extract(source, settings, args.mirror, args.rotate,
                            max_seconds=args.webcam if isinstance(source, int) else None, progress=not args.quiet)
        except ValueError as e:
            print(f"extract_landmarks: skipped {e}", file=sys.stderr)
            failures += 1
            continue
        if len(found.xyz) == 0:
            print(f"extract_landmarks: skipped {source}: no frame could be decoded", file=sys.stderr)
            failures += 1
            continue
        phrase = args.phrase if args.phrase is not None else "" if isinstance(source, int) else phrase_from_name(name)
        row = write_recording(args.out, name, found.xyz, phrase, args.participant_id)
        reports[name] = {"source": str(source), **row, **found.report()}
        print(summary_line(name, reports[name]))
    if reports:
        update_report(args.out, reports)
    print(f"wrote {len(reports)} recording(s) to {args.out}" + (f"; {failures} failed" if failures else ""))
    return ExitCode.PROBLEMS if failures else ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
