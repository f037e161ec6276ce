"""Training augmentations of cfg_1 / cfg_2 (SPEC §4), as plain classes with an explicit random generator.

Every transform is called as `aug(x, rng) -> x'` with `x` a `(T, 130, 3)` float32 tensor (normalised,
NaN-free; 0 = "missing") and `rng` a `numpy.random.Generator`; numpy arrays are accepted too and the
result has the input's type. A call never modifies its input. Transforms fire with probability `p`;
`OneOf` and `OnWindows` force-apply their children, as albumentations' `force_apply` did.

Random streams: the original mixed Python's `random` (every `p` check, uniform draws, PoseDrop2's
choice) with numpy's global RNG (randint draws, OneOf's choice, FingersDrop). Here one generator
drives everything, so the STREAMS differ from the original while every DISTRIBUTION (ranges, exclusive
randint upper bounds, probabilities and their quirks) is the same.

Landmark index sets (fingers, face, pose, hands) come from `data.landmarks` given the landmark names.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from data.numba_kernels import affine_xy_, fill_columns_
from data.landmarks import finger_groups, part_indices
from data.preprocessing import ArrayOrTensor, as_numpy, frame_columns, frame_view, nearest_indices, resize_time

Range = tuple[float, float]
IntRange = tuple[int, int]
X_Y = slice(0, 2)  # the x and y coordinates; z is never touched by spatial transforms
POSE_PAIR = 2  # PoseDrop2 keeps the first 0..3 *pairs* of pose points


class Transform:
    """Base class: fire with probability p, then `_apply` on a numpy array that the transform may modify."""

    def __init__(self, p: float = 1.0) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: probability p must lie in [0, 1], got {p}")
        self.p = p

    def __call__(self, x: ArrayOrTensor, rng: np.random.Generator) -> ArrayOrTensor:
        out = self.maybe_apply(as_numpy(x).copy(), rng)
        return torch.from_numpy(out) if isinstance(x, torch.Tensor) else out

    def maybe_apply(self, x: np.ndarray, rng: np.random.Generator, force_apply: bool = False) -> np.ndarray:
        """Apply with probability p (always when force_apply) to a C-contiguous array; may modify x in place."""
        if force_apply or rng.random() < self.p:
            return self._apply(x, rng)
        return x

    def _apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


def _window(n_frames: int, size: float, offset: float) -> slice:
    """Frames [off, off + len) with len = int(T * size), off = int(offset * clip(T - len, 1, T))."""
    length = int(n_frames * size)
    start = int(offset * min(max(n_frames - length, 1), n_frames))
    return slice(start, start + length)


class Resample(Transform):
    """Nearest-resize the time axis by a rate r ~ U(sample_rate) to max(int(T * r), 1) frames."""

    def __init__(self, sample_rate: Range = (0.8, 1.2), p: float = 0.5) -> None:
        super().__init__(p)
        self.sample_rate = sample_rate

    def _apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        rate = rng.uniform(*self.sample_rate)
        return resize_time(x, max(int(len(x) * rate), 1))


class DynamicResample(Transform):
    """Cut the sequence into up to w ~ randint(windows) chunks and resample each at its own rate.

    Chunking follows `torch.chunk(n)` with n = min(w, T): chunks of ceil(T / n) frames (possibly fewer
    chunks than rates; extra rates unused); a chunk of length l becomes max(int(l * rate), 1) frames.
    NOTE(original): int truncation makes this shorten sequences on average (Q21).
    """

    def __init__(self, sample_rate: Range = (0.9, 1.1), windows: IntRange = (20, 30), p: float = 0.5) -> None:
        super().__init__(p)
        self.sample_rate = sample_rate
        self.windows = windows

    def _apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n_frames = len(x)
        n_windows = int(rng.integers(*self.windows))
        rates = rng.uniform(*self.sample_rate, size=n_windows)[: min(n_windows, n_frames)]
        chunk = math.ceil(n_frames / len(rates))
        n_full, rest = divmod(n_frames, chunk)  # torch.chunk sizes: full chunks, then the remainder
        lengths = np.full(n_full + (rest > 0), chunk, dtype=np.int64)
        lengths[n_full:] = rest
        new_lengths = np.maximum((lengths * rates[:len(lengths)]).astype(np.int64), 1)
        return x.take(nearest_indices(lengths, new_lengths), axis=0)


class TimeShift(Transform):
    """Shift by s ~ randint(shift_rate) frames: prepend s zero frames (s > 0) or drop the first |s| frames.

    NOTE(original): prepended frames are later marked valid in input_mask (Q21); a shift that would leave
    fewer than 2 frames (s <= -T + 2) leaves the sequence unchanged; randint excludes the upper bound.
    """

    def __init__(self, shift_rate: IntRange = (-10, 10), mask_value: float = 0.0, p: float = 0.5) -> None:
        super().__init__(p)
        self.shift_rate = shift_rate
        self.mask_value = mask_value

    def _apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        shift = int(rng.integers(*self.shift_rate))
        if shift > 0:
            return np.concatenate([np.full((shift,) + x.shape[1:], self.mask_value, dtype=x.dtype), x])
        if shift > -len(x) + 2:
            return x[-shift:]
        return x


class SpatialAffine(Transform):
    """Scale, shear (on x or on y), rotate and shift the (x, y) plane; z unchanged (SPEC §4.1).

    NOTE(original): augmentations.SpatialAffine ignores `center_xy`: the rotation centre becomes
    (shear_y, shear_x); ONE shift value is added to both x and y; missing landmarks (0) are moved off 0 (Q5).
    """

    def __init__(self, scale: Range, shear: Range, shift: Range, degree: Range, p: float = 0.5) -> None:
        super().__init__(p)
        self.scale, self.shear, self.shift, self.degree = scale, shear, shift, degree

    def _apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        scale = rng.uniform(*self.scale)
        shear = rng.uniform(*self.shear)
        shear_x, shear_y = (0.0, shear) if rng.random() < 0.5 else (shear, 0.0)
        shift = rng.uniform(*self.shift)
        theta = math.radians(rng.uniform(*self.degree))
        cos, sin = math.cos(theta), math.sin(theta)
        # The four steps in row-vector form p' = p @ M + b, p = (x, y), with M = scale * S @ R:
        # shear S = [[1, shear_x], [shear_y, 1]] (x' = x + shear_y*y, y' = shear_x*x + y), rotation
        # R = [[cos, sin], [-sin, cos]] about the centre (shear_y, shear_x): b = centre - centre @ R + shift.
        m_xx, m_xy = scale * (cos - shear_x * sin), scale * (sin + shear_x * cos)
        m_yx, m_yy = scale * (shear_y * cos - sin), scale * (shear_y * sin + cos)
        offset_x = shear_y - (shear_y * cos - shear_x * sin) + shift
        offset_y = shear_x - (shear_y * sin + shear_x * cos) + shift
        x = np.ascontiguousarray(x)  # the kernel works in place on a (T * L, 3) view
        points = x.reshape(-1, x.shape[-1])
        affine_xy_(points, np.array([m_xx, m_yx, m_xy, m_yy, offset_x, offset_y], dtype=x.dtype))
        return x


class TemporalMask(Transform):
    """Set n ~ randint(num_masks) windows of int(T * U(size)) frames to mask_value (overlaps allowed).

    NOTE(original): randint excludes the upper bound, so num_masks=(a, a + 1) always gives a masks (Q3).
    """

    def __init__(self, size: Range = (0.2, 0.4), num_masks: IntRange = (1, 2), mask_value: float = 0.0,
                 p: float = 0.5) -> None:
        super().__init__(p)
        self.size, self.num_masks, self.mask_value = size, num_masks, mask_value

    def _apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        for _ in range(int(rng.integers(*self.num_masks))):
            x[_window(len(x), rng.uniform(*self.size), rng.random())] = self.mask_value
        return x


SPATIAL_MASK_MODES = ("relative", "absolute", "abolute")  # NOTE(original): its default mode was spelled 'abolute'


class SpatialMask(Transform):
    """NOTE(original): augmentations.SpatialMask returns its input unchanged, a no-op in both cfgs (Q1).

    With `fixed=True` (config flag `spatial_mask_fixed`) it is the original's working `SpatialMaskFix`:
    NaN are set to 0 first; a side `s ~ U(size)`, times the x / y extent of the whole sequence (all frames and
    landmarks) in mode 'relative', or `s` itself otherwise (the original treats every other mode string, its
    misspelled default 'abolute' included, as absolute); a corner `U(0, 1) * extent + min` per axis, so the box
    may reach past the data; landmarks strictly inside (`corner < v < corner + side` in x and y) are set to
    mask_value in all three coordinates, in the frames where they are inside.
    """

    def __init__(self, size: Range = (0.05, 0.1), mask_value: float = 0.0, mode: str = "relative",
                 p: float = 0.5, fixed: bool = False) -> None:
        super().__init__(p)
        if mode not in SPATIAL_MASK_MODES:
            raise ValueError(f"SpatialMask: mode must be one of {SPATIAL_MASK_MODES}, got {mode!r}")
        self.size, self.mask_value, self.mode, self.fixed = size, mask_value, mode, fixed

    def _apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        size, offset = rng.uniform(*self.size), rng.random(2)  # drawn either way: same stream fixed or not
        if not self.fixed or x.size == 0:
            return x
        x[np.isnan(x)] = 0.0
        xy = x[..., X_Y]  # (T, L, 2)
        low, high = xy.min(axis=(0, 1)), xy.max(axis=(0, 1))
        side = size * (high - low) if self.mode == "relative" else np.full(2, size)
        start = offset * (high - low) + low
        inside = np.all((xy > start) & (xy < start + side), axis=-1)  # (T, L)
        x[inside] = self.mask_value
        return x


class _IndexDrop(Transform):
    """Set fixed landmark indices to mask_value in every frame passed in."""

    def __init__(self, indices: Sequence[int], mask_value: float = 0.0, p: float = 0.5) -> None:
        super().__init__(p)
        self._columns = frame_columns(indices)
        self.mask_value = mask_value

    def _apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        fill_columns_(frame_view(x), self._columns, self.mask_value)
        return x


class FaceDrop(_IndexDrop):
    """Drop all face landmarks (lips, nose, eyes: 76 of the 130)."""

    def __init__(self, landmarks: list[str], mask_value: float = 0.0, p: float = 0.5) -> None:
        super().__init__(part_indices(landmarks)["face"], mask_value, p)


class HandDrop2(_IndexDrop):
    """Drop both hands (42 landmarks)."""

    def __init__(self, landmarks: list[str], mask_value: float = 0.0, p: float = 0.5) -> None:
        parts = part_indices(landmarks)
        super().__init__(sorted(parts["lhand"] + parts["rhand"]), mask_value, p)


class PoseDrop2(Transform):
    """Drop all pose points but the first k pairs, k chosen uniformly from 0..3 (pose in index order)."""

    N_KEPT_PAIRS: tuple[int, ...] = (0, 1, 2, 3)

    def __init__(self, landmarks: list[str], mask_value: float = 0.0, p: float = 0.5) -> None:
        super().__init__(p)
        pose = part_indices(landmarks)["pose"]
        self._drop_sets = [frame_columns(pose[k * POSE_PAIR:]) for k in self.N_KEPT_PAIRS]
        self.mask_value = mask_value

    def _apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        fill_columns_(frame_view(x), self._drop_sets[rng.integers(len(self._drop_sets))], self.mask_value)
        return x


class FingersDrop(Transform):
    """Drop randomly drawn fingers (4 landmarks each, wrists kept) in every frame passed in.

    NOTE(original): augmentations.FingersDrop draws `randint(10, size=n_fingers)`: with n_fingers=(2, 6)
    that is a 2x6 array, i.e. 12 fingers drawn with replacement (about 7.1 distinct), not 2..5 (Q2).
    """

    def __init__(self, landmarks: list[str], n_fingers: int | IntRange = (2, 6), mask_value: float = 0.0,
                 p: float = 1.0) -> None:
        super().__init__(p)
        self._fingers = np.stack([frame_columns(f) for f in finger_groups(landmarks)])  # (10, 4 * 3) columns
        self.n_fingers, self.mask_value = n_fingers, mask_value

    def _apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        chosen = rng.integers(len(self._fingers), size=self.n_fingers)
        fill_columns_(frame_view(x), self._fingers[chosen].ravel(), self.mask_value)
        return x


class OnWindows(Transform):
    """Force-apply `transform` (fresh parameters each time) on n ~ randint(num_windows) time windows.

    Window i covers int(T * U(window_size)) frames at offset int(U(0,1) * clip(T - len, 1, T)).
    NOTE(original): augmentations.OnWindows checks p again inside apply, so it fires with p**2
    (0.75 -> 0.5625); num_windows=(2, 3) always gives 2 windows (Q3).
    """

    def __init__(self, transform: Transform, window_size: Range = (0.1, 0.3), num_windows: IntRange = (1, 2),
                 p: float = 0.5) -> None:
        super().__init__(p)
        self.transform, self.window_size, self.num_windows = transform, window_size, num_windows

    def _apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if rng.random() >= self.p:
            return x
        for _ in range(int(rng.integers(*self.num_windows))):
            window = _window(len(x), rng.uniform(*self.window_size), rng.random())
            length = len(x[window])
            part = self.transform.maybe_apply(x[window], rng, force_apply=True)
            if len(part) != length:
                raise ValueError(f"OnWindows: inner {self.transform!r} changed the window length")
            x[window] = part
        return x


class OneOf(Transform):
    """With probability p, force-apply ONE child, picked with probability proportional to the children's p.

    NOTE(original): configs/augmentations.OneOf overrides __call__ and ignores force_apply, so a nested
    OneOf checks its own p again when its parent picks it (Q4).
    """

    def __init__(self, transforms: Sequence[Transform], p: float = 0.5) -> None:
        super().__init__(p)
        if not transforms:
            raise ValueError("OneOf needs at least one transform")
        self.transforms = list(transforms)
        weights = np.array([t.p for t in self.transforms], dtype=np.float64)
        if weights.sum() <= 0:
            raise ValueError(f"OneOf: the children's p values (weights) must not all be 0, got {weights}")
        self._cumulative = np.cumsum(weights / weights.sum())

    def maybe_apply(self, x: np.ndarray, rng: np.random.Generator, force_apply: bool = False) -> np.ndarray:
        if rng.random() < self.p:
            return self._apply(x, rng)
        return x

    def _apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        k = min(int(np.searchsorted(self._cumulative, rng.random(), side="right")), len(self.transforms) - 1)
        return self.transforms[k].maybe_apply(x, rng, force_apply=True)


class Compose(Transform):
    """Apply every transform in order, each with its own probability."""

    def __init__(self, transforms: Sequence[Transform], p: float = 1.0) -> None:
        super().__init__(p)
        self.transforms = list(transforms)

    def _apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        for t in self.transforms:
            x = t.maybe_apply(x, rng)
        return x
