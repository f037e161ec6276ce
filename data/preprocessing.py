"""Per-sequence preprocessing shared by `ds_1` and `ds_2` (SPEC §3.1).

Pipeline of one raw `(T, 390)` npy array: `normalize_sequence` -> (train only: `flip`, `outer_cutmix`,
augmentations) -> `interpolate_or_pad` to `max_len` frames.

The public functions take a numpy array or a CPU tensor and return tensors; each is a thin wrapper
over a numpy core (`*_array`) that the datasets call directly. The arrays are small (about 60k floats),
where torch's per-op overhead dominates; numpy is fastest when an operation's innermost loop runs over
many elements, so landmark gathers and fills work on the `(T, 390)` frame view (`frame_columns`) rather
than on the trailing axis of 3 coordinates, and the multi-pass hot spots are fused loops in `data.numba_kernels`.
"""
from __future__ import annotations

import numpy as np
import torch

from data.numba_kernels import nearest_segment_indices, normalize_into
from data.landmarks import COORDS, N_LANDMARKS

N_COORDS: int = len(COORDS)  # 3: x, y, z
N_COLUMNS: int = N_COORDS * N_LANDMARKS  # 390 columns of a preprocessed npy file
X_COORD: int = COORDS.index("x")
assert X_COORD == 0, "data.numba_kernels.normalize_into negates coordinate 0 when mirroring"

ArrayOrTensor = np.ndarray | torch.Tensor


def as_numpy(x: ArrayOrTensor) -> np.ndarray:
    """View a CPU tensor as a numpy array (no copy); arrays pass through."""
    return x.numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def frame_view(x: np.ndarray) -> np.ndarray:
    """The `(T, 390)` view (landmark-major: lm0 x y z, lm1 x y z, ...) of a C-contiguous `(T, 130, 3)` array."""
    assert x.flags.c_contiguous, "frame_view needs a C-contiguous (T, L, 3) array"
    return x.reshape(len(x), x.shape[1] * x.shape[2])


def frame_columns(landmark_indices: np.ndarray | list[int]) -> np.ndarray:
    """Columns of the `(T, 390)` frame view that hold the x, y, z of the given landmarks, in that order."""
    idx = np.asarray(landmark_indices, dtype=np.int64)
    return (idx[:, None] * N_COORDS + np.arange(N_COORDS)).ravel()


def normalize_array(x: np.ndarray, flip_array: np.ndarray | None = None) -> np.ndarray:
    """Numpy core of `normalize_sequence`: raw `(T, 390)` -> normalised C-contiguous `(T, 130, 3)` float32.

    With `flip_array`, also mirrors the result (equal to `flip(normalize_sequence(x), flip_array)`: the
    statistics pool all landmarks, so they do not change under the landmark permutation); the datasets
    use this to flip for free inside the final layout change. One fused loop (`data.numba_kernels`).
    """
    if x.ndim != 2 or x.shape[1] != N_COLUMNS:
        raise ValueError(f"expected a (T, {N_COLUMNS}) landmark array, got shape {x.shape}")
    blocks = np.ascontiguousarray(x, dtype=np.float32).reshape(len(x), N_COORDS, N_LANDMARKS)  # x | y | z blocks
    out = np.empty((len(x), N_LANDMARKS, N_COORDS), dtype=np.float32)
    source = None if flip_array is None else np.ascontiguousarray(flip_array, dtype=np.int64)
    normalize_into(blocks, source, out)
    return out


def normalize_sequence(x: ArrayOrTensor) -> torch.Tensor:
    """Reshape a raw `(T, 390)` sequence to `(T, 130, 3)` and normalise it globally (SPEC §3.1).

    Per coordinate (x, y, z): mean and population std (ddof=0) over every present (frame, landmark)
    pair of the whole sequence, all landmarks pooled; then NaN -> 0. Never returns NaN or inf.

    NOTE(original): ds_*.CustomDataset pools the present values as rows of 3, which assumes NaNs come in
    whole (x, y, z) triples (true for MediaPipe output). Statistics are computed per coordinate here, which
    equals the original on such data and stays well defined for partial triples.
    A coordinate with no present value gets mean 0 / std 1, one with zero spread gets std 1 (the original
    would divide by zero); both leave only zeros or the centred values, never NaN/inf.
    """
    return torch.from_numpy(normalize_array(as_numpy(x)))


def nearest_indices(n_in: int | np.ndarray, n_out: int | np.ndarray) -> np.ndarray:
    """Source frame of every output frame of PyTorch's legacy 'nearest' resize from n_in to n_out frames.

    Output frame j takes input frame min(floor(j * (n_in / n_out)), n_in - 1) with the scale and the
    product in float32, exactly as `F.interpolate(mode='nearest')` (checked against it in the tests).
    With arrays, consecutive segments of n_in[k] frames are resized to n_out[k] frames each and the
    indices (into the concatenated input) are concatenated.
    """
    if np.ndim(n_in) == 0 and np.ndim(n_out) == 0:  # the common case, checked in plain Python
        if n_in < 1 or n_out < 1:
            raise ValueError(f"nearest resize needs at least one frame in and out, got {n_in} -> {n_out}")
        return nearest_segment_indices(np.array([n_in], dtype=np.int64), np.array([n_out], dtype=np.int64))
    n_in, n_out = np.asarray(n_in, dtype=np.int64), np.asarray(n_out, dtype=np.int64)
    if n_in.shape != n_out.shape or n_in.ndim != 1:
        raise ValueError(f"nearest resize needs matching segment counts, got {n_in.shape} and {n_out.shape}")
    if n_in.min(initial=1) < 1 or n_out.min(initial=1) < 1:
        raise ValueError(f"nearest resize needs at least one frame in and out, got {n_in} -> {n_out}")
    return nearest_segment_indices(n_in, n_out)


def resize_time(x: np.ndarray, n_out: int) -> np.ndarray:
    """Nearest-resize the time axis (axis 0) of x to n_out frames (frames duplicated or dropped)."""
    return x.take(nearest_indices(len(x), n_out), axis=0)  # take: faster than fancy indexing here


def interpolate_or_pad_array(x: np.ndarray, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Numpy core of `interpolate_or_pad`."""
    n_frames = len(x)
    input_mask = np.zeros(max_len, dtype=np.float32)
    if n_frames >= max_len:
        out = resize_time(x, max_len).astype(np.float32, copy=False)
        input_mask[:] = 1
    else:
        out = np.empty((max_len,) + x.shape[1:], dtype=np.float32)
        out[:n_frames] = x
        out[n_frames:] = 0
        input_mask[:n_frames] = 1
    return out, input_mask


def interpolate_or_pad(x: ArrayOrTensor, max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Bring a `(T, 130, 3)` sequence to exactly max_len frames (SPEC §3.1).

    T >= max_len: nearest resize (all frames valid). T < max_len: append zero frames.

    Returns:
        `(max_len, 130, 3)` float32 frames and the float32 `(max_len,)` input mask (1 = real frame).
    """
    out, input_mask = interpolate_or_pad_array(as_numpy(x), max_len)
    return torch.from_numpy(out), torch.from_numpy(input_mask)


def flip(x: ArrayOrTensor, flip_array: np.ndarray) -> torch.Tensor:
    """Mirror a `(T, 130, 3)` sequence: negate x, then new[:, i] = old[:, flip_array[i]] (SPEC §1.3).

    Applied after normalisation, so it mirrors about the sequence's mean x. Returns a new tensor.
    """
    out = np.take(as_numpy(x), flip_array, axis=1)
    out[..., X_COORD] *= -1
    return torch.from_numpy(out)


def cut_point(length: int, fraction: float) -> int:
    """CutMix split index: clip(round(length * fraction), 1, length - 1).

    NOTE(original): ds_*.outer_cutmix uses Python's round (banker's rounding: round(2.5) == 2) and np.clip,
    which returns the upper bound when lower > upper, so a length-1 phrase or sequence is cut at 0.
    """
    return min(max(round(length * fraction), 1), length - 1)


def outer_cutmix_array(data: np.ndarray, phrase: str, data2: np.ndarray, phrase2: str, rng: np.random.Generator,
                       score: float | None = None, score2: float | None = None
                       ) -> tuple[np.ndarray, str, float | None]:
    """Numpy core of `outer_cutmix`."""
    c = rng.random()
    cp, cp2 = cut_point(len(phrase), c), cut_point(len(phrase2), c)
    cd, cd2 = cut_point(len(data), c), cut_point(len(data2), c)
    mixed_score = None
    if rng.random() < 0.5:
        new_phrase = phrase2[cp2:] + phrase[:cp]
        new_data = np.concatenate([data2[cd2:], data[:cd]])
        if score is not None:
            mixed_score = c * score + (1 - c) * score2
    else:
        new_phrase = phrase[cp:] + phrase2[:cp2]
        new_data = np.concatenate([data[cd:], data2[:cd2]])
        if score is not None:
            mixed_score = c * score2 + (1 - c) * score
    return new_data, new_phrase, mixed_score


def outer_cutmix(data: ArrayOrTensor, phrase: str, data2: ArrayOrTensor, phrase2: str, rng: np.random.Generator,
                 score: float | None = None, score2: float | None = None
                 ) -> tuple[torch.Tensor, str, float | None]:
    """Join the tail of one sequence/phrase with the head of the other at the same fraction c (SPEC §3.1).

    c ~ U(0, 1) sets both cut points; a fair coin decides which sample comes first. The score (ds_2) is
    mixed by the fraction each source contributes; without scores (ds_1) None is returned.

    Returns:
        The mixed `(T', 130, 3)` tensor, the mixed phrase (no separator) and the mixed score.
    """
    new_data, new_phrase, new_score = outer_cutmix_array(as_numpy(data), phrase, as_numpy(data2), phrase2, rng,
                                                         score, score2)
    return torch.from_numpy(new_data), new_phrase, new_score
