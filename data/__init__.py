"""Data: tokenizer, landmarks, raw format, preparation, preprocessing, augmentations and the datasets.

`DATASETS` maps a config's `cfg.dataset` name to its dataset class. It is resolved lazily so that
`from data import tokenizer` (configs, preparation scripts) does not import torch.
"""
from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "DATASETS":
        from data import ds_1, ds_2

        return {"ds_1": ds_1.CustomDataset, "ds_2": ds_2.CustomDataset}
    raise AttributeError(f"module 'data' has no attribute {name!r}")
