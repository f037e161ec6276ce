"""Round-2 dataset (cfg_2, SPEC §3.3): OOF quality scores and one recording per supplemental phrase per epoch.

    CustomDataset(df, cfg, aug=build_train_aug(cfg), mode="train")   # df = train_folded_oof_supp.csv rows
"""
from data.dataset import ScoredFingerspellingDataset, seed_worker

__all__ = ["CustomDataset", "seed_worker"]


class CustomDataset(ScoredFingerspellingDataset):
    """The original's `ds_2.CustomDataset`: see data.dataset.ScoredFingerspellingDataset."""
