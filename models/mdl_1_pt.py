"""Round-1 model (cfg_1, SPEC §5.5): feature extractor -> Squeezeformer with relative-position attention ->
decoder. No part extractors, rotary tables, backward decoder or confidence head.

    net = Net(cfg)               # cfg = configs.load_config("cfg_1")
    out = net(batch)             # train: loss (= loss_ce)
    net.eval(); out = net(batch) # + generated_ids (B, 33), seq_len
"""
from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn

from data.landmarks import SELECTED_LANDMARKS
from models.decoder import TransformerDecoder
from models.decoding import generate_ids
from models.feature_extractor import FeatureExtractor
from models.rel_attention import MultiHeadedSelfAttentionModule
from models.squeezeformer import encoder_from_cfg


class Net(nn.Module):
    """mdl_1_pt with the original's attribute names (state dict = SPEC Appendix B)."""

    def __init__(self, cfg: SimpleNamespace, landmarks: list[str] = SELECTED_LANDMARKS) -> None:
        super().__init__()
        dim = cfg.encoder_dim
        self.feature_extractor = FeatureExtractor(len(landmarks), dim, cfg.stem_bn_momentum)
        self.encoder = encoder_from_cfg(
            cfg, lambda: MultiHeadedSelfAttentionModule(dim, cfg.num_heads, cfg.attn_dropout), "mhsa")
        self.decoder = TransformerDecoder.from_cfg(cfg)
        self.decoder_mask_aug = cfg.decoder_mask_aug
        self.val_decoder = cfg.val_decoder
        if cfg.val_mode != "padded":
            raise ValueError(f"cfg.val_mode {cfg.val_mode!r} is not supported (only 'padded', as cfg_1/cfg_2)")

    def encode(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Landmarks `(B, L, 130, 3)` (globally normalised, padded) -> encoder output `(B, L, D)`."""
        return self.encoder(self.feature_extractor(x, valid), valid)

    def forward(self, batch: dict[str, torch.Tensor], debug: bool = False) -> dict[str, torch.Tensor] | torch.Tensor:
        """Batch contract of SPEC §5.4 (no score); returns the loss (+ eval outputs), or the encoder output."""
        valid = batch["input_mask"].long().bool()
        h = self.encode(batch["input"], valid)
        if debug:
            return h
        loss = self.decoder.loss(h, valid, batch["token_ids"], self.decoder_mask_aug)
        out = {"loss": loss, "loss_ce": loss}
        if not self.training:
            out["generated_ids"] = generate_ids(self.decoder, h, valid, self.val_decoder)
            out["seq_len"] = batch["seq_len"]
        return out
