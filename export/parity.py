"""Parity of the export: PyTorch vs Keras per module (fp32), the exported graph vs the PyTorch pipeline,
TFLite (fp16) vs the graph, and decoded strings over many sequences (SPEC §9.5).

All comparisons return plain numbers so that scripts print them and tests assert on them.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
import models.keras.tf_setup  # noqa: F401  (before TensorFlow)
import tensorflow as tf
import torch
from torch import nn

from data.datamount import Datamount
from data.landmarks import COORDS, PART_NAMES, SELECTED_LANDMARKS
from data.tokenizer import PAD_ID, SOS_ID, decode
from export.agreement import CONFIDENCE_TIE, LOGIT_TIE, StringAgreement
from export.scoring import fold_rows
from inference.torch_graph import predict_sequence, prepare_frames
from models.feature_extractor import normalize_parts as torch_normalize_parts
from inference.tflite_graph import InferenceModule
from models.keras.feature_extractor import normalize_parts
from models.keras.mdl_2_pt import Net
from postprocess.confidence_fallback import MIN_CONFIDENCE, MIN_FRAMES

LONG_SEQUENCE: int = 800  # frames of the report's longest input (resized to max_len)
PARITY_TOKENS: tuple[int, ...] = (SOS_ID, 17, PAD_ID, 32, 12, 36)  # decoder inputs, a PAD included (special position)
N_CACHED_STEPS: int = 4
FP32_TOLERANCE: float = 1e-3  # max |PyTorch - Keras| accepted per module and for the fp32 graph (typ. 1e-5)
MIN_STRING_AGREEMENT: float = 0.99  # TFLite vs PyTorch strings over a validation fold, identical or fp16 near-ties


def random_sequence(n_frames: int, rng: np.random.Generator, missing: Iterable[str] = (),
                    landmarks: list[str] = SELECTED_LANDMARKS) -> np.ndarray:
    """Raw-like (T, 390) float32 frames: a random pose drifting slowly; landmarks named in `missing` are NaN."""
    base = rng.uniform(0.2, 0.8, size=(1, len(COORDS), len(landmarks)))
    drift = np.cumsum(rng.normal(0, 0.01, size=(n_frames, len(COORDS), len(landmarks))), axis=0)
    frames = (base + drift).astype(np.float32)
    for part in missing:
        frames[:, :, [i for i, name in enumerate(landmarks) if part in name]] = np.nan
    return frames.reshape(n_frames, len(COORDS) * len(landmarks))


def parity_lengths(max_len: int, min_frames: int = MIN_FRAMES) -> tuple[int, ...]:
    """Empty, one frame, around min_frames, 100, below/at/above max_len (cfg_2: 0 1 14 15 100 383 384 800)."""
    return 0, 1, min_frames - 1, min_frames, 100, max_len - 1, max_len, max(LONG_SEQUENCE, 2 * max_len)


def parity_sequences(lengths: tuple[int, ...], seed: int = 0) -> dict[str, np.ndarray]:
    """The report's inputs: one sequence per length, plus 100-frame ones without the left / both hands."""
    rng = np.random.default_rng(seed)
    out = {f"T={n}": random_sequence(n, rng) for n in lengths}
    out["T=100 no left hand"] = random_sequence(100, rng, ["left_hand"])
    out["T=100 no hands"] = random_sequence(100, rng, ["left_hand", "right_hand"])
    return out


def _max_abs(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    return float(np.abs(a - b).max()) if a.size else 0.0


@torch.no_grad()
def module_parity(torch_net: nn.Module, keras_net: Net, frames: np.ndarray, max_len: int) -> dict[str, float]:
    """Max |PyTorch - Keras| (float32) of every exported module on one raw sequence (>= 1 frame).

    Each module gets the same (PyTorch-computed) input, so an error is attributed to the module that makes it.
    """
    x = prepare_frames(frames, max_len)[None]  # (1, T, 130, 3)
    valid = torch.ones(x.shape[:2], dtype=torch.bool)
    index = {name: torch.tensor(idx) for name, idx in keras_net.parts.items()}
    pt_parts = torch_normalize_parts(x, index)
    tf_parts = normalize_parts(tf.constant(x[0].numpy()), keras_net.parts)
    diffs = {"normalize_parts": max(_max_abs(pt_parts[n][0], tf_parts[n]) for n in PART_NAMES)}
    for name in ("",) + tuple(f"_{p}" for p in PART_NAMES):
        pt_in = x if not name else pt_parts[name[1:]]
        pt_fe, tf_fe = getattr(torch_net, f"feature_extractor{name}"), getattr(keras_net, f"feature_extractor{name}")
        diffs[f"feature_extractor{name}"] = _max_abs(pt_fe(pt_in, valid)[0], tf_fe(tf.constant(pt_in[0].numpy())))
    h, blocks = _encode_recording_blocks(torch_net, x, valid)
    cos, sin = torch_net.rope(x.shape[1])
    for i, ((block_in, out), tf_block) in enumerate(zip(blocks, keras_net.encoder.blocks)):
        tf_out = tf_block(tf.constant(block_in[0].numpy()), cos[0, 0], sin[0, 0])
        diffs[f"encoder.blocks.{i}"] = _max_abs(out[0], tf_out)
    enc_tf = keras_net.encode(tf.constant(x[0].numpy()))
    diffs["encoder (whole)"] = _max_abs(h[0], enc_tf)
    diffs["aux_fc"] = _max_abs(torch_net.aux_fc(h[:, 0])[0], keras_net.aux_logits(tf.constant(h[0].numpy())))
    ids = torch.tensor([PARITY_TOKENS])
    enc = tf.constant(h[0].numpy())
    diffs["decoder (teacher forced)"] = _max_abs(torch_net.decoder.logits(ids, h, valid)[0],
                                                 keras_net.decoder(tf.constant(ids[0].numpy()), enc))
    diffs["decoder (cached steps)"] = _cached_step_parity(torch_net, keras_net, h, valid, enc)
    return diffs


def _encode_recording_blocks(torch_net: nn.Module, x: torch.Tensor,
                             valid: torch.Tensor) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
    """`torch_net.encode(x, valid)` and the (input, output) of every encoder block on the way (forward hooks), so
    that each Keras block is compared on the PyTorch block's own input without re-stating `Net.encode`."""
    blocks: list[tuple[torch.Tensor, torch.Tensor]] = []

    def record(module: nn.Module, args: tuple, kwargs: dict, out: torch.Tensor) -> None:
        blocks.append((args[0] if args else kwargs["x"], out))

    hooks = [block.register_forward_hook(record, with_kwargs=True) for block in torch_net.encoder.blocks]
    try:
        h = torch_net.encode(x, valid)
    finally:
        for hook in hooks:
            hook.remove()
    return h, blocks


def _cached_step_parity(torch_net: nn.Module, keras_net: Net, h: torch.Tensor, valid: torch.Tensor,
                        enc: tf.Tensor) -> float:
    cache_pt = torch_net.decoder.start_cache(h, valid)
    cross = keras_net.decoder.cross_key_values(enc)
    cache_tf = keras_net.decoder.empty_cache(N_CACHED_STEPS)
    n_tokens = tf.constant([0])
    worst = 0.0
    for step, token in enumerate(PARITY_TOKENS[:N_CACHED_STEPS]):
        logits_pt, cache_pt = torch_net.decoder.step(torch.tensor([token]), cache_pt)
        logits_tf, cache_tf, n_tokens = keras_net.decoder.step(tf.constant([token]), tf.constant(step), n_tokens,
                                                               cross, cache_tf, N_CACHED_STEPS)
        worst = max(worst, _max_abs(logits_pt, logits_tf))
    return worst


@dataclass
class Comparison:
    """Two implementations' outputs on one sequence."""

    name: str
    shapes: tuple[tuple, tuple]
    max_abs: float  # inf when the row counts differ
    strings: tuple[str, str]

    @property
    def same_string(self) -> bool:
        return self.strings[0] == self.strings[1]


def compare(name: str, reference: np.ndarray, candidate: np.ndarray) -> Comparison:
    """Row shapes, max |difference| and decoded strings of two `outputs` arrays."""
    return Comparison(name, (reference.shape, candidate.shape), _max_abs(reference, candidate),
                      (decode(reference.argmax(1)), decode(candidate.argmax(1))))


def graph_outputs(module: InferenceModule, frames: np.ndarray) -> np.ndarray:
    """`outputs` of the fp32 TensorFlow graph (the SavedModel's signature function)."""
    return module.serve(tf.constant(frames, dtype=tf.float32))["outputs"].numpy()


def compare_all(sequences: dict[str, np.ndarray], reference: Callable[[np.ndarray], np.ndarray],
                candidate: Callable[[np.ndarray], np.ndarray]) -> list[Comparison]:
    """`compare` on every named sequence."""
    return [compare(name, reference(f), candidate(f)) for name, f in sequences.items()]


def torch_outputs(torch_nets: list[nn.Module], max_len: int, min_frames: int = MIN_FRAMES,
                  min_conf: float = MIN_CONFIDENCE) -> Callable[[np.ndarray], np.ndarray]:
    """`outputs` rows of the PyTorch re-statement of SPEC §9.3 (a function of the raw frames)."""
    return lambda frames: predict_sequence(torch_nets, frames, max_len, min_frames, min_conf).rows


def format_comparisons(title: str, rows: list[Comparison]) -> str:
    """A fixed-width table of comparisons."""
    lines = [title, f"  {'input':24s} {'rows':>11s} {'max |diff|':>11s}  strings"]
    for c in rows:
        shapes = f"{c.shapes[0][0]}/{c.shapes[1][0]}"
        same = "same" if c.same_string else "DIFFERENT"
        lines.append(f"  {c.name:24s} {shapes:>11s} {c.max_abs:11.2e}  {same}: {c.strings[0]!r} / {c.strings[1]!r}")
    return "\n".join(lines)


def npy_fold_sequences(datamount: str | Path, fold: int, limit: int | None) -> Iterator[tuple[str, np.ndarray]]:
    """(sequence_id, frames) of the fold's rows of train_folded.csv, read from the datamount's npy files."""
    mount = Datamount(datamount)
    for row in fold_rows(mount.train_folded, fold, limit).itertuples():
        yield str(row.sequence_id), np.load(mount.npy_path(row.file_id, row.sequence_id))


@dataclass
class ParityReport:
    """Everything the conversion script prints about parity."""

    modules: dict[str, dict[str, float]]  # seed -> module -> max |PyTorch - Keras|
    graph_vs_torch: list[Comparison]  # fp32 graph vs the PyTorch re-statement
    tflite_vs_graph: list[Comparison]  # fp16 TFLite vs the fp32 graph
    fold: StringAgreement | None  # TFLite vs PyTorch strings over a validation fold

    def failures(self) -> list[str]:
        """Reasons the export is not faithful (empty when it is)."""
        out = [f"{seed} {name}: {d:.2e} > {FP32_TOLERANCE}" for seed, diffs in self.modules.items()
               for name, d in diffs.items() if not d <= FP32_TOLERANCE]
        out += [f"fp32 graph vs PyTorch on {c.name}: max |diff| {c.max_abs:.2e}, strings {c.strings}"
                for c in self.graph_vs_torch if not (c.max_abs <= FP32_TOLERANCE and c.same_string)]
        if self.fold is not None and self.fold.n and self.fold.explained_fraction < MIN_STRING_AGREEMENT:
            out.append(f"TFLite vs PyTorch strings identical or fp16 near-ties on {self.fold.explained_fraction:.2%}"
                       f" < {MIN_STRING_AGREEMENT:.0%}")
        return out

    def format(self) -> str:
        lines = ["PyTorch vs Keras per module (float32, max |diff|):"]
        for seed, diffs in self.modules.items():
            lines += [f"  {seed} {name:28s} {d:.2e}" for name, d in diffs.items()]
        lines.append(format_comparisons("Exported graph (float32) vs PyTorch re-statement of SPEC 9.3:",
                                        self.graph_vs_torch))
        lines.append(format_comparisons("TFLite (fp16 weights) vs exported graph (float32):", self.tflite_vs_graph))
        if self.fold is not None:
            fold = self.fold
            lines.append(f"TFLite vs PyTorch KV-cached greedy decode over the validation fold: {fold.n_same}/{fold.n}"
                         f" identical strings ({fold.fraction:.2%}), {len(fold.near_ties)} fp16 near-ties (margin <"
                         f" {LOGIT_TIE} logit or {CONFIDENCE_TIE} confidence), {len(fold.mismatches)} real mismatches")
            for title, rows in (("near-tie", fold.near_ties), ("MISMATCH", fold.mismatches)):
                lines += [f"  {title} {name} (margin {margin:.4f}): {ref!r} / {cand!r}"
                          for name, ref, cand, margin in rows[:10]]
        failures = self.failures()
        lines.append("PARITY OK" if not failures else "PARITY FAILED:\n  " + "\n  ".join(failures))
        return "\n".join(lines)

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1, default=str))


def parity_report(torch_nets: list[nn.Module], keras_nets: list[Net], module: InferenceModule,
                  runner: Callable[[np.ndarray], np.ndarray], max_len: int,
                  fold_sequences: Iterable[tuple[str, np.ndarray]] | None = None, seed: int = 0) -> ParityReport:
    """Run every comparison; `runner` maps raw frames to the TFLite `outputs`. The PyTorch reference uses the
    module's fallback thresholds."""
    thresholds = module.min_frames, module.min_conf
    sequences = parity_sequences(parity_lengths(max_len, module.min_frames), seed)
    probe = sequences["T=100 no left hand"]
    modules = {f"seed {i + 1}": module_parity(pt, kn, probe, max_len)
               for i, (pt, kn) in enumerate(zip(torch_nets, keras_nets))}
    graph = partial(graph_outputs, module)
    graph_vs_torch = compare_all(sequences, torch_outputs(torch_nets, max_len, *thresholds), graph)
    tflite_vs_graph = compare_all(sequences, graph, runner)
    fold = None
    if fold_sequences is not None:
        fold = StringAgreement()
        for name, frames in fold_sequences:
            reference = predict_sequence(torch_nets, frames, max_len, *thresholds)
            fold.add(name, reference.rows, runner(frames), reference.confidence, module.min_conf)
    return ParityReport(modules, graph_vs_torch, tflite_vs_graph, fold)
