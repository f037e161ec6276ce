"""Model configs at test size for the PyTorch model tests."""
from __future__ import annotations

from types import SimpleNamespace

from configs import load_config


def tiny_cfg(name: str, **overrides) -> SimpleNamespace:
    """`name`'s config at test size (width 32, 2 blocks, small decoder FFN)."""
    cfg = load_config(name)
    cfg.encoder_dim, cfg.num_layers, cfg.decoder_ffn_dim, cfg.conv_kernel_size = 32, 2, 64, 7
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg
