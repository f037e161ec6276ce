"""Round-2 model (cfg_2, SPEC §5.4): five feature extractors -> Squeezeformer with rotary Llama attention ->
forward decoder + backward decoder on the time-reversed encoder output + confidence head on the first frame.

    net = Net(cfg)               # cfg = configs.load_config("cfg_2")
    out = net(batch)             # train: loss, loss_aux, loss_ce, loss_ce_bwd
    net.eval(); out = net(batch) # + generated_ids (B, 33), seq_len, aux_logits (B, 1)
    h = net(batch, debug=True)   # encoder output (B, L, D)
"""
from __future__ import annotations

from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

from data.landmarks import PART_NAMES, SELECTED_LANDMARKS, part_indices
from models.llama_attention import LlamaAttention
from models.decoder import TransformerDecoder, reversed_labels
from models.decoding import generate_ids
from models.feature_extractor import FeatureExtractor, normalize_parts
from models.rope import rotary_tables
from models.squeezeformer import encoder_from_cfg


class Net(nn.Module):
    """mdl_2_pt with the original's attribute names (state dict = SPEC Appendix A)."""

    def __init__(self, cfg: SimpleNamespace, landmarks: list[str] = SELECTED_LANDMARKS) -> None:
        super().__init__()
        dim, heads = cfg.encoder_dim, cfg.num_heads
        if dim % len(PART_NAMES):
            raise ValueError(f"encoder_dim {dim} must be divisible by the {len(PART_NAMES)} landmark parts")
        parts = part_indices(list(landmarks))
        self.feature_extractor = FeatureExtractor(len(landmarks), dim, cfg.stem_bn_momentum)
        for name in PART_NAMES:  # feature_extractor_lhand, _rhand, _face, _pose
            self.add_module(f"feature_extractor_{name}",
                            FeatureExtractor(len(parts[name]), dim // len(PART_NAMES), cfg.stem_bn_momentum))
            self.register_buffer(f"{name}_index", torch.tensor(parts[name]), persistent=False)
        # NOTE(original): frozen nn.Parameters there; persistent buffers here (same keys, not trainable).
        cos, sin = rotary_tables(dim // heads, cfg.max_len)
        self.register_buffer("cos", cos)
        self.register_buffer("sin", sin)
        self.encoder = encoder_from_cfg(cfg, lambda: LlamaAttention(dim, heads), "mhsa_llama")
        self.decoder = TransformerDecoder.from_cfg(cfg)
        self.decoder2 = TransformerDecoder.from_cfg(cfg)  # backward decoder (training only)
        self.aux_fc = nn.Linear(dim, 1)
        self.decoder_mask_aug = cfg.decoder_mask_aug
        self.aux_loss_weight = cfg.aux_loss_weight
        self.bwd_loss_weight = cfg.bwd_loss_weight
        self.return_aux_logits = cfg.return_aux_logits
        self.score_float32 = cfg.score_float32
        self.val_decoder = cfg.val_decoder
        if cfg.val_mode != "padded":
            raise ValueError(f"cfg.val_mode {cfg.val_mode!r} is not supported (only 'padded', as cfg_1/cfg_2)")

    def rope(self, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """cos/sin tables for positions 0..length-1."""
        if length > self.cos.shape[2]:
            raise ValueError(f"input has {length} frames; the rotary tables cover cfg.max_len={self.cos.shape[2]}")
        return self.cos[:, :, :length], self.sin[:, :, :length]

    def encode(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Landmarks `(B, L, 130, 3)` (globally normalised, padded) -> encoder output `(B, L, D)`."""
        parts = normalize_parts(x, {name: getattr(self, f"{name}_index") for name in PART_NAMES})
        part_features = [getattr(self, f"feature_extractor_{name}")(parts[name], valid) for name in PART_NAMES]
        # NOTE(original): the full-body extractor sees the globally normalised input, not the part-normalised one.
        h = self.feature_extractor(x, valid) + torch.cat(part_features, dim=-1)
        return self.encoder(h, valid, self.rope(x.shape[1]))

    def forward(self, batch: dict[str, torch.Tensor], debug: bool = False) -> dict[str, torch.Tensor] | torch.Tensor:
        """Batch contract of SPEC §5.4; returns the losses (+ eval outputs), or the encoder output if debug."""
        valid = batch["input_mask"].long().bool()
        h = self.encode(batch["input"], valid)
        if debug:
            return h
        aux_logits = self.aux_fc(h[:, 0])  # the first frame is always a valid one
        labels = batch["token_ids"]
        loss_ce = self.decoder.loss(h, valid, labels, self.decoder_mask_aug)
        # backward decoder: reversed phrase on the time-reversed encoder output (padding now at the start)
        loss_ce_bwd = self.decoder2.loss(h.flip(1), valid.flip(1), reversed_labels(labels, batch["attention_mask"]),
                                         self.decoder_mask_aug)
        score = batch["score"].float() if self.score_float32 else batch["score"]
        # NOTE(original): ds_2 yields a float64 score, so loss_aux and loss are float64 (Q19).
        loss_aux = F.binary_cross_entropy_with_logits(aux_logits, score.clamp(0, 1)[:, None])
        loss_ce_all = (1 - self.bwd_loss_weight) * loss_ce + self.bwd_loss_weight * loss_ce_bwd
        loss = (1 - self.aux_loss_weight) * loss_ce_all + self.aux_loss_weight * loss_aux
        out = {"loss": loss, "loss_aux": loss_aux, "loss_ce": loss_ce, "loss_ce_bwd": loss_ce_bwd}
        if not self.training:
            out["generated_ids"] = generate_ids(self.decoder, h, valid, self.val_decoder)
            out["seq_len"] = batch["seq_len"]
            if self.return_aux_logits:
                out["aux_logits"] = aux_logits
        return out
