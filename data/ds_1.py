"""Round-1 dataset (cfg_1, SPEC §3.2): competition rows only, no quality score.

    CustomDataset(df, cfg, aug=build_train_aug(cfg), mode="train")   # or mode="val" / "test"
"""
from data.dataset import FingerspellingDataset, seed_worker

__all__ = ["CustomDataset", "seed_worker"]


class CustomDataset(FingerspellingDataset):
    """The original's `ds_1.CustomDataset`: see data.dataset.FingerspellingDataset."""
