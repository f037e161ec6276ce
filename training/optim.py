"""Optimiser and learning-rate schedule of the original train.py (SPEC §6, Q17, Q18)."""
from __future__ import annotations

import math
import warnings
from types import SimpleNamespace

import torch

COSINE_HALF_CYCLE = 0.5  # transformers' default num_cycles: decay from 1 to 0 over one half cosine period


class WarmupCosine:
    """LR multiplier of `transformers.get_cosine_schedule_with_warmup`, as a picklable callable for LambdaLR.

    `step / warmup_steps` during warm-up (0 at step 0), then `max(0, 0.5 * (1 + cos(pi * 2 * num_cycles * p)))`
    with `p = (step - warmup_steps) / max(1, total_steps - warmup_steps)`.
    """

    def __init__(self, warmup_steps: int, total_steps: int, num_cycles: float = COSINE_HALF_CYCLE):
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.num_cycles = num_cycles

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return step / max(1, self.warmup_steps)
        progress = (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 2.0 * self.num_cycles * progress)))


def scheduler_steps_per_epoch(n_train: int, batch_size: int, world_size: int = 1) -> int:
    """`N // (batch_size * world_size)` as the original's `N // 64` (SPEC §6), at least 1 for tiny data sets.

    NOTE(original): train.py:get_scheduler counts `N // batch` steps per epoch while an epoch runs `ceil(N / batch)`
    iterations, so the schedule slightly overshoots its end (Q17); kept.
    """
    return max(1, n_train // (batch_size * world_size))


def build_optimizer(model: torch.nn.Module, cfg: SimpleNamespace) -> torch.optim.AdamW:
    """AdamW over every parameter with one group, so weight decay also hits norms, biases and embeddings.

    NOTE(original): train.py passes `model.parameters()` unfiltered (Q18); frozen tensors never get a gradient
    and AdamW skips them.
    """
    return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: SimpleNamespace, n_train: int,
                    world_size: int = 1) -> torch.optim.lr_scheduler.LambdaLR:
    """Cosine schedule with `cfg.warmup_epochs` of linear warm-up, to be stepped after EVERY mini-batch.

    NOTE(original): stepped per iteration, not per optimiser step (every `grad_accumulation` iterations), so the
    first optimiser step uses `(grad_accumulation - 1) / W` of the peak LR (Q17).
    """
    per_epoch = scheduler_steps_per_epoch(n_train, cfg.batch_size, world_size)
    multiplier = WarmupCosine(cfg.warmup_epochs * per_epoch, cfg.epochs * per_epoch)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, multiplier)


def clip_gradients(model: torch.nn.Module, max_norm: float) -> torch.Tensor:
    """Clip the total gradient norm to `max_norm` and return the norm before clipping (a 0-d tensor).

    NOTE(original): `clip_grad <= 0` means no clipping (train.py clips only when `cfg.clip_grad > 0`); the norm is
    then still computed, for logging, and no gradient changes.
    """
    if max_norm > 0:
        return torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    return torch.nn.utils.get_total_norm([p.grad for p in model.parameters() if p.grad is not None])


def step_scheduler(scheduler: torch.optim.lr_scheduler.LRScheduler) -> None:
    """scheduler.step() without PyTorch's warning about stepping before the first optimiser step.

    NOTE(original): with gradient accumulation the schedule steps grad_accumulation - 1 times before the first
    optimiser step (Q17), which is what that warning is about.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)` before")
        scheduler.step()
