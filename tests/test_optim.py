"""training/optim.py: the learning-rate schedule and optimiser of SPEC §6 / Q17 / Q18."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from training.optim import WarmupCosine, build_optimizer, build_scheduler, scheduler_steps_per_epoch, step_scheduler


def test_multiplier_values():
    f = WarmupCosine(warmup_steps=10, total_steps=110)
    assert f(0) == 0.0
    assert f(7) == pytest.approx(0.7)
    assert f(10) == pytest.approx(1.0)
    assert f(60) == pytest.approx(0.5)  # halfway through the cosine
    assert f(35) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.25)))
    assert f(110) == pytest.approx(0.0, abs=1e-12)
    assert f(115) == pytest.approx(0.5 * (1 + math.cos(math.pi * 1.05)))  # NOTE(original): rebound past S (Q17)
    assert WarmupCosine(0, 10)(0) == 1.0


def test_matches_transformers():
    from transformers import get_cosine_schedule_with_warmup

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    ref = get_cosine_schedule_with_warmup(opt, num_warmup_steps=7, num_training_steps=50).lr_lambdas[0]
    ours = WarmupCosine(7, 50)
    for step in range(0, 60):
        assert ours(step) == pytest.approx(ref(step), abs=1e-12)


def test_steps_per_epoch_uses_floor_and_world_size():
    assert scheduler_steps_per_epoch(1000, 64) == 15  # NOTE(original): N // 64 although an epoch has 16 batches
    assert scheduler_steps_per_epoch(1000, 64, world_size=2) == 7
    assert scheduler_steps_per_epoch(10, 64) == 1


def _cfg(**kw) -> SimpleNamespace:
    base = dict(lr=1e-2, weight_decay=0.05, batch_size=4, warmup_epochs=2, epochs=10)
    return SimpleNamespace(**{**base, **kw})


def test_scheduler_steps_per_mini_batch():
    model = torch.nn.Linear(3, 2)
    cfg = _cfg()
    opt = build_optimizer(model, cfg)
    sched = build_scheduler(opt, cfg, n_train=40)  # 10 steps per epoch -> W = 20, S = 100
    lrs = []
    for _ in range(25):
        lrs.append(opt.param_groups[0]["lr"])
        step_scheduler(sched)
    assert lrs[0] == 0.0
    assert lrs[7] == pytest.approx(cfg.lr * 7 / 20)
    assert lrs[20] == pytest.approx(cfg.lr)
    assert lrs[21] < cfg.lr
    state = sched.state_dict()
    assert state["lr_lambdas"][0] == {"warmup_steps": 20, "total_steps": 100, "num_cycles": 0.5}


def test_optimizer_decays_every_parameter_in_one_group():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LayerNorm(3))
    frozen = torch.nn.Parameter(torch.ones(2), requires_grad=False)
    model.register_parameter("frozen", frozen)
    opt = build_optimizer(model, _cfg())
    assert len(opt.param_groups) == 1 and opt.param_groups[0]["weight_decay"] == 0.05
    assert len(opt.param_groups[0]["params"]) == len(list(model.parameters()))
    bias = model[1].bias
    with torch.no_grad():
        bias.fill_(1.0)
    model(torch.zeros(1, 3)).sum().mul(0).backward()  # zero gradient: only weight decay moves the weights
    opt.step()
    assert (bias < 1.0).all()  # NOTE(original): decay on LayerNorm bias too (Q18)
    assert torch.equal(frozen, torch.ones(2))
