"""Per-sequence preprocessing (SPEC §3.1): normalisation, nearest resize / padding, flip, outer CutMix."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from data.landmarks import N_LANDMARKS, SELECTED_LANDMARKS, flip_array, symmetry_frame
from data.preprocessing import (N_COLUMNS, cut_point, flip, interpolate_or_pad, nearest_indices, normalize_array,
                                normalize_sequence, outer_cutmix)

MAX_LEN = 384


class ScriptedRng:
    """Stands in for np.random.Generator: random() returns the scripted values in order."""

    def __init__(self, *values: float) -> None:
        self._values = iter(values)

    def random(self) -> float:
        return next(self._values)


def raw_sequence(n_frames: int, seed: int = 0, missing_hand_fraction: float = 0.4) -> np.ndarray:
    """A raw (T, 390) float32 sequence whose left hand (all 3 coordinates) is NaN in some frames."""
    rng = np.random.default_rng(seed)
    x = rng.normal(loc=[[0.5], [0.4], [-0.1]], scale=[[0.1], [0.2], [0.05]], size=(n_frames, 3, N_LANDMARKS))
    x[rng.random(n_frames) < missing_hand_fraction, :, 40:61] = np.nan
    return x.astype(np.float32).reshape(n_frames, N_COLUMNS)


def reference_normalize(raw: np.ndarray) -> np.ndarray:
    """SPEC §3.1 literally, in float64: pool the present (x, y, z) triples, population std, NaN -> 0."""
    x = raw.astype(np.float64).reshape(len(raw), 3, N_LANDMARKS).transpose(0, 2, 1)
    present = x[~np.isnan(x)].reshape(-1, 3)
    return np.nan_to_num((x - present.mean(0)) / present.std(0))


@pytest.fixture(scope="module")
def mirror() -> np.ndarray:
    return flip_array(SELECTED_LANDMARKS, symmetry_frame())


def test_normalize_matches_spec_with_missing_triples():
    raw = raw_sequence(57)
    out = normalize_sequence(raw)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == (57, N_LANDMARKS, 3)
    np.testing.assert_allclose(out.numpy(), reference_normalize(raw), atol=2e-5)
    missing = np.isnan(raw.reshape(57, 3, N_LANDMARKS).transpose(0, 2, 1))
    assert (out.numpy()[missing] == 0).all()
    present = out.numpy()[~missing.any(-1)]
    np.testing.assert_allclose(present.mean(0), 0, atol=0.2)  # mean is 0 over all present points


def test_normalize_reshapes_coordinate_blocks_to_landmark_triples():
    raw = np.random.default_rng(2).normal(size=(4, N_COLUMNS)).astype(np.float32)
    out = normalize_sequence(raw).numpy()
    for c in range(3):  # column blocks x | y | z, each standardised over all its values
        block = raw[:, c * N_LANDMARKS:(c + 1) * N_LANDMARKS].astype(np.float64)
        np.testing.assert_allclose(out[:, :, c], (block - block.mean()) / block.std(), atol=1e-5)


def test_normalize_all_missing_and_constant_sequences_are_finite():
    assert (normalize_sequence(np.full((7, N_COLUMNS), np.nan, np.float32)).numpy() == 0).all()
    one_point = np.full((3, N_COLUMNS), np.nan, np.float32)
    one_point[1, [0, N_LANDMARKS, 2 * N_LANDMARKS]] = [0.3, 0.6, -0.2]  # a single present landmark: std 0
    out = normalize_sequence(one_point).numpy()
    assert np.isfinite(out).all() and (out == 0).all()


def test_normalize_does_not_modify_input_and_rejects_bad_shapes():
    raw = raw_sequence(1)  # T == 1 takes numpy's view paths if any
    before = raw.copy()
    normalize_sequence(raw)
    np.testing.assert_array_equal(raw, before)
    with pytest.raises(ValueError, match="390"):
        normalize_sequence(np.zeros((4, 389), np.float32))


def test_normalize_accepts_read_only_float64_and_strided_inputs():
    """The compiled kernel sees what load_sequence gives (read-only buffers) and whatever callers pass."""
    raw = raw_sequence(45, seed=5)
    expected = normalize_array(raw)
    read_only = np.frombuffer(raw.tobytes(), dtype=np.float32).reshape(raw.shape)
    assert not read_only.flags.writeable
    np.testing.assert_array_equal(normalize_array(read_only), expected)
    np.testing.assert_array_equal(normalize_array(raw.astype(np.float64)), expected)
    strided = np.repeat(raw, 2, axis=0)[::2]  # every other row: not C-contiguous
    assert not strided.flags.c_contiguous
    np.testing.assert_array_equal(normalize_array(strided), expected)
    np.testing.assert_allclose(expected, reference_normalize(raw), atol=2e-5)


def test_fused_flip_equals_flip_after_normalize(mirror):
    raw = raw_sequence(33, seed=3)
    np.testing.assert_allclose(normalize_array(raw, mirror), flip(normalize_sequence(raw), mirror).numpy(),
                               atol=1e-6)


@pytest.mark.parametrize("n_in", [1, 2, 7, 100, 383, 384, 385, 400, 767, 768, 1000])
@pytest.mark.parametrize("n_out", [1, 3, 192, 384, 385, 800])
def test_nearest_indices_match_torch_legacy_nearest(n_in, n_out):
    frames = torch.arange(n_in, dtype=torch.float32)[None, None]
    expected = F.interpolate(frames, size=n_out, mode="nearest")[0, 0].long().numpy()
    np.testing.assert_array_equal(nearest_indices(n_in, n_out), expected)


def test_nearest_indices_of_segments_concatenate_single_resizes():
    lengths, new_lengths = np.array([5, 5, 3]), np.array([6, 4, 1])
    expected = np.concatenate([nearest_indices(5, 6), 5 + nearest_indices(5, 4), 10 + nearest_indices(3, 1)])
    np.testing.assert_array_equal(nearest_indices(lengths, new_lengths), expected)
    with pytest.raises(ValueError):
        nearest_indices(0, 4)


def test_interpolate_long_sequence_nearest_frames():
    x = np.broadcast_to(np.arange(400, dtype=np.float32)[:, None, None], (400, N_LANDMARKS, 3)).copy()
    out, mask = interpolate_or_pad(x, MAX_LEN)
    frames = out[:, 0, 0].long().numpy()
    np.testing.assert_array_equal(frames[:8], np.arange(8))
    np.testing.assert_array_equal(frames[-4:], [395, 396, 397, 398])
    assert mask.dtype == torch.float32 and (mask == 1).all()
    same, _ = interpolate_or_pad(x[:MAX_LEN], MAX_LEN)
    np.testing.assert_array_equal(same.numpy(), x[:MAX_LEN])


def test_pad_short_sequence_with_zero_frames():
    x = np.random.default_rng(0).normal(size=(10, N_LANDMARKS, 3)).astype(np.float32)
    out, mask = interpolate_or_pad(torch.from_numpy(x), MAX_LEN)
    assert out.shape == (MAX_LEN, N_LANDMARKS, 3) and out.dtype == torch.float32
    np.testing.assert_array_equal(out[:10].numpy(), x)
    assert (out[10:] == 0).all()
    np.testing.assert_array_equal(mask.numpy(), np.r_[np.ones(10), np.zeros(MAX_LEN - 10)])


def test_flip_negates_x_and_permutes_landmarks(mirror):
    x = torch.from_numpy(np.random.default_rng(1).normal(size=(6, N_LANDMARKS, 3)).astype(np.float32))
    out = flip(x, mirror)
    np.testing.assert_array_equal(out[:, :, 0].numpy(), -x[:, mirror, 0].numpy())
    np.testing.assert_array_equal(out[:, :, 1:].numpy(), x[:, mirror, 1:].numpy())
    np.testing.assert_array_equal(flip(out, mirror).numpy(), x.numpy())  # flip twice = identity
    left, right = SELECTED_LANDMARKS.index("left_hand_3"), SELECTED_LANDMARKS.index("right_hand_3")
    np.testing.assert_array_equal(out[:, left, 1].numpy(), x[:, right, 1].numpy())


@pytest.mark.parametrize("length, fraction, expected", [
    (5, 0.5, 2),  # round(2.5) == 2: banker's rounding
    (7, 0.5, 4),  # round(3.5) == 4
    (6, 0.25, 2),  # round(1.5) == 2
    (10, 0.01, 1),  # clipped up to 1
    (4, 0.99, 3),  # clipped down to length - 1
    (1, 0.7, 0),  # lower > upper: np.clip returns the upper bound 0
    (2, 0.9, 1),
])
def test_cut_point(length, fraction, expected):
    assert cut_point(length, fraction) == expected


def _frames(n_frames: int, value: float) -> np.ndarray:
    return np.full((n_frames, N_LANDMARKS, 3), value, dtype=np.float32)


def test_outer_cutmix_second_sample_first():
    data, data2 = _frames(10, 1.0), _frames(4, 2.0)
    # c = 0.25: cp = round(1.5) = 2, cp2 = round(0.75) = 1, cd = round(2.5) = 2, cd2 = round(1.0) = 1
    out, phrase, score = outer_cutmix(data, "abcdef", data2, "xyz", ScriptedRng(0.25, 0.1), 0.8, 0.4)
    assert phrase == "yz" + "ab"
    np.testing.assert_array_equal(out[:, 0, 0].numpy(), [2, 2, 2, 1, 1])  # data2[1:] then data[:2]
    assert score == pytest.approx(0.25 * 0.8 + 0.75 * 0.4)


def test_outer_cutmix_first_sample_first():
    data, data2 = _frames(10, 1.0), _frames(4, 2.0)
    out, phrase, score = outer_cutmix(data, "abcdef", data2, "xyz", ScriptedRng(0.25, 0.9), 0.8, 0.4)
    assert phrase == "cdef" + "x"
    np.testing.assert_array_equal(out[:, 0, 0].numpy(), [1] * 8 + [2])  # data[2:] then data2[:1]
    assert score == pytest.approx(0.25 * 0.4 + 0.75 * 0.8)


def test_outer_cutmix_length_one_phrase_and_no_scores():
    data, data2 = _frames(3, 1.0), _frames(3, 2.0)
    _, phrase, score = outer_cutmix(data, "a", data2, "xyz", ScriptedRng(0.6, 0.9))
    assert phrase == "a" + "xy" and score is None  # cp = 0 keeps all of 'a'; cp2 = round(1.8) = 2
    _, phrase, _ = outer_cutmix(data, "a", data2, "xyz", ScriptedRng(0.6, 0.1))
    assert phrase == "z"  # phrase2[2:] + phrase[:0]
