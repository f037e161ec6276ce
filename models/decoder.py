"""Speech2Text-style transformer decoder + lm_head (SPEC §5.1-5.2, §5.6-5.7), with a KV-cached step.

Our own implementation of transformers 4.32's `Speech2TextDecoder` maths and state-dict names (`embed_tokens`,
`embed_positions.weights`, `layers.N.{self_attn, encoder_attn}.{k,v,q,out}_proj`, `*_layer_norm`, `fc1`,
`fc2`, `layer_norm`): pre-LN layers, BART attention, sinusoidal positions with the padding-index offset,
embedding scale sqrt(d). The position table is a persistent buffer, so original checkpoints load strictly
(transformers 5.x keeps it non-persistent).

Position ids: token k of a row gets `PAD_ID + (number of non-PAD tokens among tokens 0..k)`, a PAD token gets
`PAD_ID` (the zero row). The cached step tracks the running count, so it reproduces this exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

from data.tokenizer import MASK_ID, PAD_ID, SOS_ID, VOCAB_SIZE
from models.attention import attend, head_dim, key_padding_bias, merge_heads, split_heads
from models.fused import Dropout

POSITION_TABLE_EXTRA_ROWS: int = 2  # HF Speech2Text allocates max_target_positions + 2 rows ("offset")
SINUSOID_BASE: float = 10000.0
KV = tuple[torch.Tensor, torch.Tensor]


def sinusoidal_table(num_positions: int, dim: int, padding_idx: int) -> torch.Tensor:
    """`(num_positions, dim)`: first half `sin(p w_k)`, second half `cos(p w_k)`, `w_k = 10000^(-k/(dim/2-1))`."""
    half = dim // 2
    freq = torch.exp(torch.arange(half, dtype=torch.float) * -(math.log(SINUSOID_BASE) / (half - 1)))
    angles = torch.arange(num_positions, dtype=torch.float)[:, None] * freq[None]
    table = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    if dim % 2:
        table = torch.cat([table, torch.zeros(num_positions, 1)], dim=1)
    table[padding_idx] = 0
    return table


def position_ids(input_ids: torch.Tensor, start_count: torch.Tensor | None = None) -> torch.Tensor:
    """`PAD_ID + running count of non-PAD tokens` (PAD tokens -> PAD_ID); `start_count (B,)` = tokens before."""
    not_pad = input_ids.ne(PAD_ID).long()
    count = torch.cumsum(not_pad, dim=1)
    if start_count is not None:
        count = count + start_count[:, None]
    return count * not_pad + PAD_ID


class SinusoidalPositionalEmbedding(nn.Module):
    """Frozen sinusoid table `weights` (a persistent buffer under the original's key), indexed by position id."""

    def __init__(self, num_positions: int, dim: int, padding_idx: int) -> None:
        super().__init__()
        self.register_buffer("weights", sinusoidal_table(num_positions, dim, padding_idx))

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        """`(B, S)` position ids -> `(B, S, dim)`."""
        return self.weights[positions]


class BartAttention(nn.Module):
    """Multi-head attention with biased k/v/q/out projections, q scaled by dh^-0.5, dropout on the weights."""

    def __init__(self, dim: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        head_dim(dim, num_heads, "encoder_dim / decoder_heads")
        self.num_heads = num_heads
        self.dropout_p = dropout
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.q_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def key_values(self, states: torch.Tensor) -> KV:
        """Keys and values `(B, H, S, dh)` of `states (B, S, D)`."""
        return split_heads(self.k_proj(states), self.num_heads), split_heads(self.v_proj(states), self.num_heads)

    def forward(self, h: torch.Tensor, kv: KV, key_valid: torch.Tensor | None = None,
                is_causal: bool = False) -> torch.Tensor:
        """Queries of `h (B, S, D)` attend to `kv`, hiding keys where `key_valid (B, S_kv)` is False."""
        q = split_heads(self.q_proj(h), self.num_heads)
        k, v = kv
        bias = None if key_valid is None else key_padding_bias(key_valid, q.dtype)
        out = attend(q, k.to(q.dtype), v.to(q.dtype), bias, is_causal=is_causal,
                     dropout_p=self.dropout_p if self.training else 0.0)
        return self.out_proj(merge_heads(out))


class DecoderLayer(nn.Module):
    """Pre-LN layer: causal self-attention, cross-attention, ReLU FFN; dropout after each (SPEC §5.2)."""

    def __init__(self, dim: int, num_heads: int, ffn_dim: int, dropout: float, attention_dropout: float,
                 activation_dropout: float) -> None:
        super().__init__()
        self.dropout = Dropout(dropout)
        self.activation_dropout = Dropout(activation_dropout)
        self.self_attn = BartAttention(dim, num_heads, attention_dropout)
        self.self_attn_layer_norm = nn.LayerNorm(dim)
        self.encoder_attn = BartAttention(dim, num_heads, attention_dropout)
        self.encoder_attn_layer_norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, ffn_dim)
        self.fc2 = nn.Linear(ffn_dim, dim)
        self.final_layer_norm = nn.LayerNorm(dim)

    def forward(self, h: torch.Tensor, cross_kv: KV, encoder_valid: torch.Tensor,
                past_kv: KV | None = None) -> tuple[torch.Tensor, KV]:
        """h `(B, S, D)`; without `past_kv` the S tokens attend causally to each other, with it (cached step,
        S = 1) to the cached tokens and themselves. Returns the new hidden states and the self-attention kv."""
        x = self.self_attn_layer_norm(h)
        kv = self.self_attn.key_values(x)
        if past_kv is not None:
            kv = (torch.cat([past_kv[0], kv[0].to(past_kv[0].dtype)], dim=2),
                  torch.cat([past_kv[1], kv[1].to(past_kv[1].dtype)], dim=2))
        h = h + self.dropout(self.self_attn(x, kv, is_causal=past_kv is None and h.shape[1] > 1))
        x = self.encoder_attn_layer_norm(h)
        h = h + self.dropout(self.encoder_attn(x, cross_kv, encoder_valid))
        x = self.final_layer_norm(h)
        h = h + self.dropout(self.fc2(self.activation_dropout(F.relu(self.fc1(x)))))
        return h, kv


@dataclass
class DecoderCache:
    """State of a cached greedy decode: per-layer self/cross keys and values, encoder mask, non-PAD counts."""

    self_kv: list[KV]
    cross_kv: list[KV]
    encoder_valid: torch.Tensor  # (B, L) bool
    n_tokens: torch.Tensor  # (B,) int64: non-PAD tokens fed so far

    def select(self, rows: torch.Tensor) -> DecoderCache:
        """Keep only `rows` (bool mask or indices) of the batch."""
        def pick(kvs: list[KV]) -> list[KV]:
            return [(k[rows], v[rows]) for k, v in kvs]
        return DecoderCache(pick(self.self_kv), pick(self.cross_kv), self.encoder_valid[rows], self.n_tokens[rows])


class Speech2TextDecoder(nn.Module):
    """Embeddings + pre-LN layers + final LayerNorm; returns hidden states (the original's `decoder.decoder`)."""

    def __init__(self, dim: int, num_layers: int, num_heads: int, ffn_dim: int, max_positions: int,
                 dropout: float, attention_dropout: float, activation_dropout: float) -> None:
        super().__init__()
        self.dropout = Dropout(dropout)
        self.embed_scale = math.sqrt(dim)
        self.embed_tokens = nn.Embedding(VOCAB_SIZE, dim, padding_idx=PAD_ID)
        self.embed_positions = SinusoidalPositionalEmbedding(max_positions + POSITION_TABLE_EXTRA_ROWS, dim, PAD_ID)
        self.layers = nn.ModuleList(
            DecoderLayer(dim, num_heads, ffn_dim, dropout, attention_dropout, activation_dropout)
            for _ in range(num_layers))
        self.layer_norm = nn.LayerNorm(dim)

    def embed(self, input_ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """`embed_scale * E[ids] + P[positions]`, then dropout."""
        return self.dropout(self.embed_tokens(input_ids) * self.embed_scale + self.embed_positions(positions))

    def cross_key_values(self, encoder_hidden_states: torch.Tensor) -> list[KV]:
        """Per-layer cross-attention keys/values of the encoder output (computed once per decode)."""
        return [layer.encoder_attn.key_values(encoder_hidden_states) for layer in self.layers]

    def forward(self, input_ids: torch.Tensor, encoder_hidden_states: torch.Tensor,
                encoder_valid: torch.Tensor) -> torch.Tensor:
        """Teacher-forced pass: ids `(B, S)`, encoder `(B, L, D)`, encoder_valid `(B, L)` bool -> `(B, S, D)`."""
        h = self.embed(input_ids, position_ids(input_ids))
        for layer, cross_kv in zip(self.layers, self.cross_key_values(encoder_hidden_states)):
            h, _ = layer(h, cross_kv, encoder_valid)
        return self.layer_norm(h)

    def start_cache(self, encoder_hidden_states: torch.Tensor, encoder_valid: torch.Tensor) -> DecoderCache:
        """An empty cache for a cached decode over this encoder output."""
        b = encoder_hidden_states.shape[0]
        empty = encoder_hidden_states.new_zeros(b, 0, encoder_hidden_states.shape[-1])
        return DecoderCache(self_kv=[layer.self_attn.key_values(empty) for layer in self.layers],
                            cross_kv=self.cross_key_values(encoder_hidden_states),
                            encoder_valid=encoder_valid,
                            n_tokens=torch.zeros(b, dtype=torch.long, device=encoder_hidden_states.device))

    def step(self, tokens: torch.Tensor, cache: DecoderCache) -> tuple[torch.Tensor, DecoderCache]:
        """Feed one token per row (`tokens (B,)`); returns hidden `(B, D)` and the extended cache."""
        ids = tokens[:, None]
        h = self.embed(ids, position_ids(ids, cache.n_tokens))
        self_kv = []
        for layer, past, cross_kv in zip(self.layers, cache.self_kv, cache.cross_kv):
            h, kv = layer(h, cross_kv, cache.encoder_valid, past_kv=past)
            self_kv.append(kv)
        n_tokens = cache.n_tokens + tokens.ne(PAD_ID).long()
        return self.layer_norm(h)[:, 0], DecoderCache(self_kv, cache.cross_kv, cache.encoder_valid, n_tokens)


class TransformerDecoder(nn.Module):
    """`decoder` (Speech2TextDecoder) + `lm_head` (no bias): the original's `Decoder` wrapper."""

    def __init__(self, dim: int, num_layers: int, num_heads: int, ffn_dim: int, max_positions: int,
                 dropout: float, attention_dropout: float, activation_dropout: float, init_std: float) -> None:
        super().__init__()
        self.init_std = init_std
        self.decoder = Speech2TextDecoder(dim, num_layers, num_heads, ffn_dim, max_positions, dropout,
                                          attention_dropout, activation_dropout)
        # NOTE(original): HF's post_init re-initialises the decoder (N(0, init_std)) after its modules drew
        # their default initialisation; lm_head, created afterwards, keeps PyTorch's default.
        self.decoder.apply(self._init_weights)
        self.lm_head = nn.Linear(dim, VOCAB_SIZE, bias=False)

    @classmethod
    def from_cfg(cls, cfg: SimpleNamespace) -> TransformerDecoder:
        """Decoder of width `cfg.encoder_dim` with the `cfg.decoder_*` settings (SPEC §5.6)."""
        return cls(cfg.encoder_dim, cfg.decoder_layers, cfg.decoder_heads, cfg.decoder_ffn_dim,
                   cfg.decoder_max_positions, cfg.decoder_dropout, cfg.decoder_attention_dropout,
                   cfg.decoder_activation_dropout, cfg.decoder_init_std)

    def _init_weights(self, module: nn.Module) -> None:
        """HF Speech2Text `_init_weights`: Linear/Embedding N(0, init_std), zero biases and padding row."""
        if isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=self.init_std)
            if module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.data.normal_(mean=0.0, std=self.init_std)
            if module.padding_idx is not None:
                module.weight.data[module.padding_idx].zero_()

    def forward(self, encoder_hidden_states: torch.Tensor, labels: torch.Tensor,
                encoder_valid: torch.Tensor) -> torch.Tensor:
        """Teacher forcing on `shift_right(labels)` -> logits `(B, S, VOCAB_SIZE)`."""
        hidden = self.decoder(shift_right(labels), encoder_hidden_states, encoder_valid)
        return self.lm_head(hidden)

    def logits(self, input_ids: torch.Tensor, encoder_hidden_states: torch.Tensor,
               encoder_valid: torch.Tensor) -> torch.Tensor:
        """Logits for decoder inputs given as they are (no shift): `(B, S, VOCAB_SIZE)`."""
        return self.lm_head(self.decoder(input_ids, encoder_hidden_states, encoder_valid))

    def start_cache(self, encoder_hidden_states: torch.Tensor, encoder_valid: torch.Tensor) -> DecoderCache:
        """See `Speech2TextDecoder.start_cache`."""
        return self.decoder.start_cache(encoder_hidden_states, encoder_valid)

    def step(self, tokens: torch.Tensor, cache: DecoderCache) -> tuple[torch.Tensor, DecoderCache]:
        """One cached greedy step: `tokens (B,)` -> next-token logits `(B, VOCAB_SIZE)` and the new cache."""
        hidden, cache = self.decoder.step(tokens, cache)
        return self.lm_head(hidden), cache

    def loss(self, encoder_hidden_states: torch.Tensor, encoder_valid: torch.Tensor, labels: torch.Tensor,
             mask_p: float) -> torch.Tensor:
        """Mean cross-entropy of teacher-forced logits against `labels (B, S)`; in training the decoder inputs
        are masked with probability `mask_p` (targets stay unmasked).

        NOTE(original): no ignore_index applies: padding targets are trained on and averaged in (Q8).
        """
        inputs = mask_decoder_inputs(labels, mask_p) if self.training else labels
        logits = self(encoder_hidden_states, inputs, encoder_valid)
        return F.cross_entropy(logits.flatten(0, 1), labels.flatten())


def shift_right(labels: torch.Tensor) -> torch.Tensor:
    """Decoder inputs: SOS then `labels[:, :-1]` (HF `shift_tokens_right`; -100 -> PAD never occurs here)."""
    inputs = labels.new_full(labels.shape, SOS_ID)
    inputs[:, 1:] = labels[:, :-1]
    return inputs.masked_fill(inputs == -100, PAD_ID)


def mask_decoder_inputs(labels: torch.Tensor, p: float) -> torch.Tensor:
    """Replace each label independently with MASK_ID with probability `p` (applied before the shift).

    NOTE(original): pads and EOS can be masked too; a masked pad then gets a real position (Q29).
    """
    if p <= 0:
        return labels
    return labels.masked_fill(torch.rand(labels.shape, device=labels.device) < p, MASK_ID)


def reversed_labels(labels: torch.Tensor, label_mask: torch.Tensor) -> torch.Tensor:
    """Backward-decoder targets: per row, the used labels (label_mask == 1) with the characters reversed and
    the last one (EOS) kept last, right-padded with 0 to the longest row of the batch.

    NOTE(original): padded with 0 (the id of ' ', `pad_sequence`'s default) and only to the batch maximum
    length, not with PAD_ID to MAX_PHRASE_LEN (Q7).
    """
    used = label_mask == 1
    order = torch.sort((~used).to(torch.int8), dim=1, stable=True).indices  # used positions first, in order
    packed = labels.gather(1, order)
    n_used = used.sum(1, keepdim=True)
    width = int(n_used.max())
    col = torch.arange(width, device=labels.device)[None]
    n_chars = n_used - 1
    src = torch.where(col < n_chars, n_chars - 1 - col, col).clamp(max=labels.shape[1] - 1)
    out = packed.gather(1, src)
    return out.masked_fill(col >= n_used, 0)
