"""Speed of the PyTorch models: training step (forward + backward) and greedy decoding, on CPU or GPU.

    python scripts/benchmark_models.py                       # cfg_2 and cfg_1, batch 8 x 384 frames, fp32
    python scripts/benchmark_models.py --threads 1 --repeats 5 --configs cfg_2 --baseline

For each config and thread count: the time of one training step (`net(batch)` + `loss.backward()`, fp32,
all frames valid) and of greedy decoding of the batch's encoder output with the original recompute-everything
loop vs the KV-cached loop. Weights are random and the EOS row of the lm_head is zeroed (its logit 0 is never
the maximum), so no row stops early and both decoders run all 33 steps (the worst case). Prints a table and
writes `datamount/benchmarks/models.json`. Wall time is the headline number; CPU time (process time) is
reported too because it is less sensitive to other load on a shared machine.

`--baseline` also times an "original-style" variant of the same model: our modules with their hot spots
re-stated the way SPEC §5.1 describes the original (masked BatchNorm and the skip-pad LN/FF via gather/scatter
of the valid rows, channels-first Conv1d conv module, attention with an explicit (B, 1, L, L) masked_fill +
softmax). It is an estimate of the original's speed under the same load, not the original code; its outputs
are checked against ours before timing.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from types import MethodType

import numpy as np
import torch
import torch.nn.functional as F

from configs import load_config
from data.landmarks import N_LANDMARKS
from data.tokenizer import EOS_ID, tokenize
from models import build_model
from models.attention import merge_heads, split_heads
from models.llama_attention import LlamaAttention
from models.decoding import greedy_generate, greedy_generate_cached
from models.norms import MaskedBatchNorm1d
from models.rel_attention import RelativeMultiHeadAttention, relative_shift
from models.rope import apply_rotary
from models.squeezeformer import ConvModule, SqueezeformerBlock
from common.atomic import write_json_atomic

DEFAULT_OUTPUT = Path("datamount/benchmarks/models.json")
PHRASE = "the quick brown fox 1234"


def make_batch(batch_size: int, frames: int, device: torch.device) -> dict[str, torch.Tensor]:
    """A full-length batch in the dataset contract (random normalised landmarks)."""
    g = torch.Generator().manual_seed(0)
    token_ids, attention_mask = (torch.tensor(np.stack([a] * batch_size)) for a in tokenize(PHRASE))
    batch = {"input": torch.randn(batch_size, frames, N_LANDMARKS, 3, generator=g),
             "input_mask": torch.ones(batch_size, frames), "token_ids": token_ids, "attention_mask": attention_mask,
             "seq_len": torch.full((batch_size,), frames), "score": torch.rand(batch_size, generator=g,
                                                                               dtype=torch.float64)}
    return {k: v.to(device) for k, v in batch.items()}


def timed(fn: Callable[[], object], repeats: int, device: torch.device) -> dict[str, float]:
    """Run `fn` once to warm up, then `repeats` times; min/median wall seconds and median CPU seconds."""
    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    fn()
    sync()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        sync()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"wall_min_s": min(walls), "wall_median_s": statistics.median(walls),
            "cpu_median_s": statistics.median(cpus)}


# ---------------------------------------------------------------- original-style stand-ins (--baseline)

def _scatter_valid(x: torch.Tensor, valid: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Gather the valid rows of `x (B, T, C)`, apply `fn`, scatter the result back into a copy of `x`."""
    out = x.reshape(-1, x.shape[-1]).clone()
    rows = valid.reshape(-1)
    out[rows] = fn(out[rows]).to(out.dtype)
    return out.view_as(x)


def _bn_gather(bn: MaskedBatchNorm1d, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    return _scatter_valid(x, valid, lambda rows: F.batch_norm(rows, bn.running_mean, bn.running_var, bn.weight,
                                                              bn.bias, bn.training, bn.momentum, bn.eps))


def _conv_channels_first(self: ConvModule, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    m = valid[:, None, :]
    h = self.dw_conv.conv(F.glu(self.pw_conv_1.conv(x.transpose(1, 2) * m), dim=1))
    h = _bn_gather(self.bn, h.transpose(1, 2), valid).transpose(1, 2)
    return (self.dropout(self.pw_conv_2.conv(F.silu(h))) * m).transpose(1, 2)


def _explicit_softmax(q, k, v, valid: torch.Tensor, bias=None, fill: float | None = None, dropout=None):
    scores = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5 + (0 if bias is None else bias)
    both = valid[:, None, :, None] & valid[:, None, None, :]
    scores = scores.masked_fill(~both, torch.finfo(scores.dtype).min if fill is None else fill)
    probs = torch.softmax(scores, -1, dtype=torch.float32).to(q.dtype)
    return merge_heads((probs if dropout is None else dropout(probs)) @ v)


def _llama_full_mask(self: LlamaAttention, x: torch.Tensor, valid: torch.Tensor, rope) -> torch.Tensor:
    q, k, v = (split_heads(proj(x), self.num_heads) for proj in (self.q_proj, self.k_proj, self.v_proj))
    return self.o_proj(_explicit_softmax(apply_rotary(q, *rope), apply_rotary(k, *rope), v, valid))


def _relative_full_mask(self: RelativeMultiHeadAttention, x, valid, pos_embedding) -> torch.Tensor:
    q, k, v = (split_heads(proj(x), self.num_heads) for proj in (self.query_proj, self.key_proj, self.value_proj))
    p = F.pad(split_heads(self.pos_proj(pos_embedding), self.num_heads), (0, 0, 0, 1))
    pos = relative_shift((q + self.v_bias[:, None]) @ p.transpose(-1, -2)) / self.head_dim ** 0.5
    return self.out_proj(_explicit_softmax(q + self.u_bias[:, None], k, v, valid, pos, fill=-1e9,
                                           dropout=lambda t: F.dropout(t, self.dropout_p, self.training)))


def _skip_pad_gather(self: SqueezeformerBlock, x, ln, ff, ln_ff, name: str, valid: torch.Tensor) -> torch.Tensor:
    def packed(rows: torch.Tensor) -> torch.Tensor:
        v = ln(rows[None])
        return ln_ff(v + ff(self.pre_op(v, name)))[0]
    return _scatter_valid(x, valid, packed)


BASELINE_METHODS = {MaskedBatchNorm1d: ("forward", _bn_gather), ConvModule: ("forward", _conv_channels_first),
                    LlamaAttention: ("forward", _llama_full_mask),
                    RelativeMultiHeadAttention: ("forward", _relative_full_mask),
                    SqueezeformerBlock: ("norm_ff", _skip_pad_gather)}


def to_baseline(net: torch.nn.Module) -> torch.nn.Module:
    """Swap the hot spots of `net`'s modules for the original-style stand-ins (instance attributes only)."""
    for module in net.modules():
        if type(module) in BASELINE_METHODS:
            method, fn = BASELINE_METHODS[type(module)]
            setattr(module, method, MethodType(fn, module))
    return net


def check_baseline(name: str, device: torch.device) -> float:
    """Max |ours - baseline| of the eval encoder output on a padded batch (the stand-ins are the same maths)."""
    torch.manual_seed(0)
    ours = build_model(load_config(name)).to(device).eval()
    baseline = to_baseline(build_model(load_config(name)).to(device).eval())
    baseline.load_state_dict(ours.state_dict())
    batch = make_batch(2, 64, device)
    batch["input_mask"][1, 40:] = 0
    valid = batch["input_mask"].bool()
    with torch.no_grad():
        return float((ours(batch, debug=True) - baseline(batch, debug=True))[valid].abs().max())


def benchmark_config(name: str, args: argparse.Namespace, device: torch.device) -> dict[str, dict[str, float]]:
    """Training-step and decoding timings of one config at the current thread setting."""
    torch.manual_seed(0)
    net = build_model(load_config(name)).to(device)
    batch = make_batch(args.batch_size, args.frames, device)

    def train_step(model: torch.nn.Module) -> Callable[[], None]:
        def step() -> None:
            model.zero_grad(set_to_none=True)
            model(batch)["loss"].backward()
        return step

    net.train()
    results = {"train_step": timed(train_step(net), args.repeats, device)}
    if args.baseline:
        baseline = to_baseline(build_model(load_config(name)).to(device).train())
        results["train_step_original_style"] = timed(train_step(baseline), args.repeats, device)
    net.eval()
    valid = batch["input_mask"].bool()
    with torch.no_grad():
        net.decoder.lm_head.weight[EOS_ID] = 0.0  # decode every step (see the module docstring)
        encoder_out = net(batch, debug=True)
        results["greedy_original"] = timed(lambda: greedy_generate(net.decoder, encoder_out, valid),
                                           args.repeats, device)
        results["greedy_cached"] = timed(lambda: greedy_generate_cached(net.decoder, encoder_out, valid),
                                         args.repeats, device)
    return results


def thread_counts(spec: str) -> list[int]:
    """'1,all' -> [1, os.cpu_count()] (duplicates removed)."""
    counts = [os.cpu_count() or 1 if part == "all" else int(part) for part in spec.split(",")]
    return list(dict.fromkeys(counts))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=["cfg_2", "cfg_1"])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--frames", type=int, default=384)
    parser.add_argument("--threads", default="1,all", help="comma-separated CPU thread counts; 'all' = every core")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="cpu | cuda")
    parser.add_argument("--baseline", action="store_true", help="also time the original-style stand-ins")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    device = torch.device(args.device)
    report = {"settings": {"batch_size": args.batch_size, "frames": args.frames, "repeats": args.repeats,
                           "dtype": "float32", "device": str(device), "torch": torch.__version__,
                           "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
                           "load_average": os.getloadavg()}, "results": []}
    if args.baseline:
        report["baseline_max_abs_diff"] = {name: check_baseline(name, device) for name in args.configs}
        print("original-style stand-ins vs ours, max |diff| of the encoder output:", report["baseline_max_abs_diff"])
    print(f"{'config':7s} {'threads':>7s} {'measure':26s} {'wall min':>9s} {'wall med':>9s} {'cpu med':>9s}")
    for threads in thread_counts(args.threads):
        torch.set_num_threads(threads)
        for name in args.configs:
            for measure, t in benchmark_config(name, args, device).items():
                report["results"].append({"config": name, "threads": threads, "measure": measure, **t})
                print(f"{name:7s} {threads:7d} {measure:26s} {t['wall_min_s']:9.3f} {t['wall_median_s']:9.3f} "
                      f"{t['cpu_median_s']:9.3f}")
    write_json_atomic(report, args.output)
    print(f"written {args.output}")
    return report


if __name__ == "__main__":
    main()
