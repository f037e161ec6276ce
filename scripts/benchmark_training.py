"""Training throughput of the demo configs on this machine: samples/s and s/step, printed and written to JSON.

    python scripts/benchmark_training.py                          # demo_1 and demo_2, 8 timed steps each
    python scripts/benchmark_training.py --configs cfg_2 --device cuda --steps 20 --batch-size 64

Two numbers per config, both through train.py's own training step (training.engine.train_one_epoch: forward,
backward, accumulation, clipping, optimiser and schedule):
* `model_only`: one fixed batch fed again and again (the model's cost alone);
* `end_to_end`: batches from the real DataLoader (cfg.num_workers workers, full augmentation), when the datamount
  holds prepared data (cfg.train_df, or train_folded.csv before the OOF table exists); otherwise skipped.
Each is also projected to one epoch of `--epoch-samples` samples (default: the cfg_2 full fit, ~67.7k) and to
cfg.epochs epochs. `--compile True` (a config override) compiles the model as train.py does.
Output: datamount/benchmarks/training.json (or --out).
"""
from __future__ import annotations

import argparse
import itertools
import os
import platform
import sys
import time
from pathlib import Path

import torch

from configs import apply_overrides, load_config
from training.distributed import DistContext, resolve_device
from training.engine import TrainState, build_precision, train_one_epoch
from training.logger import RunLogger
from training.optim import build_optimizer, build_scheduler
from common.atomic import write_json_atomic
from common.run_layout import INFERENCE_ARGS_NAME

DEFAULT_OUT = Path("datamount/benchmarks/training.json")
FULL_FIT_SAMPLES: int = 67_700  # cfg_2 epoch of the full fit (competition + supplemental rows), for projections
ROUND1_TRAIN_DF = "datamount/train_folded.csv"


class Batches:
    """A loader stand-in yielding `n` batches from an iterator (train_one_epoch only needs iteration)."""

    def __init__(self, source, n: int):
        self.source, self.n = source, n

    def __iter__(self):
        return itertools.islice(self.source, self.n)

    def __len__(self) -> int:
        return self.n


def data_available(cfg) -> bool:
    """Point cfg.train_df at a prepared table (falling back to round 1's for round 2) and say if one exists."""
    if not Path(cfg.train_df).exists() and Path(ROUND1_TRAIN_DF).exists():
        cfg.train_df = ROUND1_TRAIN_DF  # ds_2 reads it as competition rows with score 1
    return Path(cfg.train_df).exists() and Path(cfg.data_folder, INFERENCE_ARGS_NAME).exists()


def time_steps(cfg, model, batches_factory, warmup: int, steps: int, ctx: DistContext) -> dict[str, float]:
    """Seconds per training step over `steps` steps after `warmup` untimed ones."""
    optimizer = build_optimizer(model, cfg)
    scheduler = build_scheduler(optimizer, cfg, n_train=cfg.batch_size * (warmup + steps))
    precision, state = build_precision(cfg, ctx.device), TrainState()
    logger = RunLogger(cfg, ".", enabled=False)
    train_one_epoch(model, Batches(batches_factory(), warmup), optimizer, scheduler, precision, state, cfg, ctx,
                    logger)
    if ctx.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    train_one_epoch(model, Batches(batches_factory(), steps), optimizer, scheduler, precision, state, cfg, ctx,
                    logger)
    if ctx.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / steps
    return {"s_per_step": round(seconds, 4), "samples_per_s": round(cfg.batch_size / seconds, 2)}


def benchmark(name: str, overrides: list[str], warmup: int, steps: int) -> dict:
    """Both measurements for one config."""
    from models import build_model
    from training.data import build_datasets, build_loaders

    cfg = apply_overrides(load_config(name), overrides)
    cfg.seed, cfg.logger = 0 if cfg.seed < 0 else cfg.seed, "none"
    ctx = DistContext(device=resolve_device(cfg.device))
    model = build_model(cfg).to(ctx.device)
    if cfg.compile:
        model.compile()  # as train.py does
    result: dict = {"batch_size": cfg.batch_size, "max_len": cfg.max_len, "num_workers": cfg.num_workers,
                    "epochs": cfg.epochs, "compile": cfg.compile, "mixed_precision": cfg.mixed_precision,
                    "params": sum(p.numel() for p in model.parameters() if p.requires_grad)}
    if not data_available(cfg):
        print(f"{name}: no prepared data at {cfg.train_df}; end_to_end skipped, model_only on random batches")
        batch = random_batch(cfg)
    else:
        loader = build_loaders(*build_datasets(cfg), cfg, ctx).train
        batch = next(iter(loader))
        result["end_to_end"] = time_steps(cfg, model, lambda: itertools.cycle(loader), warmup, steps, ctx)
    result["model_only"] = time_steps(cfg, model, lambda: itertools.repeat(batch), warmup, steps, ctx)
    return result


def random_batch(cfg) -> dict[str, torch.Tensor]:
    """A batch of the contract's shapes with random landmarks and lengths."""
    from data.tokenizer import MAX_PHRASE_LEN, N_CHARS

    b, length = cfg.batch_size, cfg.max_len
    seq_len = torch.randint(length // 3, length + 1, (b,))
    mask = (torch.arange(length)[None] < seq_len[:, None]).float()
    return {"input": torch.randn(b, length, cfg.n_landmarks, 3) * mask[:, :, None, None], "input_mask": mask,
            "token_ids": torch.randint(0, N_CHARS, (b, MAX_PHRASE_LEN)),
            "attention_mask": torch.ones(b, MAX_PHRASE_LEN, dtype=torch.int64), "seq_len": seq_len,
            "score": torch.rand(b, dtype=torch.float64)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("--configs", nargs="+", default=["demo_1", "demo_2"])
    parser.add_argument("--steps", type=int, default=8, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--epoch-samples", type=int, default=FULL_FIT_SAMPLES,
                        help="samples per epoch for the projected epoch and run times (cfg_2 full fit: ~67.7k)")
    args, overrides = parser.parse_known_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    report = {"machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                          "processor": platform.processor() or platform.machine(), "torch": torch.__version__,
                          "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None},
              "overrides": overrides, "configs": {}}
    for name in args.configs:
        report["configs"][name] = result = benchmark(name, overrides, args.warmup, args.steps)
        for kind in ("model_only", "end_to_end"):
            if kind in result:
                r = result[kind]
                r["projected_epoch_min"] = round(args.epoch_samples / r["samples_per_s"] / 60, 2)
                r["projected_run_h"] = round(r["projected_epoch_min"] * result["epochs"] / 60, 1)
                print(f"{name:<8} {kind:<11} batch {result['batch_size']:>3}: {r['s_per_step']:.3f} s/step,"
                      f" {r['samples_per_s']:.1f} samples/s; an epoch of {args.epoch_samples} samples"
                      f" {r['projected_epoch_min']:.1f} min, {result['epochs']} epochs {r['projected_run_h']:.1f} h")
    write_json_atomic(report, args.out)
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
