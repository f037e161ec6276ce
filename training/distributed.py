"""Single-process or `torchrun` DDP context (gloo on CPU, NCCL on GPUs).

    torchrun --nproc_per_node 2 train.py -C cfg_2 --fold -1

Only rank 0 logs and writes files. Validation runs on every rank through a non-shuffling DistributedSampler and
`gather_in_order` reassembles the predictions in data-set order on every rank, dropping the sampler's padding.
"""
from __future__ import annotations

import gc
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

DEVICE_CHOICES = ("auto", "cpu", "cuda")


@dataclass
class DistContext:
    """Where this process sits in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def resolve_device(choice: str, local_rank: int = 0) -> torch.device:
    """`auto` -> cuda:<local_rank> when available else cpu; `cuda` without a GPU is an error."""
    if choice not in DEVICE_CHOICES:
        raise ValueError(f"cfg.device={choice!r}; expected one of {DEVICE_CHOICES}")
    if choice == "cuda" and not torch.cuda.is_available():
        raise ValueError("cfg.device='cuda' but torch sees no CUDA device; use --device cpu or auto")
    if choice == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", local_rank)


def setup_distributed(device_choice: str) -> DistContext:
    """Read torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK) and join the process group if WORLD_SIZE > 1."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_choice, local_rank)
    if world_size > 1:
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank, device=device)


def wrap_model(model: torch.nn.Module, ctx: DistContext) -> torch.nn.Module:
    """DDP wrapper when distributed, the model itself otherwise."""
    if not ctx.distributed:
        return model
    device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The bare model inside a DDP wrapper (its state_dict has no `module.` prefix)."""
    return model.module if isinstance(model, DistributedDataParallel) else model


def broadcast_object(obj: Any, ctx: DistContext) -> Any:
    """Rank 0's `obj` on every rank."""
    if not ctx.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_gather_objects(obj: Any, ctx: DistContext) -> list[Any]:
    """`[obj of rank 0, obj of rank 1, ...]` on every rank."""
    if not ctx.distributed:
        return [obj]
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def gather_in_order(per_rank: dict[str, torch.Tensor], n_total: int, ctx: DistContext) -> dict[str, torch.Tensor]:
    """Re-interleave per-sample tensors of a non-shuffled DistributedSampler into data-set order, first n_total rows.

    Rank r holds samples r, r + W, r + 2W, ... of the padded index list, so row k of rank r is sample k * W + r.
    """
    if not ctx.distributed:
        return per_rank
    parts = all_gather_objects({k: v.cpu() for k, v in per_rank.items()}, ctx)
    out = {}
    for key in per_rank:
        stacked = torch.stack([p[key] for p in parts], dim=1)  # (n_per_rank, W, ...)
        out[key] = stacked.reshape(-1, *stacked.shape[2:])[:n_total]
    return out


def barrier(ctx: DistContext) -> None:
    """Wait for every rank (no-op in a single process)."""
    if ctx.distributed:
        dist.barrier()


def teardown(ctx: DistContext) -> None:
    """Collect garbage, then leave the process group.

    The caller must `del` its DDP model and optimiser first: destroying the group while a DDP reducer is alive can
    abort a rank at exit, which torchrun reports as a failure.
    """
    gc.collect()
    if ctx.distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
