"""Greedy decoding: the original's recompute-everything loop and a KV-cached loop with per-row early stop.

Both return ids `(B, 1 + MAX_DECODE_STEPS)` with column 0 = SOS. `cut_at_first_eos` turns them into the
original's eval `generated_ids (B, MAX_PHRASE_LEN)`; on that output the two decoders agree exactly (the cached
one computes the same per-row maths; rows never interact).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from data.tokenizer import EOS_ID, MAX_DECODE_STEPS, MAX_PHRASE_LEN, PAD_ID, SOS_ID, VOCAB_SIZE
from models.decoder import TransformerDecoder

# NOTE(original): `generate(max_new_tokens=34)` runs max_new_tokens - 1 = 33 steps after the SOS column.
MAX_NEW_TOKENS: int = MAX_DECODE_STEPS + 1
DECODERS: tuple[str, ...] = ("original", "cached")


def greedy_generate(decoder: TransformerDecoder, encoder_out: torch.Tensor, encoder_valid: torch.Tensor,
                    max_new_tokens: int = MAX_NEW_TOKENS) -> torch.Tensor:
    """The original `Decoder.generate`: full recompute every step, stops when every row holds an EOS.

    Returns `(B, <= max_new_tokens)`; rows keep generating after their own EOS until the batch stops.
    """
    ids = torch.full((encoder_out.shape[0], 1), SOS_ID, dtype=torch.long, device=encoder_out.device)
    for _ in range(max_new_tokens - 1):
        logits = decoder.logits(ids, encoder_out, encoder_valid)
        ids = torch.cat([ids, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
        if bool((ids == EOS_ID).any(1).all()):
            break
    return ids


@dataclass
class GreedyResult:
    """Cached greedy output: `ids (B, 1 + steps)` (SOS, tokens up to and including EOS, then PAD) and the
    logits of every step `(B, steps, VOCAB_SIZE)` (zeros after a row's EOS)."""

    ids: torch.Tensor
    logits: torch.Tensor


def greedy_generate_cached(decoder: TransformerDecoder, encoder_out: torch.Tensor, encoder_valid: torch.Tensor,
                           max_steps: int = MAX_DECODE_STEPS) -> GreedyResult:
    """KV-cached greedy decoding; a row stops at its EOS and finished rows leave the batch (no more work)."""
    b, device = encoder_out.shape[0], encoder_out.device
    ids = torch.full((b, max_steps + 1), PAD_ID, dtype=torch.long, device=device)
    ids[:, 0] = SOS_ID
    step_logits = encoder_out.new_zeros(b, max_steps, VOCAB_SIZE, dtype=torch.float32)
    rows = torch.arange(b, device=device)
    tokens = ids[:, 0]
    cache = decoder.start_cache(encoder_out, encoder_valid)
    for t in range(max_steps):
        logits, cache = decoder.step(tokens, cache)
        tokens = logits.argmax(-1)
        ids[rows, t + 1] = tokens
        step_logits[rows, t] = logits.float()
        running = tokens != EOS_ID
        if not bool(running.all()):
            rows, tokens, cache = rows[running], tokens[running], cache.select(running)
            if rows.numel() == 0:
                break
    return GreedyResult(ids, step_logits)


def cut_at_first_eos(ids: torch.Tensor, width: int = MAX_PHRASE_LEN) -> torch.Tensor:
    """The original's eval `generated_ids`: `(B, width)` PAD, then `ids[i, :c_i]` with c_i = first EOS column.

    NOTE(original): a row without EOS gets c_i = 0 and becomes all PAD (its SOS too); column 0 keeps the SOS;
    c_i is clamped to `width`, so at most width - 1 characters survive (Q9).
    """
    is_eos = ids == EOS_ID
    first_eos = is_eos.int().argmax(1).clamp(max=width)  # argmax = first maximum, 0 when there is no EOS
    padded = ids.new_full((ids.shape[0], width), PAD_ID)
    n = min(width, ids.shape[1])
    padded[:, :n] = ids[:, :n]
    keep = torch.arange(width, device=ids.device)[None] < first_eos[:, None]
    return torch.where(keep, padded, PAD_ID)


def generate_ids(decoder: TransformerDecoder, encoder_out: torch.Tensor, encoder_valid: torch.Tensor,
                 method: str = "original") -> torch.Tensor:
    """Eval `generated_ids (B, MAX_PHRASE_LEN)` with the chosen greedy decoder (`cfg.val_decoder`)."""
    if method == "original":
        ids = greedy_generate(decoder, encoder_out, encoder_valid)
    elif method == "cached":
        ids = greedy_generate_cached(decoder, encoder_out, encoder_valid).ids
    else:
        raise ValueError(f"cfg.val_decoder must be one of {DECODERS}, got {method!r}")
    return cut_at_first_eos(ids)
