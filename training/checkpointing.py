"""Output file names of a run, the final checkpoint and the periodic full (resumable) checkpoint."""
from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from training.seeding import RANDOM_SEED


def run_dir(cfg: SimpleNamespace) -> Path:
    """`{output_dir}/fold{fold}` (e.g. datamount/weights/cfg_2/fold-1)."""
    return Path(cfg.output_dir) / f"fold{cfg.fold}"


def checkpoint_path(cfg: SimpleNamespace) -> Path:
    """Final weights `{'model': state_dict}`."""
    return run_dir(cfg) / f"checkpoint_last_seed{cfg.seed}.pth"


def val_data_path(cfg: SimpleNamespace) -> Path:
    """Validation outputs (generated_ids, seq_len, aux_logits, per-batch losses)."""
    return run_dir(cfg) / f"val_data_seed{cfg.seed}.pth"


def resume_path(cfg: SimpleNamespace) -> Path:
    """Full training state for --resume."""
    return run_dir(cfg) / f"resume_seed{cfg.seed}.pth"


def config_path(cfg: SimpleNamespace) -> Path:
    """Resolved config (one per seed: round 2 puts two seeds into the same fold folder)."""
    return run_dir(cfg) / f"config_seed{cfg.seed}.json"


def atomic_save(obj: Any, path: str | Path) -> None:
    """torch.save to a temporary file in the same folder, then rename: a crash never leaves a truncated file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def seed_to_resume(cfg: SimpleNamespace) -> int:
    """The seed of the run to resume: cfg.seed, or with seed -1 the only `resume_seed*.pth` in the run folder."""
    if cfg.seed != RANDOM_SEED:
        return cfg.seed
    found = sorted(run_dir(cfg).glob("resume_seed*.pth"))
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        raise FileNotFoundError(f"--resume with --seed -1 needs exactly one resume_seed*.pth in {run_dir(cfg)} "
                                f"(found: {names}); pass --seed N")
    return int(found[0].stem.removeprefix("resume_seed"))


def load_resume(cfg: SimpleNamespace, map_location: torch.device | str = "cpu") -> dict[str, Any]:
    """Read the resume checkpoint of cfg.seed, with a clear error when it does not exist."""
    path = resume_path(cfg)
    if not path.exists():
        raise FileNotFoundError(f"--resume: no resume checkpoint {path}; the run wrote none yet "
                                f"(cfg.ckpt_every_epochs={cfg.ckpt_every_epochs}) or used another seed")
    return torch.load(path, map_location=map_location, weights_only=False)
