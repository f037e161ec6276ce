"""Compiled (numba) inner loops of the per-item data pipeline.

Why: an item is ~60-90k floats, and every numpy call is one pass over them through the L3 cache. Global
normalisation (SPEC §3.1) took ~10 such passes (NaN mask, counts, fill, sum, centre, fill, square-sum,
transposing write), the mirror flip a gather more, and SpatialAffine / the landmark drops several strided
passes each. Here each is one or two fused loops, which roughly halves an item's cost (see
`scripts/benchmark_data.py`). Only loops live here; the maths and its documentation stay with the callers
in `data.preprocessing` and `data.augmentations`.

Compilation: lazily on first call per array type (about a second each), cached on disk next to this file
(`cache=True`), so later processes and DataLoader workers load it in milliseconds. No function here uses
'fastmath' except the reductions, which only allow re-association of their sums (vectorisable); NaN checks
stay exact.
"""
from __future__ import annotations

import numba
import numpy as np

REASSOCIATE = {"reassoc"}  # let LLVM vectorise a float sum; nothing else about IEEE semantics is relaxed


@numba.njit(cache=True, nogil=True, fastmath=REASSOCIATE)
def _present_sum(x: np.ndarray, coord: int) -> tuple[float, int]:
    """Sum and count of the present (non-NaN) values of x[:, coord, :]; per-frame float32, across frames float64."""
    total, count = 0.0, 0
    for t in range(x.shape[0]):
        row_total, row_count = np.float32(0.0), 0
        for lm in range(x.shape[2]):  # index loops vectorise; iterating a slice does not
            v = x[t, coord, lm]
            present = v == v
            row_total += v if present else np.float32(0.0)
            row_count += 1 if present else 0
        total += row_total
        count += row_count
    return total, count


@numba.njit(cache=True, nogil=True, fastmath=REASSOCIATE)
def _present_squares(x: np.ndarray, coord: int, mean: np.float32) -> float:
    """Sum of (v - mean)**2 over the present values v of x[:, coord, :]."""
    total = 0.0
    for t in range(x.shape[0]):
        row_total = np.float32(0.0)
        for lm in range(x.shape[2]):
            v = x[t, coord, lm]
            d = v - mean if v == v else np.float32(0.0)
            row_total += d * d
        total += row_total
    return total


@numba.njit(cache=True, nogil=True)
def normalize_into(x: np.ndarray, source: np.ndarray | None, out: np.ndarray) -> None:
    """Global per-coordinate standardisation of a raw `(T, C, L)` block array into `(T, L, C)` (NaN -> 0).

    For every coordinate c: mean m and population std s over the present values of x[:, c, :] (a coordinate
    with none gets m = 0, s = 1; zero spread gets s = 1), then
    `out[t, l, c] = (x[t, c, source[l]] - m) / s`, negated for c == 0 (the mirror flip: source is the landmark
    permutation). With source None: `(x[t, c, l] - m) / s`, compiled as its own gather-free specialisation.
    Two passes per coordinate (mean, then centred squares: no cancellation) and one output pass.
    """
    n_frames, n_coords, n_landmarks = x.shape
    means = np.empty(n_coords, np.float32)
    scales = np.empty(n_coords, np.float32)
    for c in range(n_coords):
        total, count = _present_sum(x, c)
        count = max(count, 1)
        mean = np.float32(total / count)
        std = np.sqrt(_present_squares(x, c, mean) / count)
        scale = np.float32(1.0 / std) if std > 0 else np.float32(1.0)
        means[c] = mean
        scales[c] = -scale if source is not None and c == 0 else scale
    for t in range(n_frames):
        for c in range(n_coords):
            mean, scale = means[c], scales[c]
            for lm in range(n_landmarks):
                v = x[t, c, lm] if source is None else x[t, c, source[lm]]
                out[t, lm, c] = (v - mean) * scale if v == v else np.float32(0.0)


@numba.njit(cache=True, nogil=True)
def affine_xy_(points: np.ndarray, coefficients: np.ndarray) -> None:
    """In place on `(N, >=2)` points, with coefficients (m_xx, m_yx, m_xy, m_yy, offset_x, offset_y) of the
    points' dtype: (x, y) <- (x*m_xx + y*m_yx + offset_x, x*m_xy + y*m_yy + offset_y)."""
    a, b, c, d, ox, oy = coefficients
    for i in range(points.shape[0]):
        px, py = points[i, 0], points[i, 1]
        points[i, 0] = px * a + py * b + ox
        points[i, 1] = px * c + py * d + oy


@numba.njit(cache=True, nogil=True)
def fill_columns_(frames: np.ndarray, columns: np.ndarray, value: float) -> None:
    """In place on a `(T, K)` array: frames[:, columns] = value."""
    for t in range(frames.shape[0]):
        row = frames[t]
        for k in columns:
            row[k] = value


@numba.njit(cache=True, nogil=True)
def nearest_segment_indices(n_in: np.ndarray, n_out: np.ndarray) -> np.ndarray:
    """Source index of every output frame when consecutive segments of n_in[k] frames are each
    nearest-resized to n_out[k] frames: PyTorch's legacy 'nearest', `min(floor(j * (n_in / n_out)), n_in - 1)`
    with the scale and the product in float32."""
    out = np.empty(n_out.sum(), np.int64)
    k, start = 0, 0
    for s in range(n_in.shape[0]):
        scale = np.float32(n_in[s]) / np.float32(n_out[s])
        last = n_in[s] - 1
        for j in range(n_out[s]):
            out[k] = start + min(int(np.floor(np.float32(j) * scale)), last)
            k += 1
        start += n_in[s]
    return out
