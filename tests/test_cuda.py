"""CUDA-only checks: mixed-precision training steps (fp16 + GradScaler as the original, bf16), CPU/GPU agreement
and a tiny train.py run on the GPU. Skipped where no CUDA device is present (CI); `scripts/gpu_check.sh` runs them
with the GPU benchmarks on a machine that has one."""
from __future__ import annotations

import copy

import pytest
import torch

import train
from configs import load_config
from models import build_model
from models.weights import load_weights
from scripts.benchmark_training import Batches, random_batch
from tests.train_helpers import make_datamount, tiny_overrides
from training.distributed import DistContext
from training.engine import TrainState, build_precision, train_one_epoch
from training.logger import RunLogger
from training.optim import build_optimizer, build_scheduler

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]
CUDA = torch.device("cuda")


def train_steps(cfg, model, batch, n_steps: int):
    """n_steps optimiser steps of train.py's own loop on one repeated batch; returns (precision, mean loss)."""
    ctx = DistContext(device=CUDA)
    optimizer = build_optimizer(model, cfg)
    scheduler = build_scheduler(optimizer, cfg, n_train=cfg.batch_size * n_steps)
    precision = build_precision(cfg, CUDA)
    loss = train_one_epoch(model, Batches([batch] * n_steps, n_steps), optimizer, scheduler, precision,
                           TrainState(), cfg, ctx, RunLogger(cfg, ".", enabled=False))
    return precision, loss


@pytest.mark.parametrize("amp_dtype", ["float16", "bfloat16"])
def test_cfg_2_mixed_precision_steps_update_the_model(amp_dtype):
    cfg = copy.deepcopy(load_config("cfg_2"))
    cfg.amp_dtype, cfg.mixed_precision, cfg.batch_size, cfg.grad_accumulation = amp_dtype, True, 8, 1
    torch.manual_seed(0)
    model = build_model(cfg).to(CUDA)
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    precision, loss = train_steps(cfg, model, random_batch(cfg), n_steps=3)
    assert precision.enabled and precision.dtype == getattr(torch, amp_dtype)
    assert precision.scaler.is_enabled() == (amp_dtype == "float16")  # the original's GradScaler: fp16 only
    assert torch.isfinite(torch.tensor(loss))
    changed = [k for k, v in model.state_dict().items() if v.is_floating_point() and not torch.equal(v, before[k])]
    assert len(changed) > 0.9 * sum(v.is_floating_point() for v in before.values())
    assert all(torch.isfinite(v).all() for v in model.state_dict().values() if v.is_floating_point())


def test_fp32_eval_on_cuda_matches_cpu():
    cfg = copy.deepcopy(load_config("cfg_2"))
    cfg.batch_size = 4
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    batch = random_batch(cfg)
    with torch.no_grad():
        cpu = model(batch)
        gpu = model.to(CUDA)({k: v.to(CUDA) for k, v in batch.items()})
    for key in ("loss", "aux_logits"):
        torch.testing.assert_close(gpu[key].float().cpu(), cpu[key].float(), atol=2e-4, rtol=1e-3)


def test_tiny_train_run_on_cuda_with_amp(tmp_path):
    mount = make_datamount(tmp_path / "datamount")
    out = tmp_path / "out"
    argv = ["-C", "demo_2", "--fold", "-1",
            *tiny_overrides(mount, out, train_df=mount.oof_supp, device="cuda", mixed_precision="true")]
    metrics = train.main(argv)
    assert metrics and all(torch.isfinite(torch.tensor(v)) for v in metrics.values() if isinstance(v, float))
    # as the original, the file holds the GPU tensors; our loaders map them to CPU and load strictly
    cfg = train.parse_args(argv)
    load_weights(build_model(cfg), out / "fold-1" / "checkpoint_last_seed3.pth", strict=True)
