"""One training epoch and one validation pass of the original train.py (SPEC §6, §7).

Scoring the validation outputs (post-processing, metrics) is metrics/validation.py.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import torch
from tqdm import tqdm

from common.errors import DivergedError
from postprocess.confidence_fallback import decode_batch
from training.distributed import DistContext, all_gather_objects, gather_in_order, unwrap
from training.logger import RunLogger
from training.optim import clip_gradients, step_scheduler

LOG = logging.getLogger(__name__)
AMP_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass
class TrainState:
    """Progress counters saved in the resume checkpoint."""

    epoch: int = 0  # epochs completed
    iteration: int = 0  # mini-batches seen over the whole run (the original's never-reset counter `i`)
    nonfinite_in_row: int = 0  # consecutive batches with a NaN/inf loss (not saved: a resume starts at 0)


@dataclass
class Precision:
    """Autocast settings: AMP only on CUDA; a GradScaler only for float16 (disabled scalers are no-ops)."""

    enabled: bool
    dtype: torch.dtype
    scaler: torch.amp.GradScaler

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager:
        return torch.autocast(device_type=device.type, dtype=self.dtype, enabled=self.enabled)


def build_precision(cfg: SimpleNamespace, device: torch.device) -> Precision:
    """cfg.mixed_precision + cfg.amp_dtype on CUDA; full fp32 on CPU."""
    if cfg.amp_dtype not in AMP_DTYPES:
        raise ValueError(f"cfg.amp_dtype={cfg.amp_dtype!r}; expected one of {tuple(AMP_DTYPES)}")
    enabled = bool(cfg.mixed_precision) and device.type == "cuda"
    dtype = AMP_DTYPES[cfg.amp_dtype]
    scaler = torch.amp.GradScaler(device.type, enabled=enabled and dtype == torch.float16)
    return Precision(enabled=enabled, dtype=dtype, scaler=scaler)


def batch_to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """Move every tensor of a batch to `device`."""
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


# Under fp16 + GradScaler an overflowing batch is normal (the scaler skips the step and lowers the scale); this many
# non-finite losses in a row mean the run diverged. Without a scaler (fp32, bf16) the first one stops the run,
# before its backward pass could put NaN into the weights.
MAX_NONFINITE_LOSSES_WITH_SCALER = 10


def check_finite_loss(loss: torch.Tensor, batch: dict[str, Any], precision: Precision, state: TrainState,
                      batch_in_epoch: int) -> None:
    """Count consecutive non-finite losses; DivergedError (naming the step and the batch) past the limit."""
    loss = loss.detach()
    if bool(torch.isfinite(loss).all()):
        state.nonfinite_in_row = 0
        return
    state.nonfinite_in_row += 1
    limit = MAX_NONFINITE_LOSSES_WITH_SCALER if precision.scaler.is_enabled() else 1
    where = (f"epoch {state.epoch + 1}, iteration {state.iteration} (batch {batch_in_epoch} of the epoch; "
             f"its phrases {decode_batch(batch['token_ids'].cpu().numpy())[:8]}, frames "
             f"{batch['seq_len'].tolist()[:8]})")
    if state.nonfinite_in_row < limit:
        LOG.warning("non-finite loss %s at %s (%d in a row; the scaler skips it)", float(loss), where,
                    state.nonfinite_in_row)
        return
    raise DivergedError(f"training loss is {float(loss)} at {where}, {state.nonfinite_in_row} non-finite loss(es) "
                        f"in a row; stopped without writing the weights (the last good checkpoint and resume file "
                        f"are kept): check the data or lower --lr, then --resume")


def train_one_epoch(model: torch.nn.Module, loader, optimizer: torch.optim.Optimizer, scheduler,
                    precision: Precision, state: TrainState, cfg: SimpleNamespace, ctx: DistContext,
                    logger: RunLogger) -> float:
    """Gradient accumulation over the global counter, clip, optimiser step; the LR schedule steps every batch.

    Returns the mean training loss of the epoch (this rank's batches).

    NOTE(original): train.py steps on `i % grad_accumulation == 0` with `i` never reset, so accumulation windows
    straddle epochs and gradients left at the very end are discarded (Q17).
    """
    model.train()
    samples_per_iteration = cfg.batch_size * ctx.world_size
    bar = tqdm(loader, desc=f"epoch {state.epoch + 1}/{cfg.epochs}", disable=(not ctx.is_main) or None, leave=False,
               dynamic_ncols=True)
    total, n_batches = 0.0, 0
    for batch in bar:
        state.iteration += 1
        optimizer_step = state.iteration % cfg.grad_accumulation == 0
        batch = batch_to_device(batch, ctx.device)
        no_sync = model.no_sync() if ctx.distributed and not optimizer_step else contextlib.nullcontext()
        with no_sync:
            with precision.autocast(ctx.device):
                outputs = model(batch)
            check_finite_loss(outputs["loss"], batch, precision, state, n_batches + 1)
            precision.scaler.scale(outputs["loss"] / cfg.grad_accumulation).backward()
        grad_norm = None
        if optimizer_step:
            precision.scaler.unscale_(optimizer)
            grad_norm = clip_gradients(model, cfg.clip_grad)
            precision.scaler.step(optimizer)
            precision.scaler.update()
            optimizer.zero_grad()
        values = {k: v.item() for k, v in outputs.items() if "loss" in k}
        if grad_norm is not None:
            values["grad_norm"] = grad_norm.item()  # before clipping (unscaled)
        values["lr"] = optimizer.param_groups[0]["lr"]
        step_scheduler(scheduler)
        logger.log("train", values, epoch=state.epoch, iteration=state.iteration,
                   step=state.iteration * samples_per_iteration)
        bar.set_postfix(loss=f"{values['loss']:.3f}", lr=f"{values['lr']:.2e}")
        total, n_batches = total + values["loss"], n_batches + 1
    return total / max(1, n_batches)


def _collate_outputs(outputs: list[dict[str, torch.Tensor]]) -> tuple[dict, dict]:
    """Split per-batch model outputs into per-batch scalars (stacked) and per-sample tensors (concatenated)."""
    keys = [k for k, v in outputs[0].items() if torch.is_tensor(v)]
    scalars = {k: torch.stack([o[k] for o in outputs]) for k in keys if outputs[0][k].dim() == 0}
    samples = {k: torch.cat([o[k] for o in outputs]) for k in keys if outputs[0][k].dim() > 0}
    return scalars, samples


@torch.no_grad()
def validate(model: torch.nn.Module, loader, precision: Precision, ctx: DistContext) -> dict[str, torch.Tensor]:
    """Eval-mode outputs of the whole validation set, in data-set order, on CPU.

    Per-sample outputs (`generated_ids (N,33)`, `seq_len (N,)`, `aux_logits (N,1)`) are concatenated; 0-d outputs
    (the losses) become per-batch vectors, as the original's val_data. Under DDP every rank runs its shard and the
    shards are re-interleaved (sampler padding dropped).
    """
    net = unwrap(model)
    net.eval()
    outputs = []
    for batch in tqdm(loader, desc="validation", disable=(not ctx.is_main) or None, leave=False, dynamic_ncols=True):
        with precision.autocast(ctx.device):
            out = net(batch_to_device(batch, ctx.device))
        outputs.append({k: v.detach().cpu() for k, v in out.items() if torch.is_tensor(v)})
    scalars, samples = _collate_outputs(outputs)
    samples = gather_in_order(samples, len(loader.dataset), ctx)
    if ctx.distributed:
        scalars = {k: torch.cat([s[k] for s in all_gather_objects(scalars, ctx)]) for k in scalars}
    return {**samples, **scalars}
