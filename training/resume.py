"""Resuming a run and guarding its folder: which resume checkpoint to read, reading and checking it against the
new config, carrying the new schedule over, and the run lock. The file names come from common.run_layout.

Every file is written atomically (`common.atomic.torch_save_atomic`) and read with `torch.load(weights_only=True)`
(`models.weights.safe_load`): a crafted .pth cannot run code. The resume state therefore holds only tensors and
plain Python values (see training.seeding.collect_rng_states).
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from common.atomic import pid_alive
from common.errors import BadInputError, ConflictError, MissingInputError
from common.run_layout import RESUME_GLOB, resume_path, run_dir, seed_of_resume
from models.weights import safe_load
from training.seeding import RANDOM_SEED

LOG = logging.getLogger(__name__)
RESUME_KEYS = ("model", "optimizer", "scheduler", "scaler", "epoch", "iteration", "rng_states", "config")
# Keys that may differ between a run and its --resume without changing what is computed.
RESUME_FREE_KEYS = frozenset({"resume", "resume_allow_changes"})


def seed_to_resume(cfg: SimpleNamespace) -> int:
    """The seed of the run to resume: cfg.seed, or with seed -1 the only `resume_seed*.pth` in the run folder."""
    if cfg.seed != RANDOM_SEED:
        return cfg.seed
    found = sorted(run_dir(cfg).glob(RESUME_GLOB))
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        raise MissingInputError(f"--resume with --seed -1 needs exactly one {RESUME_GLOB} in {run_dir(cfg)} "
                                f"(found: {names}); pass --seed N")
    return seed_of_resume(found[0])


def load_resume(cfg: SimpleNamespace, map_location: torch.device | str = "cpu") -> dict[str, Any]:
    """Read the resume checkpoint of cfg.seed, with a clear error when it does not exist."""
    path = resume_path(cfg)
    if not path.exists():
        raise MissingInputError(f"--resume: no resume checkpoint {path}; the run wrote none yet "
                                f"(cfg.ckpt_every_epochs={cfg.ckpt_every_epochs}) or used another seed")
    saved = safe_load(path, map_location)
    missing = [k for k in RESUME_KEYS if not isinstance(saved, dict) or k not in saved]
    if missing:
        raise BadInputError(f"{path}: not a resume checkpoint of this version (missing {missing})")
    return saved


def config_changes(saved: dict[str, Any], new: dict[str, Any], allowed: set[str]) -> list[str]:
    """Keys whose value differs between the saved and the new config (both `config_to_dict`), minus `allowed`."""
    keys = (saved.keys() | new.keys()) - RESUME_FREE_KEYS - allowed
    return sorted(k for k in keys if saved.get(k, "<absent>") != new.get(k, "<absent>"))


def check_resume_config(saved: dict[str, Any], new: dict[str, Any], allowed: set[str], path: Path) -> None:
    """Refuse a --resume whose config differs from the interrupted run's, unless every change is allowed."""
    changed = config_changes(saved, new, allowed)
    if changed:
        shown = ", ".join(f"{k}: {saved.get(k, '<absent>')!r} -> {new.get(k, '<absent>')!r}" for k in changed[:8])
        more = f" (+{len(changed) - 8} more)" if len(changed) > 8 else ""
        raise ConflictError(f"--resume: the config differs from the one saved in {path}: {shown}{more}; resume "
                            f"with the same values, or accept them with --resume_allow_changes {','.join(changed)}")


def apply_new_schedule(scheduler, optimizer: torch.optim.Optimizer, new_schedule: dict[str, Any],
                       cfg: SimpleNamespace) -> None:
    """After loading a resume state: keep its position (step count) but use this run's schedule parameters
    (peak lr, warm-up and total steps of the LambdaLR multiplier) and weight decay, so that an accepted
    `--resume_allow_changes lr,epochs,...` really changes what is trained."""
    scheduler.base_lrs = list(new_schedule["base_lrs"])
    for multiplier, params in zip(scheduler.lr_lambdas, new_schedule["lr_lambdas"]):
        if params is not None:
            multiplier.__dict__.update(params)
    for group, base_lr in zip(optimizer.param_groups, scheduler.base_lrs):
        group["initial_lr"] = base_lr
        group["weight_decay"] = cfg.weight_decay
        group["lr"] = base_lr * scheduler.lr_lambdas[0](scheduler.last_epoch)


class RunLock:
    """An exclusive lock on a run's (fold, seed) in its folder, holding the owner's PID, host and start time.

    `fcntl.flock` is released by the kernel when the owner dies, so the lock file of a killed run is taken over
    (with a warning naming the dead PID); a live owner makes `acquire` raise ConflictError.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.fd: int | None = None

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConflictError(f"{self.path.parent} is in use by another run of this seed ({self.owner()}); "
                                f"wait for it, stop it, or use another --seed / --output_dir") from None
        previous = self.owner()
        if previous != "unknown":
            LOG.warning("taking over the stale lock %s of a run that is gone (%s)", self.path, previous)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "started": time.strftime("%Y-%m-%d %H:%M:%S")}).encode())
        os.fsync(fd)
        self.fd = fd
        return self

    def owner(self) -> str:
        """'pid N on HOST since TIME (alive|dead)' from the lock file, or 'unknown'."""
        try:
            info = json.loads(self.path.read_text() or "{}")
            state = "alive" if info.get("host") != socket.gethostname() or pid_alive(int(info["pid"])) else "dead"
            return f"pid {info['pid']} on {info['host']} since {info['started']}, {state}"
        except (OSError, ValueError, KeyError):
            return "unknown"

    def release(self) -> None:
        """Empty the lock file and unlock (the file stays: unlinking it would let two runs lock two inodes)."""
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
