"""Seeds and random-generator states (SPEC §6 "Seed")."""
from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch

SEED_RANGE = 1_000_000  # NOTE(original): train.py draws np.random.randint(1_000_000) when cfg.seed == -1
RANDOM_SEED = -1


def draw_seed() -> int:
    """A fresh seed in [0, 1e6) from OS entropy (the value of `cfg.seed = -1`)."""
    return int(np.random.default_rng().integers(SEED_RANGE))


def set_seed(seed: int) -> None:
    """Seed python, PYTHONHASHSEED, numpy and torch (CPU and CUDA), as the original's set_seed.

    NOTE(original): cudnn.benchmark=True / deterministic=False, so GPU runs are not bit-reproducible.
    """
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    torch.backends.cudnn.deterministic = False
    torch.backends.cudnn.benchmark = True


def collect_rng_states(dataset: Any = None) -> dict[str, Any]:
    """Every random state a training step can consume: python, numpy, torch CPU/CUDA and the data set's `rng`.

    Only plain values (ints, tuples, lists, dicts, tensors), so a resume file loads with `weights_only=True`:
    numpy's legacy state array becomes an int64 tensor.
    """
    name, keys, pos, has_gauss, cached = np.random.get_state()
    states: dict[str, Any] = {"python": random.getstate(),
                              "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss),
                                        float(cached)],
                              "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    if isinstance(getattr(dataset, "rng", None), np.random.Generator):
        states["dataset"] = dataset.rng.bit_generator.state
    return states


def restore_rng_states(states: dict[str, Any], dataset: Any = None) -> None:
    """Inverse of collect_rng_states (CUDA states only when this machine has the same devices)."""
    random.setstate(states["python"])
    name, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available() and len(states["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(states["cuda"])
    if "dataset" in states and isinstance(getattr(dataset, "rng", None), np.random.Generator):
        dataset.rng.bit_generator.state = states["dataset"]
