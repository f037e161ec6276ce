"""Reading PyTorch files without running code (`torch.load(weights_only=True)`): model weights in the original's
and our checkpoint format (`load_state_dict_file`, `load_weights`), and any other file a run writes (`safe_load`:
val data, resume state).

Accepted weight files: a raw state dict, or `{'model': state_dict, ...}` (what train.py saves, as the original
did). Keys saved from a DistributedDataParallel model (`module.` prefix) are stripped.
"""
from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from common.errors import BadInputError, MissingInputError

DDP_PREFIX: str = "module."
CHECKPOINT_MODEL_KEY: str = "model"
READ_ERRORS = (RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError, pickle.UnpicklingError,
               zipfile.BadZipFile)  # KeyError/IndexError: what torch.load raises for a text or truncated file


def safe_load(path: str | Path, map_location: torch.device | str = "cpu") -> Any:
    """torch.load with weights_only=True (no code runs); errors name the file on one line."""
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"{path} does not exist")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except READ_ERRORS as e:
        first_line = (str(e).strip().splitlines() or [""])[0][:200]
        raise BadInputError(f"{path}: not a readable PyTorch file, or it holds more than tensors and plain values "
                            f"({type(e).__name__}: {first_line})") from e


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """State dict stored in `path` (on CPU), unwrapped from `{'model': ...}` and without `module.` prefixes.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: the file cannot be read by torch.load or holds no state dict.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file {path} does not exist")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except READ_ERRORS as e:
        raise ValueError(f"{path}: not a readable PyTorch checkpoint ({type(e).__name__}: {e})") from e
    if isinstance(obj, dict) and isinstance(obj.get(CHECKPOINT_MODEL_KEY), dict):
        obj = obj[CHECKPOINT_MODEL_KEY]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{path}: expected a state dict (name -> tensor) or {{'{CHECKPOINT_MODEL_KEY}': state_dict}}, "
                         f"got {type(obj).__name__}")
    return {k.removeprefix(DDP_PREFIX): v for k, v in obj.items()}


def load_weights(model: nn.Module, path: str | Path, strict: bool = True):
    """Load the checkpoint at `path` into `model`; returns `load_state_dict`'s missing/unexpected keys.

    Raises:
        FileNotFoundError / ValueError: as `load_state_dict_file`, or (ValueError) keys/shapes do not match.
    """
    state_dict = load_state_dict_file(path)
    try:
        return model.load_state_dict(state_dict, strict=strict)
    except RuntimeError as e:
        raise ValueError(f"{path}: weights do not fit {type(model).__module__}.{type(model).__name__}: {e}") from e
