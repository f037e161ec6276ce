"""Train one fold of an experiment config (SPEC §6).

    python train.py -C cfg_1 --fold 0            # round 1, folds 0..3
    python train.py -C cfg_2 --fold -1           # round 2 full fit; run twice (random seeds)
    python train.py -C demo_1 --fold 0 --epochs 2 --batch_size 16 --device cpu
    torchrun --nproc_per_node 2 train.py -C cfg_2 --fold -1      # DDP (NCCL on GPUs, gloo on CPU)
    python train.py -C cfg_2 --fold -1 --seed 1234 --resume      # continue an interrupted run
    python train.py -C cfg_2 --fold -1 --init_weights team/checkpoint_last_seed1.pth   # fine-tune from weights

Any config key can be overridden with `--key value` (see configs/__init__.py for the strict rules).
Outputs go to `{output_dir}/fold{fold}/`: checkpoint_last_seed{seed}.pth ({'model': state_dict}),
val_data_seed{seed}.pth, config_seed{seed}.json, metrics_seed{seed}.jsonl, curves_seed{seed}.png, a neptune folder
(offline mode) and, while running, resume_seed{seed}.pth (every cfg.ckpt_every_epochs epochs; deleted at the end).

Errors (README "Errors and recovery"): bad values, missing or bad input files, a run folder in use (lock file
`.lock_seed{seed}`) and a --resume whose config differs from the saved one (unless `--resume_allow_changes k1,k2`)
stop with one line and an exit code of common.errors.ExitCode before anything is written; a non-finite training loss
stops the run (exit 6) without overwriting the last good checkpoint.

Testing hook: the environment variable TRAIN_CRASH_AFTER_EPOCH=k makes the run raise right after epoch k
(1-based) has been completed and checkpointed, to exercise --resume.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from types import SimpleNamespace

import torch

from common import run_layout as layout
from common.atomic import torch_save_atomic, write_json_atomic
from common.errors import DivergedError, MissingInputError, UsageError, run_cli
from common.malloc import keep_freed_memory
from configs import apply_overrides, config_to_dict, load_config
from data.dataset import load_landmarks
from metrics.validation import dummy_baseline, format_metrics, score_predictions
from models import build_model
from models.weights import load_weights
from training import resume as ckpt
from training.data import Loaders, build_datasets, build_loaders, check_config_values, check_training_inputs
from training.distributed import (DistContext, all_gather_objects, barrier, broadcast_object, setup_distributed,
                                  teardown, unwrap, wrap_model)
from training.engine import Precision, TrainState, build_precision, train_one_epoch, validate
from training.logger import RunLogger
from training.optim import build_optimizer, build_scheduler
from training.seeding import RANDOM_SEED, collect_rng_states, draw_seed, restore_rng_states, set_seed

LOG = logging.getLogger("train")
CRASH_ENV = "TRAIN_CRASH_AFTER_EPOCH"


class InjectedCrash(RuntimeError):
    """Raised by the TRAIN_CRASH_AFTER_EPOCH testing hook."""


def parse_args(argv: list[str]) -> SimpleNamespace:
    """`-C/--config NAME [-G/--gpu_id IDS] [--key value ...]` -> the resolved config."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("-C", "--config", required=True, help="config module in configs/, e.g. cfg_1, cfg_2, demo_2")
    parser.add_argument("-G", "--gpu_id", default=None, help="sets CUDA_VISIBLE_DEVICES (e.g. 0 or 0,1)")
    parser.add_argument("--resume_allow_changes", default="",
                        help="with --resume: comma-separated config keys that may differ from the saved run's")
    args, overrides = parser.parse_known_args(argv)
    if args.gpu_id is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = args.gpu_id
    try:
        cfg = apply_overrides(load_config(args.config), overrides)
    except ValueError as e:
        raise UsageError(str(e)) from None
    cfg.resume_allow_changes = args.resume_allow_changes
    check_config_values(cfg)
    return cfg


def resolve_seed(cfg: SimpleNamespace, ctx: DistContext) -> None:
    """Fix cfg.seed (rank 0 decides: the resumed run's seed, or a fresh one for -1) and seed every generator."""
    if ctx.is_main:
        if cfg.resume:
            cfg.seed = ckpt.seed_to_resume(cfg)
        elif cfg.seed == RANDOM_SEED:
            cfg.seed = draw_seed()
    cfg.seed = broadcast_object(cfg.seed, ctx)
    set_seed(cfg.seed + ctx.rank)  # each rank draws its own augmentations and decoder masks


def save_resume_state(model, optimizer, scheduler, precision: Precision, state: TrainState, loaders: Loaders,
                      cfg: SimpleNamespace, ctx: DistContext) -> None:
    """Full training state, with the random states of every rank, written atomically by rank 0."""
    rng_states = all_gather_objects(collect_rng_states(loaders.train.dataset), ctx)
    if ctx.is_main:
        # The gradients accumulated since the last optimiser step: accumulation windows cross epochs (Q17).
        pending = {n: p.grad for n, p in unwrap(model).named_parameters() if p.grad is not None}
        torch_save_atomic({"model": finite_state_dict(model, cfg), "optimizer": optimizer.state_dict(),
                           "scheduler": scheduler.state_dict(), "scaler": precision.scaler.state_dict(),
                           "epoch": state.epoch, "iteration": state.iteration, "rng_states": rng_states,
                           "pending_grads": pending, "config": config_to_dict(cfg)}, layout.resume_path(cfg))


def restore_resume_state(model, optimizer, scheduler, precision: Precision, loaders: Loaders, logger: RunLogger,
                         cfg: SimpleNamespace, ctx: DistContext) -> TrainState:
    """Load the resume checkpoint into the bare model, optimiser, scheduler, scaler and random generators."""
    saved = ckpt.load_resume(cfg, map_location=ctx.device)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    new_schedule = scheduler.state_dict()
    scheduler.load_state_dict(saved["scheduler"])
    if cfg.resume_allow_changes:  # accepted changes (lr, epochs, ...) take effect: the new schedule, same position
        ckpt.apply_new_schedule(scheduler, optimizer, new_schedule, cfg)
    precision.scaler.load_state_dict(saved["scaler"])
    for name, param in model.named_parameters():
        param.grad = saved.get("pending_grads", {}).get(name)
    if len(saved["rng_states"]) == ctx.world_size:
        restore_rng_states(saved["rng_states"][ctx.rank], loaders.train.dataset)
    else:
        LOG.warning("resume: saved with %d processes, running %d; random streams restart",
                    len(saved["rng_states"]), ctx.world_size)
    logger.rewind(saved["iteration"])
    LOG.info("resumed %s after epoch %d (iteration %d)", layout.resume_path(cfg), saved["epoch"], saved["iteration"])
    return TrainState(epoch=saved["epoch"], iteration=saved["iteration"])


def run_validation(model, loaders: Loaders, precision: Precision, state: TrainState, logger: RunLogger,
                   cfg: SimpleNamespace, ctx: DistContext) -> dict[str, float] | None:
    """Validate, save val_data (rank 0), post-process, score with both metrics, print and log.

    The dummy-phrase baseline (`score_lev_dummy`, `score_dl_dummy`) is logged alongside as the floor to beat.
    """
    val_data = validate(model, loaders.val, precision, ctx)
    if not ctx.is_main:
        return None
    torch_save_atomic(val_data, layout.val_data_path(cfg))
    val_df = loaders.val.dataset.df
    metrics = {**score_predictions(val_data, val_df, cfg), **dummy_baseline(val_df)}
    LOG.info("epoch %d/%d validation: %s", state.epoch + 1, cfg.epochs, format_metrics(metrics))
    logger.log("val", metrics, epoch=state.epoch + 1, iteration=state.iteration,
               step=state.iteration * cfg.batch_size * ctx.world_size)
    logger.plot()
    return metrics


def is_eval_epoch(epoch: int, cfg: SimpleNamespace) -> bool:
    """After every cfg.eval_epochs epochs and after the last one (0-based `epoch`)."""
    return epoch == cfg.epochs - 1 or (cfg.eval_epochs > 0 and (epoch + 1) % cfg.eval_epochs == 0)


def is_resume_epoch(epoch: int, cfg: SimpleNamespace) -> bool:
    """Write a resume checkpoint after this epoch (never after the last: the final checkpoint follows)."""
    return cfg.ckpt_every_epochs > 0 and (epoch + 1) % cfg.ckpt_every_epochs == 0 and epoch < cfg.epochs - 1


def save_checkpoint(model, cfg: SimpleNamespace, ctx: DistContext) -> None:
    """The final-format checkpoint `{'model': state_dict}` (rank 0, atomically)."""
    if ctx.is_main:
        torch_save_atomic({"model": finite_state_dict(model, cfg)}, layout.checkpoint_path(cfg))


def finite_state_dict(model, cfg: SimpleNamespace) -> dict[str, torch.Tensor]:
    """The model's state dict; DivergedError (nothing written) if a tensor holds NaN/inf."""
    state = unwrap(model).state_dict()
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise DivergedError(f"{len(bad)} of {len(state)} weight tensors are non-finite (e.g. {bad[0]}); not "
                            f"writing them over the last good files in {layout.run_dir(cfg)}")
    return state


def fit(cfg: SimpleNamespace, ctx: DistContext,
        batch_order: list[list[list[int]]] | None = None) -> dict[str, float] | None:
    """Build everything, train cfg.epochs epochs, validate on the cadence, write the outputs; last val metrics.

    `batch_order` (tests only): the train batches of every epoch as data-set indices instead of the shuffle.
    """
    loaders = build_loaders(*build_datasets(cfg), cfg, ctx, batch_order=batch_order)
    model = build_model(cfg, load_landmarks(cfg)).to(ctx.device)
    if cfg.init_weights:
        load_weights(model, cfg.init_weights, strict=True)
        LOG.info("initial weights from %s", cfg.init_weights)
    LOG.info("model %s: %d trainable parameters; %d train / %d val samples; device %s x%d", cfg.model,
             sum(p.numel() for p in model.parameters() if p.requires_grad), len(loaders.train.dataset),
             len(loaders.val.dataset), ctx.device, ctx.world_size)
    optimizer = build_optimizer(model, cfg)
    scheduler = build_scheduler(optimizer, cfg, len(loaders.train.dataset), ctx.world_size)
    precision = build_precision(cfg, ctx.device)
    logger = RunLogger(cfg, layout.run_dir(cfg), enabled=ctx.is_main)
    logger.log_config(config_to_dict(cfg))
    state = TrainState()
    if cfg.resume:
        state = restore_resume_state(model, optimizer, scheduler, precision, loaders, logger, cfg, ctx)
    if cfg.compile:
        model.compile()  # in place: state-dict keys, checkpoints and unwrap() are unchanged
    model = wrap_model(model, ctx)
    metrics = None
    crash_after = int(os.environ.get(CRASH_ENV, "0"))
    for epoch in range(state.epoch, cfg.epochs):
        if loaders.train_sampler is not None:
            loaders.train_sampler.set_epoch(epoch)
        start = time.time()
        loss = train_one_epoch(model, loaders.train, optimizer, scheduler, precision, state, cfg, ctx, logger)
        LOG.info("epoch %d/%d: mean train loss %.4f, lr %.2e, %.1f s", epoch + 1, cfg.epochs, loss,
                 optimizer.param_groups[0]["lr"], time.time() - start)
        if is_eval_epoch(epoch, cfg):
            metrics = run_validation(model, loaders, precision, state, logger, cfg, ctx)
        state.epoch = epoch + 1
        if not cfg.save_only_last_ckpt and epoch < cfg.epochs - 1:  # the last epoch's is written below
            save_checkpoint(model, cfg, ctx)
        if is_resume_epoch(epoch, cfg):
            save_resume_state(model, optimizer, scheduler, precision, state, loaders, cfg, ctx)
        if crash_after == state.epoch:
            raise InjectedCrash(f"{CRASH_ENV}={crash_after}: stopping after epoch {state.epoch}")
    save_checkpoint(model, cfg, ctx)
    if ctx.is_main:
        layout.resume_path(cfg).unlink(missing_ok=True)
        LOG.info("saved %s", layout.checkpoint_path(cfg))
    logger.close()
    del model, optimizer, scheduler  # free the DDP reducer before the process group goes (see teardown)
    return metrics


def check_before_writing(cfg: SimpleNamespace) -> None:
    """Rank 0, before anything is written: every input file, and on --resume the saved config against this one."""
    check_training_inputs(cfg)
    if cfg.init_weights and not os.path.isfile(cfg.init_weights):
        raise MissingInputError(f"--init_weights {cfg.init_weights} does not exist")
    if cfg.resume:
        saved = ckpt.load_resume(cfg)
        allowed = {k.strip() for k in cfg.resume_allow_changes.split(",") if k.strip()}
        ckpt.check_resume_config(saved["config"], config_to_dict(cfg), allowed, layout.resume_path(cfg))


def main(argv: list[str] | None = None) -> dict[str, float] | None:
    """Parse, set up (distributed) devices and seeds, train; returns the last validation metrics on rank 0."""
    cfg = parse_args(sys.argv[1:] if argv is None else argv)
    keep_freed_memory()  # no page-faulting of every step's activations on CPU (common/malloc.py)
    ctx = setup_distributed(cfg.device)
    logging.basicConfig(level=logging.INFO if ctx.is_main else logging.WARNING,
                        format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S", force=True)
    lock = None
    try:
        resolve_seed(cfg, ctx)
        LOG.info("config %s, fold %d, seed %d", cfg.name, cfg.fold, cfg.seed)
        if ctx.is_main:
            check_before_writing(cfg)
            lock = ckpt.RunLock(layout.lock_path(cfg)).acquire()
            write_json_atomic(config_to_dict(cfg), layout.config_path(cfg))
        barrier(ctx)
        return fit(cfg, ctx)
    finally:
        if lock is not None:
            lock.release()
        teardown(ctx)


def cli(argv: list[str] | None = None) -> int:
    """The command line: expected errors print one line and exit with their code (common.errors)."""
    def run(args: list[str] | None) -> int:
        main(sys.argv[1:] if args is None else args)
        return 0
    return run_cli("train", run, argv)


if __name__ == "__main__":
    sys.exit(cli())
