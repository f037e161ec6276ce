"""The run folder layout: every file name a training run or an export writes or looks for, in one place.

Named `run_layout` (not `paths` or `checkpointing`) because it owns the *layout* of a run folder and nothing else:
`training/resume.py` reads the resume state, `export/` converts, `scripts/run_demo.py` lists the
files each step must produce; they all spell names through here. It lives in `common/` and imports neither torch
nor TensorFlow, so scoring, predict and the demo driver can use it cheaply.

    {output_dir}/fold{fold}/                   run_dir(cfg); fold -1 (FULL_FIT_FOLD) is round 2's full fit
        checkpoint_last_seed{s}.pth            checkpoint_path(cfg)   final weights {'model': state_dict}
        resume_seed{s}.pth                     resume_path(cfg)       full training state for --resume
        val_data_seed{s}.pth                   val_data_path(cfg)     validation outputs (round-1 OOF input)
        config_seed{s}.json                    config_path(cfg)       resolved config
        metrics_seed{s}.jsonl, curves_seed{s}.png                     training/logger.py
        .lock_seed{s}                          lock_path(cfg)
        saved_model/, model.tflite, inference_args.json, parity_report.json     the export (fold-1)
        tflite_score.json, tflite_predictions.csv                               scripts/score_tflite.py
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

FULL_FIT_FOLD_NUMBER: int = -1  # round 2 trains on every fold
CHECKPOINT_GLOB: str = "checkpoint_*.pth"
VAL_DATA_GLOB: str = "val_data_seed*.pth"
RESUME_GLOB: str = "resume_seed*.pth"
CONFIG_GLOB: str = "config_seed*.json"
N_SEEDS: int = 2  # the original ensembles the first two checkpoints
TFLITE_NAME: str = "model.tflite"
SAVED_MODEL_NAME: str = "saved_model"
INFERENCE_ARGS_NAME: str = "inference_args.json"  # also the datamount's npy folder's column list
PARITY_JSON: str = "parity_report.json"
SCORE_JSON: str = "tflite_score.json"
PREDICTIONS_CSV: str = "tflite_predictions.csv"


def fold_dir_name(fold: int) -> str:
    """`fold{fold}`, e.g. fold0 or fold-1."""
    return f"fold{fold}"


FULL_FIT_FOLD: str = fold_dir_name(FULL_FIT_FOLD_NUMBER)  # "fold-1": round 2's checkpoints and the export


def fold_dir(output_dir: str | Path, fold: int) -> Path:
    """`{output_dir}/fold{fold}`: the run folder of one fold of a config."""
    return Path(output_dir) / fold_dir_name(fold)


def checkpoint_name(seed: int) -> str:
    return f"checkpoint_last_seed{seed}.pth"


def val_data_name(seed: int) -> str:
    return f"val_data_seed{seed}.pth"


def resume_name(seed: int) -> str:
    return f"resume_seed{seed}.pth"


def config_name(seed: int) -> str:
    return f"config_seed{seed}.json"


def metrics_name(seed: int) -> str:
    return f"metrics_seed{seed}.jsonl"


def curves_name(seed: int) -> str:
    return f"curves_seed{seed}.png"


def lock_name(seed: int) -> str:
    return f".lock_seed{seed}"


def seed_of_resume(path: Path) -> int:
    """The seed in a `resume_seed{s}.pth` name."""
    return int(path.stem.removeprefix("resume_seed"))


def config_of_checkpoint(checkpoint: str | Path) -> Path | None:
    """`config_seed{s}.json` beside a `checkpoint_last_seed{s}.pth` (same folder, same seed); None for a file not
    named like train.py's checkpoints (its config is unknown)."""
    checkpoint = Path(checkpoint)
    prefix, suffix = checkpoint_name(0).split("0")
    seed = checkpoint.name.removeprefix(prefix).removesuffix(suffix)
    if checkpoint.name != prefix + seed + suffix or not seed.lstrip("-").isdigit():
        return None
    return checkpoint.with_name(config_name(int(seed)))


def run_dir(cfg: SimpleNamespace) -> Path:
    """`{output_dir}/fold{fold}` (e.g. datamount/weights/cfg_2/fold-1)."""
    return fold_dir(cfg.output_dir, cfg.fold)


def checkpoint_path(cfg: SimpleNamespace) -> Path:
    """Final weights `{'model': state_dict}`."""
    return run_dir(cfg) / checkpoint_name(cfg.seed)


def val_data_path(cfg: SimpleNamespace) -> Path:
    """Validation outputs (generated_ids, seq_len, aux_logits, per-batch losses)."""
    return run_dir(cfg) / val_data_name(cfg.seed)


def resume_path(cfg: SimpleNamespace) -> Path:
    """Full training state for --resume."""
    return run_dir(cfg) / resume_name(cfg.seed)


def config_path(cfg: SimpleNamespace) -> Path:
    """Resolved config (one per seed: round 2 puts two seeds into the same fold folder)."""
    return run_dir(cfg) / config_name(cfg.seed)


def lock_path(cfg: SimpleNamespace) -> Path:
    """The lock of a (fold, seed) run: two runs of the same seed must not write into one folder."""
    return run_dir(cfg) / lock_name(cfg.seed)


def full_fit_dir(cfg: SimpleNamespace) -> Path:
    """{cfg.output_dir}/fold-1: where the round-2 checkpoints and the export live."""
    return fold_dir(cfg.output_dir, FULL_FIT_FOLD_NUMBER)


def default_checkpoints(cfg: SimpleNamespace, n: int = N_SEEDS) -> list[Path]:
    """The first `n` of the sorted checkpoint_*.pth files of the config's full-fit folder."""
    folder = full_fit_dir(cfg)
    found = sorted(folder.glob(CHECKPOINT_GLOB))
    if not found:
        raise FileNotFoundError(f"no {CHECKPOINT_GLOB} in {folder}: train with `python train.py -C {cfg.name} "
                                f"--fold -1` first, or pass --checkpoints")
    return found[:n]
