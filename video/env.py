"""The video environment (.venv-video): where it is, how it is created, how the main environment calls into it.

MediaPipe (protobuf<5) and TensorFlow 2.21 (protobuf>=6.31.1) cannot share one environment, so the project's
main environment runs the extractor and the overlay renderer as subprocesses of .venv-video/bin/python, which
`make video-env` creates from requirements-video.txt on first use (and installs the project there in editable
mode, as in .venv, so the subprocess imports `common`, `data`, `video` without any sys.path edit).
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from common.errors import ExitCode, UserError

ROOT = Path(__file__).resolve().parents[1]
VIDEO_VENV = Path(os.environ.get("ASL_VIDEO_VENV", ROOT / ".venv-video"))
VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")


class VideoEnvError(UserError):
    """The video environment is missing and could not be created."""

    code = ExitCode.MISSING_INPUT


def is_video(path: str | Path) -> bool:
    """True for a file name with a video suffix (case-insensitive)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def have_mediapipe() -> bool:
    """True when this interpreter can run the extractor itself (it is the video environment)."""
    return importlib.util.find_spec("mediapipe") is not None and importlib.util.find_spec("cv2") is not None


def video_python(create: bool = True) -> Path:
    """The video environment's interpreter; runs `make video-env` first when it is not installed yet."""
    python = VIDEO_VENV / "bin" / "python"
    stamp = VIDEO_VENV / ".installed"
    # Up to date as make sees it: the stamp is newer than what the environment is built from (the project itself is
    # installed there in editable mode, so that the extractor and the overlay import it like any package).
    sources = [ROOT / "requirements-video.txt", ROOT / "pyproject.toml"]
    if stamp.is_file() and python.is_file() and all(
            not s.is_file() or s.stat().st_mtime <= stamp.stat().st_mtime for s in sources):
        return python
    if not create:
        raise VideoEnvError(f"the video environment {VIDEO_VENV} is not installed; run `make video-env`")
    print(f"creating the video environment {VIDEO_VENV} (make video-env, once; about 30 s and 450 MB)",
          file=sys.stderr)
    try:
        done = subprocess.run(["make", "-C", str(ROOT), "video-env", f"VIDEO_VENV={VIDEO_VENV}"], check=False)
    except OSError as e:
        raise VideoEnvError(f"cannot run make to create {VIDEO_VENV} ({e}); create it by hand: python3.11 -m venv "
                            f"{VIDEO_VENV} && {python} -m pip install --no-deps -r requirements-video.txt && "
                            f"{python} -m pip install --no-deps --no-build-isolation -e {ROOT}") from e
    if done.returncode != 0 or not python.is_file():
        raise VideoEnvError(f"`make video-env` failed (exit {done.returncode}); see its output above")
    return python


def run_in_video_env(script: str, args: list[str]) -> int:
    """Run `ROOT/script args...` with the video environment's interpreter; returns its exit status."""
    python = video_python()
    return subprocess.run([str(python), str(ROOT / script), *map(str, args)], cwd=os.getcwd(), check=False).returncode
