"""PyTorch re-statement of the exported inference graph (SPEC §9.3): one raw sequence -> phrase.

Exactly the maths of `inference.tflite_graph`, with the PyTorch modules: global normalisation, bilinear
resize of the time axis to max_len when T >= max_len (no padding below: the batch of one is unpadded),
every seed's encoder, averaged aux logits -> confidence fallback, short-sequence dummy, and a KV-cached greedy
decode of the ensemble that averages the seeds' logits at every step and stops at the first EOS.
This is the reference for the TFLite parity check and the PyTorch path of scripts/predict.py.
The fallback thresholds are arguments (default MIN_FRAMES / MIN_CONFIDENCE), as in the Keras graph.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from data.landmarks import SELECTED_LANDMARKS
from data.preprocessing import normalize_sequence
from data.tokenizer import DUMMY_PHRASE_IDS, EOS_ID, MAX_DECODE_STEPS, SOS_ID, VOCAB_SIZE, decode
from models import build_model
from models.weights import load_state_dict_file, load_weights, safe_load
from postprocess.confidence_fallback import MIN_CONFIDENCE, MIN_FRAMES

SHORT, LOW_CONFIDENCE = "short", "low_confidence"  # reasons for the dummy phrase


@dataclass
class Prediction:
    """One sequence's output: the rows the TFLite graph emits (n >= 1, 63), their phrase and the confidence.

    `confidence` is sigmoid(mean aux logit), NaN for sequences too short to run the model; `fallback` names
    why the dummy phrase was used (None when the decoded phrase is returned).
    """

    rows: np.ndarray
    confidence: float
    fallback: str | None = None

    @property
    def phrase(self) -> str:
        return decode(self.rows.argmax(axis=1))


def dummy_rows() -> np.ndarray:
    """One-hot rows of the dummy phrase. Twin of `inference.tflite_graph.dummy_rows`."""
    return np.eye(VOCAB_SIZE, dtype=np.float32)[list(DUMMY_PHRASE_IDS)]


def load_models(cfg: SimpleNamespace, checkpoints: list[str | Path],
                landmarks: list[str] = SELECTED_LANDMARKS) -> list[nn.Module]:
    """One eval-mode `Net` per checkpoint (strict loading; raw state dicts or {'model': ...} files)."""
    if not checkpoints:
        raise ValueError("no checkpoint given")
    nets = []
    for path in checkpoints:
        net = build_model(cfg, landmarks)
        safe_load(path)  # a one-line error naming the file for any unreadable or non-weights file
        check_fits(net, load_state_dict_file(path), path, cfg)
        load_weights(net, path, strict=True)
        nets.append(net.eval())
    return nets


MDL_2_ONLY_KEY = "aux_fc.weight"  # the confidence head: round 2 (mdl_2) has it, round 1 (mdl_1) does not


def check_fits(net: nn.Module, state_dict: dict[str, torch.Tensor], path: str | Path, cfg: SimpleNamespace) -> None:
    """One-line ValueError with key counts (not the key lists) when a checkpoint does not fit `net`."""
    expected = net.state_dict()
    missing = expected.keys() - state_dict.keys()
    unexpected = state_dict.keys() - expected.keys()
    reshaped = [k for k in expected.keys() & state_dict.keys() if expected[k].shape != state_dict[k].shape]
    if not (missing or unexpected or reshaped):
        return
    hint = ""
    if MDL_2_ONLY_KEY in expected and MDL_2_ONLY_KEY not in state_dict:
        hint = "; it looks like an mdl_1 (round-1, cfg_1) checkpoint"
    elif MDL_2_ONLY_KEY in state_dict and MDL_2_ONLY_KEY not in expected:
        hint = "; it looks like an mdl_2 (round-2, cfg_2) checkpoint"
    elif reshaped:
        k = sorted(reshaped)[0]
        hint = (f"; e.g. {k} is {tuple(state_dict[k].shape)} in the file, {tuple(expected[k].shape)} in the model: "
                f"another encoder_dim / num_layers?")
    raise ValueError(f"{path}: does not fit config {cfg.name} ({cfg.model}): {len(missing)} missing, "
                     f"{len(unexpected)} unexpected and {len(reshaped)} differently shaped of {len(expected)} keys"
                     f"{hint}")


def prepare_frames(frames: np.ndarray, max_len: int) -> torch.Tensor:
    """Raw (T, 390) -> normalised (T', 130, 3), bilinearly resized to max_len frames when T >= max_len.

    NOTE(original): training uses 'nearest' resizing and pads to max_len; the export uses bilinear
    (half-pixel centres) and no padding (Q11).
    """
    x = normalize_sequence(np.asarray(frames, dtype=np.float32))
    if len(x) >= max_len:
        image = x.permute(2, 0, 1)[None]  # (1, 3, T, 130): resize time, keep landmarks
        x = F.interpolate(image, size=(max_len, x.shape[1]), mode="bilinear", align_corners=False)[0]
        x = x.permute(1, 2, 0).contiguous()
    return x


@torch.no_grad()
def ensemble_greedy_decode(nets: list[nn.Module], encs: list[torch.Tensor], valid: torch.Tensor,
                           max_steps: int = MAX_DECODE_STEPS) -> np.ndarray:
    """Rows of averaged logits (n, 63) of the greedy ensemble decode, up to (excluding) the first EOS.

    NOTE(original): when EOS comes first the original returns zero rows (LiteRT rejects them); the EOS row is
    kept instead, which decodes to the same empty string.
    """
    caches = [net.decoder.start_cache(enc, valid) for net, enc in zip(nets, encs)]
    token = torch.tensor([SOS_ID])
    rows = []
    for _ in range(max_steps):
        logits = []
        for i, net in enumerate(nets):
            seed_logits, caches[i] = net.decoder.step(token, caches[i])
            logits.append(seed_logits)
        row = torch.stack(logits).mean(0)  # (1, 63): average of the seeds' logits
        token = row.argmax(-1)
        if int(token) == EOS_ID:
            return torch.cat(rows or [row]).numpy()
        rows.append(row)
    return torch.cat(rows).numpy()


@torch.no_grad()
def predict_sequence(nets: list[nn.Module], frames: np.ndarray, max_len: int, min_frames: int = MIN_FRAMES,
                     min_conf: float = MIN_CONFIDENCE) -> Prediction:
    """SPEC §9.3 for one raw (T, 390) sequence with the given eval-mode `mdl_2_pt.Net` seeds.

    Fewer than `min_frames` frames or a confidence below `min_conf` give the dummy phrase (cfg.max_len_for_dummy,
    cfg.pp_min_conf; see export.thresholds). +-inf input is refused (ValueError); a non-finite confidence counts
    as low (dummy phrase).
    """
    if np.isinf(frames).any():
        raise ValueError("the sequence holds +-inf values (NaN marks a missing landmark; inf is invalid)")
    if len(frames) < min_frames:
        return Prediction(dummy_rows(), math.nan, SHORT)
    x = prepare_frames(frames, max_len)[None]
    valid = torch.ones(x.shape[:2], dtype=torch.bool)
    encs = [net.encode(x, valid) for net in nets]
    aux = torch.stack([net.aux_fc(enc[:, 0]) for net, enc in zip(nets, encs)]).mean(0)
    # NOTE(original): the seeds' aux LOGITS are averaged, then the sigmoid is taken.
    confidence = float(torch.sigmoid(aux[0, 0]))
    if not confidence >= min_conf:  # NaN counts as low
        return Prediction(dummy_rows(), confidence, LOW_CONFIDENCE)
    return Prediction(ensemble_greedy_decode(nets, encs, valid), confidence)
