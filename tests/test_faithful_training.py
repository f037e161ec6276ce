"""Dormant deviations from the original training code (issue 10), each pinned by a test.

clip_grad <= 0, cfg_2's default fold, save_only_last_ckpt, SpatialMask(fixed=True) = the original's SpatialMaskFix
and its config flag, --init_weights. The full-step maths is covered by tests/test_torch_parity.py (train-mode
gradients) and tests/test_lockstep.py (a whole short run of the original train.py).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import train
from configs import load_config
from data.augmentations import SpatialMask
from data.dataset import build_train_aug
from data.landmarks import SELECTED_LANDMARKS
from tests.train_helpers import run_train
from training.optim import clip_gradients

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def model_with_gradients() -> torch.nn.Module:
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    model(torch.randn(5, 4)).pow(2).sum().mul(100).backward()
    return model


@pytest.mark.parametrize("max_norm", [0.0, -1.0])
def test_clip_grad_not_positive_means_no_clipping(max_norm):
    model = model_with_gradients()
    before = [p.grad.clone() for p in model.parameters()]
    norm = clip_gradients(model, max_norm)
    for grad, p in zip(before, model.parameters()):
        assert torch.equal(p.grad, grad)
    assert float(norm) == pytest.approx(float(torch.cat([g.flatten() for g in before]).norm()), rel=1e-6)


def test_clip_grad_positive_clips_to_the_norm():
    model = model_with_gradients()
    norm = clip_gradients(model, 1.0)
    assert float(norm) > 1.0
    assert float(torch.cat([p.grad.flatten() for p in model.parameters()]).norm()) == pytest.approx(1.0, rel=1e-5)


def test_cfg_2_default_fold_is_the_originals():
    assert load_config("cfg_2").fold == 0 and load_config("cfg_1").fold == 0


@pytest.mark.slow
@pytest.mark.parametrize("only_last", [True, False])
def test_save_only_last_ckpt(mount, tmp_path, monkeypatch, only_last):
    """False: checkpoint_last_seed*.pth is rewritten after every epoch (there after a crash); True: at the end."""
    monkeypatch.setenv(train.CRASH_ENV, "1")
    with pytest.raises(train.InjectedCrash):
        run_train("demo_1", 1, mount, tmp_path, epochs=2, eval_epochs=0, seed=3, save_only_last_ckpt=only_last)
    assert (tmp_path / "fold1" / "checkpoint_last_seed3.pth").exists() is (not only_last)


def box_sequence() -> np.ndarray:
    """A (4, 130, 3) sequence on a grid: x = landmark % 13 / 12, y = landmark // 13 / 9, z = 1 (no zeros)."""
    idx = np.arange(len(SELECTED_LANDMARKS))
    frame = np.stack([idx % 13 / 12, idx // 13 / 9, np.ones_like(idx)], axis=-1).astype(np.float32)
    return np.repeat(frame[None], 4, axis=0)


class Draws:
    """A stand-in generator that replays fixed draws: uniform -> `size`, random(2) -> `offset`, p-check -> 0."""

    def __init__(self, size: float, offset: tuple[float, float]):
        self.size, self.offset = size, np.array(offset)

    def random(self, n=None):
        return self.offset if n == 2 else 0.0

    def uniform(self, low, high):
        return self.size


def test_spatial_mask_fix_relative_box_is_strict_and_offset_by_the_extent():
    x = box_sequence()
    # extent [0, 1] in x and y; s = 0.5 -> side 0.5; corner = 0.25 * 1 + 0 = 0.25: masked where 0.25 < v < 0.75
    out = SpatialMask(size=(0.5, 0.5), mode="relative", p=1.0, fixed=True)(x, Draws(0.5, (0.25, 0.25)))
    xs, ys = x[0, :, 0], x[0, :, 1]
    expected = (xs > 0.25) & (xs < 0.75) & (ys > 0.25) & (ys < 0.75)
    masked = (out == 0).all(axis=-1)
    assert expected.any() and (masked == expected[None]).all()
    on_edge = np.isclose(xs, 0.25) | np.isclose(xs, 0.75)
    assert not masked[0, on_edge].any()  # strict: x = 0.25 (landmark % 13 = 3) is kept


def test_spatial_mask_fix_box_may_reach_past_the_data_and_absolute_mode():
    x = box_sequence()
    # corner 0.95 * 1 = 0.95 with side 0.5: the box (0.95, 1.45) holds only x = 1.0 (landmark % 13 = 12)
    out = SpatialMask(size=(0.5, 0.5), mode="relative", p=1.0, fixed=True)(x, Draws(0.5, (0.95, 0.0)))
    masked = (out[0] == 0).all(axis=-1)
    assert set(np.flatnonzero(masked) % 13) == {12}
    for mode in ("absolute", "abolute"):  # NOTE(original): the misspelled default is absolute too
        x2 = box_sequence()
        x2[..., :2] *= 10  # extent [0, 10]: a relative side would be 10x wider than the absolute one
        out = SpatialMask(size=(0.5, 0.5), mode=mode, p=1.0, fixed=True)(x2, Draws(0.5, (0.0, 0.0)))
        masked = (out[0] == 0).all(axis=-1)
        assert masked.sum() == 0  # the grid step is 10/12 > 0.5: no landmark strictly inside (0, 0.5)
        out = SpatialMask(size=(0.5, 0.5), mode="relative", p=1.0, fixed=True)(x2, Draws(0.5, (0.0, 0.0)))
        assert (out[0] == 0).all(axis=-1).sum() > 0


def test_spatial_mask_fix_fills_nan_with_zero_first():
    x = box_sequence()
    x[1, 5] = np.nan
    out = SpatialMask(size=(0.01, 0.01), p=1.0, fixed=True)(x, Draws(0.01, (0.99, 0.99)))
    assert not np.isnan(out).any() and (out[1, 5] == 0).all()
    assert np.isnan(SpatialMask(p=1.0)(x, Draws(0.01, (0.99, 0.99)))).any()  # the no-op keeps its input


def test_spatial_mask_fixed_flag_reaches_the_pipelines():
    for name in ("cfg_1", "cfg_2", "demo_1", "demo_2"):
        cfg = load_config(name)
        for fixed in (False, True):
            masks = [t for t in cfg.train_aug(SELECTED_LANDMARKS, spatial_mask_fixed=fixed).transforms
                     if isinstance(t, SpatialMask)]
            assert len(masks) == 1 and masks[0].fixed is fixed, name
    assert load_config("cfg_2").spatial_mask_fixed is False  # the original's no-op by default (Q1)


def test_build_train_aug_passes_the_config_flag(monkeypatch):
    cfg = load_config("cfg_2")
    cfg.spatial_mask_fixed = True
    monkeypatch.setattr("data.dataset.load_landmarks", lambda cfg: list(SELECTED_LANDMARKS))
    (mask,) = [t for t in build_train_aug(cfg).transforms if isinstance(t, SpatialMask)]
    assert mask.fixed


@pytest.mark.slow
def test_init_weights_starts_from_a_checkpoint_and_is_strict(mount, tmp_path):
    run_train("demo_1", 1, mount, tmp_path / "first", epochs=1, eval_epochs=0, seed=3)
    first = tmp_path / "first" / "fold1" / "checkpoint_last_seed3.pth"
    # a vanishing learning rate: the weights must come out as loaded (a fresh init with seed 4 would not)
    run_train("demo_1", 1, mount, tmp_path / "second", epochs=1, eval_epochs=0, seed=4, lr=1e-12, weight_decay=0.0,
              init_weights=str(first))
    a = torch.load(first, weights_only=True)["model"]
    b = torch.load(tmp_path / "second" / "fold1" / "checkpoint_last_seed4.pth", weights_only=True)["model"]
    for key, value in a.items():
        if value.is_floating_point() and "running" not in key:
            torch.testing.assert_close(b[key], value, rtol=0, atol=1e-9, msg=key)
    with pytest.raises(ValueError, match="do not fit"):
        run_train("demo_1", 1, mount, tmp_path / "third", epochs=1, eval_epochs=0, seed=5, encoder_dim=64,
                  init_weights=str(first))


def test_round_2_without_an_oof_table_names_both_ways_to_get_one(tmp_path):
    from training.data import read_train_df

    cfg = load_config("cfg_2")
    cfg.train_df = str(tmp_path / "train_folded_oof_supp.csv")
    with pytest.raises(FileNotFoundError) as error:
        read_train_df(cfg)
    message = str(error.value)
    assert "\n" not in message and "get_train_folded_oof_supp.py" in message and "--team-csvs" in message


def test_missing_init_weights_stops_before_anything_is_written(mount, tmp_path, capsys):
    code = train.cli(["-C", "demo_1", "--fold", "1", "--init_weights", str(tmp_path / "nope.pth"),
                      "--output_dir", str(tmp_path / "out"), "--data_folder", f"{mount.npy_dir}/",
                      "--train_df", str(mount.train_folded), "--symmetry_fp", str(mount.symmetry), "--device", "cpu",
                      "--logger", "none", "--seed", "3"])
    assert code == 3 and "nope.pth" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
