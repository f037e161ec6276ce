"""PyTorch models. A config selects one by name (`cfg.model`):

    from models import build_model
    net = build_model(cfg)       # mdl_1_pt.Net(cfg) or mdl_2_pt.Net(cfg)

`models/keras/` holds the TensorFlow twin used for the TFLite export (imported separately).
"""
from __future__ import annotations

from types import SimpleNamespace

from torch import nn

from data.landmarks import SELECTED_LANDMARKS
from models import mdl_1_pt, mdl_2_pt

MODELS: dict[str, type[nn.Module]] = {"mdl_1_pt": mdl_1_pt.Net, "mdl_2_pt": mdl_2_pt.Net}


def build_model(cfg: SimpleNamespace, landmarks: list[str] = SELECTED_LANDMARKS) -> nn.Module:
    """Instantiate `MODELS[cfg.model]` (no file I/O); `landmarks` = the 130 names the data was built with."""
    if cfg.model not in MODELS:
        raise ValueError(f"cfg.model {cfg.model!r} is not one of {sorted(MODELS)}")
    return MODELS[cfg.model](cfg, landmarks)
