"""Lock-step replay of the original train.py (../shared/fixtures/lockstep, its README): same initial weights, same
settings, the original's batch order, through OUR training loop (train.fit); then every criterion of the fixture's
README at once, with the tolerances of its manifest (3x the original's own thread-count noise).

Checks the loss, AdamW + weight decay, the per-iteration warm-up/cosine schedule, clipping (one variant clips
every step), gradient accumulation and the BatchNorm running statistics, over 6 epochs.
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
import torch

import train
from common import run_layout as layout
from configs import load_config
from tests.conftest import FIXTURES
from training import engine
from training.distributed import DistContext
from training.seeding import set_seed

LOCKSTEP = FIXTURES / "lockstep"
VARIANTS = ("acc1", "acc2", "clip")
KEY_BIAS_SUFFIXES = ("key_proj.bias", "k_proj.bias")  # true gradient 0: checked in absolute terms (README)

pytestmark = pytest.mark.skipif(not (LOCKSTEP / "manifest.json").is_file(), reason=f"{LOCKSTEP} is absent")


def lockstep_config(log: dict, out_dir: Path):
    """cfg_1 with every setting the original run applied (log.json's `settings_applied`), on the fixture data."""
    cfg = load_config("cfg_1")
    for setting in log["settings_applied"]:
        key = setting["reimpl_key"]
        if key is None or key == "output_dir":  # fields without a counterpart here are 0 in both (README)
            continue
        assert hasattr(cfg, key), f"lock-step setting {key} has no config key"
        setattr(cfg, key, setting["value"])
    mount = LOCKSTEP / "datamount"
    cfg.data_folder = f"{mount / 'train_landmarks_npy'}/"
    cfg.train_df = str(mount / "train_folded.csv")
    cfg.symmetry_fp = str(mount / "symmetry.csv")
    cfg.output_dir = str(out_dir)
    cfg.init_weights = str(LOCKSTEP / "initial_state_dict.pt")
    cfg.device, cfg.logger, cfg.ckpt_every_epochs = "cpu", "none", 0
    return cfg


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double(), b.double()
    return float((a - b).norm() / b.norm()) if b.norm() > 0 else float((a - b).norm())


@pytest.fixture(scope="module", params=VARIANTS)
def replay(request, tmp_path_factory):
    """Run our train.fit on the variant's recorded batches; return what the comparisons need."""
    variant = request.param
    log = json.loads((LOCKSTEP / variant / "log.json").read_text())
    cfg = lockstep_config(log, tmp_path_factory.mktemp(variant))
    threads = torch.get_num_threads()
    torch.set_num_threads(json.loads((LOCKSTEP / "manifest.json").read_text())["threads"])
    set_seed(cfg.seed)
    from training.data import build_datasets
    train_ds, val_ds = build_datasets(cfg)
    assert [[int(f), int(s)] for f, s in zip(val_ds.df.file_id, val_ds.df.sequence_id)] == log["val_order"]
    index = {(int(f), int(s)): i for i, (f, s) in enumerate(zip(train_ds.df.file_id, train_ds.df.sequence_id))}
    batches = [[index[tuple(row)] for row in batch] for batch in log["batches"]]
    per_epoch = len(batches) // cfg.epochs
    order = [batches[e * per_epoch:(e + 1) * per_epoch] for e in range(cfg.epochs)]

    first_grads: dict[str, torch.Tensor] = {}
    clip = engine.clip_gradients

    def recording_clip(model, max_norm):
        if not first_grads:
            first_grads.update({k: p.grad.detach().clone() for k, p in model.named_parameters()
                                if p.grad is not None})
        return clip(model, max_norm)

    engine.clip_gradients = recording_clip
    try:
        train.fit(cfg, DistContext(rank=0, world_size=1, local_rank=0, device=torch.device("cpu")), order)
    finally:
        engine.clip_gradients = clip
        torch.set_num_threads(threads)
    records = [json.loads(line) for line in (layout.run_dir(cfg) / f"metrics_seed{cfg.seed}.jsonl").open()]
    return dict(variant=variant, log=log, cfg=cfg, first_grads=first_grads,
                train=[r for r in records if r["split"] == "train"],
                final=torch.load(layout.checkpoint_path(cfg), weights_only=True)["model"],
                val=torch.load(layout.val_data_path(cfg), weights_only=True),
                tolerance=json.loads((LOCKSTEP / "manifest.json").read_text())["tolerance"][variant])


def test_losses_lr_and_gradient_norms_follow_the_original(replay):
    log, train_records, tol = replay["log"], replay["train"], replay["tolerance"]
    assert len(train_records) == log["n_iterations"]
    losses = [r["loss"] for r in train_records]
    assert max(abs(a - b) for a, b in zip(losses, log["train_loss"])) < tol["max_abs_loss_diff"]
    steps = [r for r in train_records if "grad_norm" in r]
    assert len(steps) == len(log["lr_at_optimizer_step"])
    assert [r["lr"] for r in steps] == pytest.approx(log["lr_at_optimizer_step"], rel=1e-12, abs=1e-12)
    norms = [g["pre_clip_norm"] for g in log["grad_norm"]]
    assert max(abs(r["grad_norm"] - n) / n for r, n in zip(steps, norms)) < tol["max_rel_grad_norm_diff"]


def test_first_step_gradients_match(replay):
    path = LOCKSTEP / replay["variant"] / "first_step_grads.pt"
    if not path.is_file():
        pytest.skip(f"{replay['variant']} has no first_step_grads.pt (its first step is acc1's)")
    expected = torch.load(path, weights_only=True)
    ours = replay["first_grads"]
    assert sorted(ours) == sorted(expected)
    errors = {k: rel(ours[k], v) for k, v in expected.items() if not k.endswith(KEY_BIAS_SUFFIXES)}
    assert max(errors.values()) < replay["tolerance"]["first_step_grads_max_rel_diff"], max(errors.items(),
                                                                                         key=lambda kv: kv[1])


def test_final_weights_and_buffers_match(replay):
    expected = torch.load(LOCKSTEP / replay["variant"] / f"checkpoint_last_seed{replay['cfg'].seed}.pth",
                          weights_only=True)["model"]
    ours, tol = replay["final"], replay["tolerance"]
    assert list(ours) == list(expected)
    initial = torch.load(LOCKSTEP / "initial_state_dict.pt", weights_only=True)
    relative, key_bias = {}, {}
    for key, ref in expected.items():
        if not ref.is_floating_point():
            assert torch.equal(ours[key], ref), key  # num_batches_tracked
        elif key.endswith(KEY_BIAS_SUFFIXES):
            key_bias[key] = float((ours[key].double() - ref.double()).abs().max())
        elif not torch.equal(ref, initial[key]) or "running" in key:
            relative[key] = rel(ours[key], ref)
    worst = max(relative.items(), key=lambda kv: kv[1])
    assert worst[1] < tol["max_rel_weight_diff"], worst
    assert statistics.median(relative.values()) < tol["median_rel_weight_diff"]
    assert max(key_bias.values()) < tol["zero_grad_tensors_max_abs_diff"], key_bias


def test_validation_after_training_matches(replay):
    log, val = replay["log"], replay["val"]
    assert float(val["loss"].mean()) == pytest.approx(log["val_loss"][0], abs=replay["tolerance"]["max_abs_loss_diff"])
    assert val["generated_ids"].tolist() == log["val_generated_ids"]
