"""The post-processing thresholds an export bakes in: those its checkpoints were trained and validated with.

Validation (postprocess.confidence_fallback.pp_1 / pp_2) reads `cfg.max_len_for_dummy` (fewer raw frames give
the dummy phrase) and `cfg.pp_min_conf` (a lower sigmoid of the aux logit gives the dummy phrase). The TFLite graph
(inference.tflite_graph.InferenceModule) and its PyTorch twin (inference.torch_graph.predict_sequence) take the
same two numbers as arguments, so that `train.py --pp_min_conf 0.2` changes what is exported too.

Where the numbers come from, per checkpoint: the `config_seed{s}.json` that train.py wrote beside
`checkpoint_last_seed{s}.pth` (common.run_layout.config_of_checkpoint) is the config that checkpoint was trained
with, so it wins; a checkpoint without one (team weights, a renamed file) uses the -C config. Every checkpoint of an
ensemble must agree (one graph has one threshold): a disagreement is a ConflictError naming both sources.
TensorFlow- and torch-free.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from common.errors import BadInputError, ConflictError
from common.run_layout import config_of_checkpoint
from postprocess.confidence_fallback import MIN_CONFIDENCE, MIN_FRAMES

MIN_FRAMES_KEY, MIN_CONF_KEY = "max_len_for_dummy", "pp_min_conf"  # the config keys of pp_1 / pp_2


@dataclass(frozen=True)
class Thresholds:
    """Dummy-phrase fallback thresholds: fewer than `min_frames` raw frames, or sigmoid(aux) below `min_conf`."""

    min_frames: int = MIN_FRAMES
    min_conf: float = MIN_CONFIDENCE
    source: str = "postprocess.confidence_fallback defaults"


def config_thresholds(cfg: SimpleNamespace | dict, source: str) -> Thresholds:
    """The thresholds of a config (a loaded config or a config_seed*.json dict); missing keys keep the defaults."""
    get = cfg.get if isinstance(cfg, dict) else lambda key, default: getattr(cfg, key, default)
    return Thresholds(int(get(MIN_FRAMES_KEY, MIN_FRAMES)), float(get(MIN_CONF_KEY, MIN_CONFIDENCE)), source)


def checkpoint_thresholds(cfg: SimpleNamespace, checkpoint: str | Path) -> Thresholds:
    """One checkpoint's thresholds: its config_seed{s}.json when there is one, else the -C config `cfg`."""
    saved = config_of_checkpoint(checkpoint)
    if saved is None or not saved.is_file():
        return config_thresholds(cfg, f"config {cfg.name} (no saved config beside {Path(checkpoint).name})")
    try:
        return config_thresholds(json.loads(saved.read_text()), str(saved))
    except (OSError, ValueError, TypeError) as e:
        raise BadInputError(f"{saved}: not a readable config_seed*.json ({e})") from e


def trained_thresholds(cfg: SimpleNamespace, checkpoints: list[str | Path]) -> Thresholds:
    """The thresholds shared by every checkpoint (see the module docstring); ConflictError when two disagree."""
    found = [checkpoint_thresholds(cfg, path) for path in checkpoints]
    if not found:
        return config_thresholds(cfg, f"config {cfg.name}")
    first = found[0]
    for other in found[1:]:
        if (other.min_frames, other.min_conf) != (first.min_frames, first.min_conf):
            raise ConflictError(
                f"the checkpoints were trained with different post-processing thresholds: {first.source} has "
                f"{MIN_FRAMES_KEY}={first.min_frames}, {MIN_CONF_KEY}={first.min_conf}, {other.source} has "
                f"{MIN_FRAMES_KEY}={other.min_frames}, {MIN_CONF_KEY}={other.min_conf}; one exported graph has one "
                f"threshold: export checkpoints trained with the same values")
    return first
