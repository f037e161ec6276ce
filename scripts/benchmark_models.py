"""Speed and memory of the PyTorch models: training step (forward + backward) and greedy decoding, CPU or GPU.

    python scripts/benchmark_models.py                                  # cfg_2 and cfg_1, batch 8 x 384, 1 thread
    python scripts/benchmark_models.py --baseline --rounds 5 --profile  # + ratio to the original-style model
    python scripts/benchmark_models.py --baseline --memory              # + peak memory of a batch-32 step
    python scripts/benchmark_models.py --device cuda --batch-size 32 --amp float16 --compile

For each config: the time of one training step (`net(batch)` + `loss.backward()`, all frames valid) and of
greedy decoding of the batch's encoder output with the original recompute-everything loop vs the KV-cached loop.
Weights are random and the EOS row of the lm_head is zeroed (its logit 0 is never the maximum), so no row stops
early and both decoders run all 33 steps (the worst case). Prints tables and writes
`datamount/benchmarks/models.json`. CPU time (process time) is the headline number on CPU (less sensitive to
other load on a shared machine than wall time, which is reported too); on CUDA, wall time.

`--baseline` also times an "original-style" variant of the same model: our modules with their hot spots
re-stated the way SPEC §5.1 describes the original (masked BatchNorm and the skip-pad LN/FF via gather/scatter
of the valid rows, channels-first Conv1d conv module, attention with separate q/k/v projections, `rotate_half`
rotary and an explicit (B, 1, L, L) masked_fill + softmax, the pre-op as its own pass, `nn.Dropout`). It is an
estimate of the original's speed under the same load, not the original code; its outputs are checked against
ours before timing. The two are timed in alternating rounds (ours, original-style, original-style, ours, ...)
and the headline is the median of the per-round ratios.

`--profile` prints torch.profiler's table of one step and the step's share of time in GEMM, attention and
convolution kernels (`KERNEL_OPS`, inclusive time) — the part no elementwise fusion can remove.
`--memory` measures the peak memory of one training step at `--memory-batch` (32, the original's batch): on CPU
the peak resident set of a fresh process (`ru_maxrss`) minus its size before the step; on CUDA
`max_memory_allocated`.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import MethodType

import numpy as np
import psutil
import torch
import torch.nn.functional as F

from configs import load_config
from data.landmarks import N_LANDMARKS
from data.tokenizer import EOS_ID, tokenize
from models import build_model
from models.attention import merge_heads, split_heads
from models.llama_attention import LlamaAttention
from models.decoding import greedy_generate, greedy_generate_cached
from models.fused import Dropout
from models.norms import MaskedBatchNorm1d
from models.rel_attention import RelativeMultiHeadAttention, relative_shift
from models.rope import apply_rotary
from models.squeezeformer import ConvModule, SqueezeformerBlock
from common.atomic import write_json_atomic
from common.malloc import keep_freed_memory

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


def _pre_op(x: torch.Tensor, pre) -> torch.Tensor:
    return x if pre is None else x * pre[0] + pre[1]


def _llama_full_mask(self: LlamaAttention, x: torch.Tensor, valid: torch.Tensor, rope, pre=None) -> torch.Tensor:
    x = _pre_op(x, pre)
    q, k, v = (split_heads(proj(x), self.num_heads) for proj in (self.q_proj, self.k_proj, self.v_proj))
    return self.o_proj(_explicit_softmax(apply_rotary(q, *rope), apply_rotary(k, *rope), v, valid))


def _relative_full_mask(self: RelativeMultiHeadAttention, x, valid, pos_embedding, pre=None) -> torch.Tensor:
    x = _pre_op(x, pre)
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


def _torch_dropout(self: Dropout, x: torch.Tensor) -> torch.Tensor:
    return F.dropout(x, self.p, self.training)


BASELINE_METHODS = {MaskedBatchNorm1d: ("forward", _bn_gather), ConvModule: ("forward", _conv_channels_first),
                    Dropout: ("forward", _torch_dropout),
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


# ---------------------------------------------------------------- measurements

KERNEL_OPS: tuple[str, ...] = (  # leaf ops whose inclusive time is "GEMM, attention and convolution kernels"
    "aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::addmv", "aten::mv",
    "aten::_scaled_dot_product_flash_attention_for_cpu", "aten::_scaled_dot_product_flash_attention_for_cpu_backward",
    "aten::_flash_attention_forward", "aten::_flash_attention_backward", "aten::_efficient_attention_forward",
    "aten::_efficient_attention_backward", "aten::mkldnn_convolution", "aten::convolution_backward",
    "aten::cudnn_convolution", "aten::_slow_conv2d_forward", "aten::_slow_conv2d_backward")


def build_pair(name: str, device: torch.device, baseline: bool) -> tuple[torch.nn.Module, torch.nn.Module | None]:
    """Ours (seed 0) and, if asked, the original-style variant with the same weights; both in train mode."""
    torch.manual_seed(0)
    ours = build_model(load_config(name)).to(device).train()
    if not baseline:
        return ours, None
    other = to_baseline(build_model(load_config(name)).to(device).train())
    other.load_state_dict(ours.state_dict())
    return ours, other


def train_step(model: torch.nn.Module, batch: dict[str, torch.Tensor], amp: str | None = None) -> Callable[[], None]:
    """One forward + backward of `model` on `batch` (under autocast to `amp` if given)."""
    device_type = batch["input"].device.type

    def step() -> None:
        model.zero_grad(set_to_none=True)
        with torch.autocast(device_type, dtype=getattr(torch, amp or "float32"), enabled=amp is not None):
            loss = model(batch)["loss"]
        loss.float().backward()
    return step


def alternating_rounds(ours: Callable[[], None], other: Callable[[], None], rounds: int, repeats: int,
                       device: torch.device) -> dict:
    """Time `ours` and `other` in alternating rounds (ours first in even rounds, last in odd ones).

    Per round: `timed` of each (median of `repeats` steps) and the ratio other / ours of the headline measure
    (CPU time on CPU, wall time on CUDA); the headline is the median of the per-round ratios.
    """
    key = "wall_median_s" if device.type == "cuda" else "cpu_median_s"
    per_round = []
    for r in range(rounds):
        order = [("ours", ours), ("original_style", other)]
        got = {label: timed(fn, repeats, device) for label, fn in (order if r % 2 == 0 else order[::-1])}
        per_round.append({**got, "ratio": got["original_style"][key] / got["ours"][key]})
    ratios = [r["ratio"] for r in per_round]
    return {"measure": key, "rounds": per_round, "ratios": ratios, "median_ratio": statistics.median(ratios)}


def profile_step(step: Callable[[], None], device: torch.device, rows: int = 25) -> dict:
    """torch.profiler table of one step (after one warm-up step) and the share of time in `KERNEL_OPS`."""
    from torch.profiler import ProfilerActivity, profile
    step()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    events = prof.key_averages()
    time_attr = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    total = sum(getattr(e, time_attr) for e in events)
    # inclusive CPU time of each kernel op (a kernel op never runs inside another one)
    kernel = sum(e.cpu_time_total if device.type == "cpu" else getattr(e, time_attr)
                 for e in events if e.key in KERNEL_OPS)
    table = events.table(sort_by=time_attr, row_limit=rows, max_name_column_width=55)
    return {"total_s": total / 1e6, "kernel_s": kernel / 1e6, "kernel_share": kernel / total, "table": table}


def measure_step_memory(name: str, variant: str, batch_size: int, frames: int, device: torch.device) -> dict:
    """One training step of `variant` ('ours' | 'original_style'); memory in use before it and at its peak (MB).

    CUDA: `memory_allocated` / `max_memory_allocated`. CPU: the resident set before the step and the process'
    peak resident set (`ru_maxrss`), so on CPU call it in a fresh process (`peak_memory`).
    """
    ours, other = build_pair(name, device, variant != "ours")
    step = train_step(ours if variant == "ours" else other, make_batch(batch_size, frames, device))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device) / 2 ** 20
        step()
        torch.cuda.synchronize(device)
        peak = torch.cuda.max_memory_allocated(device) / 2 ** 20
    else:
        before = psutil.Process().memory_info().rss / 2 ** 20
        step()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"peak_mb": peak, "step_mb": peak - before}


def peak_memory(name: str, variant: str, batch_size: int, frames: int, device: torch.device) -> dict:
    """`measure_step_memory` at `batch_size`: in this process on CUDA, in a fresh one on CPU (this script with
    `--memory-child`, one thread), so that the peak resident set is the step's and not this process' history.
    """
    if device.type == "cuda":
        return measure_step_memory(name, variant, batch_size, frames, device)
    out = subprocess.run([sys.executable, __file__, "--memory-child", name, variant, str(batch_size), str(frames)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def benchmark_config(name: str, args: argparse.Namespace, device: torch.device) -> dict:
    """Training-step and decoding timings of one config at the current thread setting (+ ratio, profile)."""
    net, other = build_pair(name, device, args.baseline)
    batch = make_batch(args.batch_size, args.frames, device)
    timings: dict[str, dict[str, float]] = {}
    extra: dict = {}
    if other is None:
        timings["train_step"] = timed(train_step(net, batch, args.amp), args.repeats, device)
    else:
        rounds = alternating_rounds(train_step(net, batch, args.amp), train_step(other, batch, args.amp),
                                    args.rounds, args.repeats, device)
        extra["ratio"] = rounds
        for label in ("ours", "original_style"):  # medians over the rounds
            timings["train_step" + ("" if label == "ours" else "_original_style")] = {
                k: statistics.median(r[label][k] for r in rounds["rounds"]) for k in rounds["rounds"][0][label]}
    if args.compile:
        compiled = torch.compile(net)
        start = time.perf_counter()
        train_step(compiled, batch, args.amp)()
        extra["compile_s"] = time.perf_counter() - start
        timings["train_step_compiled"] = timed(train_step(compiled, batch, args.amp), args.repeats, device)
    if args.profile:
        extra["profile"] = {"ours": profile_step(train_step(net, batch, args.amp), device)}
        if other is not None:
            extra["profile"]["original_style"] = profile_step(train_step(other, batch, args.amp), device)
    net.eval()
    valid = batch["input_mask"].bool()
    with torch.no_grad():
        net.decoder.lm_head.weight[EOS_ID] = 0.0  # decode every step (see the module docstring)
        encoder_out = net(batch, debug=True)
        timings["greedy_original"] = timed(lambda: greedy_generate(net.decoder, encoder_out, valid),
                                           args.repeats, device)
        timings["greedy_cached"] = timed(lambda: greedy_generate_cached(net.decoder, encoder_out, valid),
                                         args.repeats, device)
    return {"timings": timings, **extra}


def thread_counts(spec: str) -> list[int]:
    """'1,all' -> [1, os.cpu_count()] (duplicates removed)."""
    counts = [os.cpu_count() or 1 if part == "all" else int(part) for part in spec.split(",")]
    return list(dict.fromkeys(counts))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=["cfg_2", "cfg_1"])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--frames", type=int, default=384)
    parser.add_argument("--threads", default="1", help="comma-separated CPU thread counts; 'all' = every core")
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per measurement (median)")
    parser.add_argument("--device", default="cpu", help="cpu | cuda")
    parser.add_argument("--amp", choices=["float16", "bfloat16"], help="autocast dtype of the training step")
    parser.add_argument("--baseline", action="store_true", help="also time the original-style stand-ins")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds ours / original-style")
    parser.add_argument("--profile", action="store_true", help="profile table and GEMM/attention/conv share")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile(model)")
    parser.add_argument("--memory", action="store_true", help="peak memory of one step at --memory-batch")
    parser.add_argument("--memory-batch", type=int, default=32)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--memory-child", nargs=4, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    keep_freed_memory()
    if args.memory_child:
        name, variant, batch_size, frames = args.memory_child
        torch.set_num_threads(1)
        print(json.dumps(measure_step_memory(name, variant, int(batch_size), int(frames), torch.device("cpu"))))
        return {}
    device = torch.device(args.device)
    report = {"settings": {"batch_size": args.batch_size, "frames": args.frames, "repeats": args.repeats,
                           "rounds": args.rounds, "dtype": args.amp or "float32", "device": str(device),
                           "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
                           "cpu_count": os.cpu_count(), "load_average": os.getloadavg()},
              "results": [], "ratios": [], "profiles": [], "memory": []}
    if args.baseline:
        report["baseline_max_abs_diff"] = {name: check_baseline(name, device) for name in args.configs}
        print("original-style stand-ins vs ours, max |diff| of the encoder output:", report["baseline_max_abs_diff"])
    print(f"{'config':7s} {'threads':>7s} {'measure':26s} {'wall min':>9s} {'wall med':>9s} {'cpu med':>9s}")
    for threads in thread_counts(args.threads):
        torch.set_num_threads(threads)
        for name in args.configs:
            got = benchmark_config(name, args, device)
            for measure, t in got["timings"].items():
                report["results"].append({"config": name, "threads": threads, "measure": measure, **t})
                print(f"{name:7s} {threads:7d} {measure:26s} {t['wall_min_s']:9.3f} {t['wall_median_s']:9.3f} "
                      f"{t['cpu_median_s']:9.3f}")
            if "compile_s" in got:
                print(f"{name:7s} {threads:7d} torch.compile time: {got['compile_s']:.1f} s")
            if "ratio" in got:
                r = got["ratio"]
                report["ratios"].append({"config": name, "threads": threads, **r})
                print(f"{name:7s} {threads:7d} original-style / ours ({r['measure']}): median "
                      f"{r['median_ratio']:.2f}x, rounds " + ", ".join(f"{x:.2f}" for x in r["ratios"]))
            for variant, prof in got.get("profile", {}).items():
                report["profiles"].append({"config": name, "threads": threads, "variant": variant,
                                           **{k: v for k, v in prof.items() if k != "table"}})
                print(f"\n{name} ({variant}, {threads} thread(s)): {prof['kernel_share']:.1%} of "
                      f"{prof['total_s']:.2f} s in GEMM/attention/conv kernels\n{prof['table']}")
    if args.memory:
        for name in args.configs:
            for variant in ["ours"] + (["original_style"] if args.baseline else []):
                mem = peak_memory(name, variant, args.memory_batch, args.frames, device)
                report["memory"].append({"config": name, "variant": variant, "batch_size": args.memory_batch, **mem})
                print(f"{name:7s} peak memory of a batch-{args.memory_batch} step ({variant}): "
                      f"{mem['step_mb']:.0f} MB above the {mem['peak_mb'] - mem['step_mb']:.0f} MB before it")
    write_json_atomic(report, args.output)
    print(f"written {args.output}")
    return report


if __name__ == "__main__":
    main()
