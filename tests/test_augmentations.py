"""Augmentations of SPEC §4: shapes, what each zeroes, parameter ranges, probabilities (by simulation), quirks."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from configs.cfg_1 import cfg as cfg_1
from configs.cfg_2 import cfg as cfg_2
from data.augmentations import (Compose, DynamicResample, FaceDrop, FingersDrop, HandDrop2, OneOf, OnWindows,
                                PoseDrop2, Resample, SpatialAffine, SpatialMask, TemporalMask, TimeShift, Transform)
from data.landmarks import N_LANDMARKS, SELECTED_LANDMARKS, finger_groups, part_indices

LANDMARKS = SELECTED_LANDMARKS
PARTS = part_indices(LANDMARKS)
HANDS = sorted(PARTS["lhand"] + PARTS["rhand"])
N_SIM = 4000  # simulated draws for probabilities; standard error <= 0.008
TOLERANCE = 0.03


def sequence(n_frames: int = 60, seed: int = 0) -> np.ndarray:
    """Normalised-looking (T, 130, 3) data without zeros; frame t has z = t + 1 so frames are identifiable."""
    x = np.random.default_rng(seed).uniform(0.5, 1.5, size=(n_frames, N_LANDMARKS, 3)).astype(np.float32)
    x[:, :, 2] = np.arange(1, n_frames + 1, dtype=np.float32)[:, None]
    return x


def dropped_landmarks(out: np.ndarray) -> set[int]:
    """Landmarks that are 0 (all coordinates) in every frame."""
    return set(np.flatnonzero((out == 0).all(axis=(0, 2))).tolist())


def source_frames(out: np.ndarray) -> np.ndarray:
    """Which input frame each output frame copies (via the frame id in z of `sequence`)."""
    return out[:, 0, 2].astype(int) - 1


def every_transform() -> list[Transform]:
    fingers = FingersDrop(LANDMARKS, p=1.0)
    return [Resample((0.5, 1.5)), DynamicResample(), TimeShift(), SpatialAffine((0.8, 1.2), (-0.2, 0.2), (-0.1, 0.1),
            (-30, 30)), TemporalMask(), SpatialMask(fixed=True), fingers, OnWindows(fingers), PoseDrop2(LANDMARKS),
            FaceDrop(LANDMARKS), HandDrop2(LANDMARKS), OneOf([FaceDrop(LANDMARKS)]),
            Compose([Resample(), HandDrop2(LANDMARKS)])]


@pytest.mark.parametrize("transform", every_transform(), ids=lambda t: type(t).__name__)
def test_p_zero_is_identity_and_input_is_never_modified(transform):
    x = sequence()
    before = x.copy()
    transform.p = 0.0
    out = transform(x, np.random.default_rng(0))
    np.testing.assert_array_equal(out, before)
    transform.p = 1.0
    for seed in range(5):
        out = transform(torch.from_numpy(x), np.random.default_rng(seed))
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape[1:] == (N_LANDMARKS, 3)
    np.testing.assert_array_equal(x, before)


def test_probability_of_a_transform_by_simulation():
    rng, x = np.random.default_rng(0), sequence(20)
    fired = np.mean([not np.array_equal(FaceDrop(LANDMARKS, p=0.3)(x, rng), x) for _ in range(N_SIM)])
    assert fired == pytest.approx(0.3, abs=TOLERANCE)


def test_resample_length_range_and_nearest_frames():
    rng, x = np.random.default_rng(0), sequence(50)
    lengths = []
    for _ in range(300):
        out = Resample((0.5, 1.5), p=1.0)(x, rng)
        frames = source_frames(out)
        assert np.all(np.diff(frames) >= 0) and frames[0] == 0  # frames duplicated/dropped, order kept
        np.testing.assert_array_equal(out, x[frames])
        lengths.append(len(out))
    assert min(lengths) >= 25 and max(lengths) <= 75 and max(lengths) - min(lengths) > 35
    assert len(Resample((0.01, 0.02), p=1.0)(x, rng)) == 1  # max(int(T * r), 1)


def test_dynamic_resample_chunks_like_torch_chunk():
    rng, x = np.random.default_rng(0), sequence(100)
    np.testing.assert_array_equal(DynamicResample((1.0, 1.0), (20, 30), p=1.0)(x, rng), x)
    for n_frames in (3, 100):
        for _ in range(50):
            out = DynamicResample((0.9, 1.1), (20, 30), p=1.0)(x[:n_frames], rng)
            frames = source_frames(out)
            assert np.all(np.diff(frames) >= 0) and set(frames) <= set(range(n_frames))
            # chunks of ceil(T / min(w, T)) frames, each to max(int(l * r), 1): never more than 10% longer
            assert len(out) <= math.floor(n_frames * 1.1)
    shorter = [len(DynamicResample((0.9, 1.1), (20, 30), p=1.0)(x, rng)) for _ in range(200)]
    assert np.mean(shorter) < 100  # NOTE(original): int truncation shortens on average


def test_time_shift_range_and_effect():
    rng, x = np.random.default_rng(0), sequence(30)
    shifts = set()
    for _ in range(2000):
        out = TimeShift((-10, 10), p=1.0)(x, rng)
        shift = len(out) - len(x)
        shifts.add(shift)
        if shift > 0:
            assert (out[:shift] == 0).all()
            np.testing.assert_array_equal(out[shift:], x)
        else:
            np.testing.assert_array_equal(out, x[-shift:])
    assert shifts == set(range(-10, 10))  # randint's upper bound is exclusive
    short = [len(TimeShift((-10, 10), p=1.0)(x[:5], rng)) for _ in range(500)]
    assert set(short) <= {3, 4, 5} | set(range(6, 15))  # shifts <= -3 leave a 5-frame sequence unchanged


def reference_affine(x: np.ndarray, scale: float, shear_x: float, shear_y: float, shift: float,
                     degree: float) -> np.ndarray:
    """SPEC §4.1 SpatialAffine written out step by step."""
    px, py = x[..., 0] * scale, x[..., 1] * scale
    px, py = px + shear_y * py, shear_x * px + py
    cx, cy = shear_y, shear_x
    t = math.radians(degree)
    px, py = (px - cx) * math.cos(t) - (py - cy) * math.sin(t) + cx, (px - cx) * math.sin(t) + (py - cy) * math.cos(
        t) + cy
    return np.stack([px + shift, py + shift, x[..., 2]], axis=-1)


def test_spatial_affine_matches_spec_formula():
    x = sequence(10)
    x[:, :5] = 0  # missing landmarks are moved off zero too (Q5)
    transform = SpatialAffine(scale=(1.2, 1.2), shear=(0.15, 0.15), shift=(0.05, 0.05), degree=(20, 20), p=1.0)
    branches = set()
    for seed in range(20):
        out = transform(x, np.random.default_rng(seed))
        on_y = reference_affine(x, 1.2, 0.0, 0.15, 0.05, 20)
        on_x = reference_affine(x, 1.2, 0.15, 0.0, 0.05, 20)
        branch = "y" if np.allclose(out, on_y, atol=1e-5) else "x"
        np.testing.assert_allclose(out, on_y if branch == "y" else on_x, atol=1e-5)
        branches.add(branch)
        np.testing.assert_array_equal(out[..., 2], x[..., 2])
        assert (out[:, :5, :2] != 0).all()
    assert branches == {"x", "y"}


def test_temporal_mask_zeroes_whole_frames_in_range():
    rng, x = np.random.default_rng(0), sequence(100)
    for num_masks, size in (((1, 2), (0.2, 0.4)), ((4, 5), (0.05, 0.1))):
        for _ in range(100):
            out = TemporalMask(size=size, num_masks=num_masks, p=1.0)(x, rng)
            zero = (out == 0).all(axis=(1, 2))
            assert ((out == 0).any(axis=(1, 2)) == zero).all()  # only whole frames
            n_masked = zero.sum()
            assert n_masked <= num_masks[0] * int(100 * size[1])
            assert n_masked >= int(100 * size[0])
    one = [np.flatnonzero((TemporalMask((0.2, 0.4), (1, 2), p=1.0)(x, rng) == 0).all(axis=(1, 2))) for _ in range(50)]
    assert all(np.all(np.diff(frames) == 1) for frames in one)  # one contiguous window


def test_spatial_mask_is_a_noop_unless_fixed():
    rng, x = np.random.default_rng(0), sequence(40)
    np.testing.assert_array_equal(SpatialMask(p=1.0)(x, rng), x)
    changed = 0
    for _ in range(50):
        out = SpatialMask(size=(0.3, 0.4), p=1.0, fixed=True)(x, rng)
        zero = (out == 0).all(axis=-1)
        assert ((out == 0).any(axis=-1) == zero).all()  # whole landmarks
        if zero.any():
            changed += 1
            inside = x[zero][:, :2]
            extent = x[..., :2].max(axis=(0, 1)) - x[..., :2].min(axis=(0, 1))
            assert np.all(inside.max(0) - inside.min(0) <= 0.4 * extent + 1e-6)
    assert changed > 25


def test_fingers_drop_quirk_and_what_it_zeroes():
    rng, x = np.random.default_rng(0), sequence(8)
    fingers = [set(f) for f in finger_groups(LANDMARKS)]
    wrists = {LANDMARKS.index("left_hand_0"), LANDMARKS.index("right_hand_0")}
    distinct = []
    for _ in range(N_SIM // 2):
        dropped = dropped_landmarks(FingersDrop(LANDMARKS, n_fingers=(2, 6), p=1.0)(x, rng))
        assert dropped.isdisjoint(wrists) and dropped <= set(HANDS)
        assert all(f <= dropped or f.isdisjoint(dropped) for f in fingers)  # whole fingers only
        distinct.append(sum(f <= dropped for f in fingers))
    # NOTE(original): 2 x 6 = 12 draws with replacement: E[distinct] = 10 * (1 - 0.9 ** 12) = 7.18
    assert np.mean(distinct) == pytest.approx(10 * (1 - 0.9 ** 12), abs=0.1)


def test_on_windows_fires_with_p_squared_in_two_windows():
    rng, x = np.random.default_rng(0), sequence(100)
    transform = OnWindows(FingersDrop(LANDMARKS, p=1.0), window_size=(0.25, 0.5), num_windows=(2, 3), p=0.75)
    fired = 0
    for _ in range(N_SIM):
        out = transform(x, rng)
        touched = np.flatnonzero((out == 0).any(axis=(1, 2)))
        if len(touched):
            fired += 1
            runs = 1 + np.count_nonzero(np.diff(touched) > 1)
            assert runs <= 2 and len(touched) <= 2 * 50
    assert fired / N_SIM == pytest.approx(0.75 ** 2, abs=TOLERANCE)


def test_part_drops_zero_exactly_their_part():
    rng, x = np.random.default_rng(0), sequence(6)
    assert dropped_landmarks(FaceDrop(LANDMARKS, p=1.0)(x, rng)) == set(PARTS["face"])
    assert dropped_landmarks(HandDrop2(LANDMARKS, p=1.0)(x, rng)) == set(HANDS)
    pose = PARTS["pose"]
    seen = {}
    for _ in range(2000):
        dropped = frozenset(dropped_landmarks(PoseDrop2(LANDMARKS, p=1.0)(x, rng)))
        seen[dropped] = seen.get(dropped, 0) + 1
    assert set(seen) == {frozenset(pose[k:]) for k in (0, 2, 4, 6)}  # all, all but 1, 2 or 3 first pairs
    assert all(count / 2000 == pytest.approx(0.25, abs=TOLERANCE) for count in seen.values())


def test_nested_one_of_probabilities_of_cfg_2():
    part_drop = cfg_2.train_aug(LANDMARKS).transforms[5]
    assert isinstance(part_drop, OneOf)
    rng, x, counts = np.random.default_rng(0), sequence(4), {"hand": 0, "face": 0, "pose": 0, "none": 0}
    for _ in range(N_SIM):
        dropped = dropped_landmarks(part_drop(x, rng))
        kind = ("hand" if dropped == set(HANDS) else "face" if dropped == set(PARTS["face"])
                else "none" if not dropped else "pose")
        counts[kind] += 1
    expected = {"hand": 0.05 / 0.55, "pose": 0.5 / 0.55 * 0.5 * 0.7 / 1.2, "face": 0.5 / 0.55 * 0.5 * 0.5 / 1.2}
    expected["none"] = 1 - sum(expected.values())  # 0.091 / 0.265 / 0.189 / 0.455 (SPEC §4.3)
    for kind, probability in expected.items():
        assert counts[kind] / N_SIM == pytest.approx(probability, abs=TOLERANCE), kind


def test_one_of_picks_by_weight_and_force_applies():
    rng, x = np.random.default_rng(0), sequence(4)
    one_of = OneOf([FaceDrop(LANDMARKS, p=0.75), HandDrop2(LANDMARKS, p=0.25)], p=1.0)
    faces = np.mean([dropped_landmarks(one_of(x, rng)) == set(PARTS["face"]) for _ in range(N_SIM)])
    assert faces == pytest.approx(0.75, abs=TOLERANCE)  # children with p < 1 are still applied when picked
    with pytest.raises(ValueError):
        OneOf([FaceDrop(LANDMARKS, p=0.0)])


def test_compose_applies_in_order():
    x, rng = sequence(10), np.random.default_rng(0)
    out = Compose([TimeShift((3, 4), p=1.0), HandDrop2(LANDMARKS, p=1.0)])(x, rng)
    assert len(out) == 13 and (out[:3] == 0).all() and dropped_landmarks(out) == set(HANDS)


def test_cfg_pipelines_follow_the_spec_lists():
    names_1 = [type(t).__name__ for t in cfg_1.train_aug(LANDMARKS).transforms]
    assert names_1 == ["Resample", "SpatialAffine", "TemporalMask", "SpatialMask"]
    pipeline = cfg_2.train_aug(LANDMARKS).transforms
    assert [type(t).__name__ for t in pipeline] == ["Resample", "DynamicResample", "TimeShift", "SpatialAffine",
                                                    "OnWindows", "OneOf", "OneOf", "SpatialMask"]
    assert [t.p for t in pipeline] == [0.8, 0.25, 0.5, 0.75, 0.75, 1.0, 0.5, 0.5]
    assert pipeline[0].sample_rate == (0.3, 2.0) and pipeline[3].scale == (0.7, 1.3)
    assert [m.num_masks for m in pipeline[6].transforms] == [(1, 2), (2, 3), (4, 5)]
    assert not pipeline[7].fixed  # NOTE(original): SpatialMask stays a no-op (Q1)
    rng = np.random.default_rng(0)
    for _ in range(50):  # full pipelines never produce NaN or an empty sequence
        out = cfg_2.train_aug(LANDMARKS)(sequence(12), rng)
        assert len(out) >= 1 and np.isfinite(out).all()
