"""Run logging: a local JSONL metrics file and a PNG of the curves in every mode, plus optional neptune.

Modes (`cfg.logger`, `cfg.neptune_mode`):

* `logger='none'`: local files only.
* `logger='neptune'`, `neptune_mode='offline'` (default): neptune writes its run data under
  `{run_dir}/neptune/` (through NEPTUNE_DATA_DIRECTORY); no network, no token. Upload later with `neptune sync`.
* `neptune_mode='async'`: live upload, only when `cfg.neptune_project` and the NEPTUNE_API_TOKEN environment
  variable are both set; otherwise it falls back to offline with a warning.
* `neptune_mode='debug'`: neptune's no-op mode (for tests).

NOTE(original): the original made neptune mandatory (Q23); here it is optional and never blocks training.
Only the process that creates the logger with `enabled=True` (rank 0) writes anything.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from common.atomic import write_text_atomic
from common.run_layout import curves_name, metrics_name

LOG = logging.getLogger(__name__)
LOGGER_CHOICES = ("neptune", "none")
NEPTUNE_MODES = ("offline", "async", "debug")
TOKEN_ENV = "NEPTUNE_API_TOKEN"
DATA_DIR_ENV = "NEPTUNE_DATA_DIRECTORY"


def resolve_neptune_mode(cfg: SimpleNamespace) -> str | None:
    """The neptune mode to use, or None for local files only."""
    if cfg.logger not in LOGGER_CHOICES:
        raise ValueError(f"cfg.logger={cfg.logger!r}; expected one of {LOGGER_CHOICES}")
    if cfg.logger == "none":
        return None
    if cfg.neptune_mode not in NEPTUNE_MODES:
        raise ValueError(f"cfg.neptune_mode={cfg.neptune_mode!r}; expected one of {NEPTUNE_MODES}")
    if cfg.neptune_mode == "async" and not (cfg.neptune_project and os.environ.get(TOKEN_ENV)):
        LOG.warning("neptune_mode='async' needs cfg.neptune_project and %s; logging offline instead", TOKEN_ENV)
        return "offline"
    return cfg.neptune_mode


def _start_neptune(mode: str, cfg: SimpleNamespace, run_dir: Path):
    """Create the neptune run (imported lazily: importing neptune takes seconds)."""
    import neptune

    os.environ[DATA_DIR_ENV] = str(run_dir / "neptune")
    kwargs: dict[str, Any] = dict(mode=mode, capture_stdout=False, capture_stderr=False, capture_traceback=False,
                                  capture_hardware_metrics=False, git_ref=False, source_files=[],
                                  tags=[cfg.name], name=f"{cfg.name}_fold{cfg.fold}_seed{cfg.seed}")
    if mode == "async":
        kwargs.update(project=cfg.neptune_project, api_token=os.environ[TOKEN_ENV])
    return neptune.init_run(**kwargs)


class RunLogger:
    """Writes `metrics_seed{seed}.jsonl` and `curves_seed{seed}.png` into `run_dir`, and mirrors to neptune."""

    def __init__(self, cfg: SimpleNamespace, run_dir: str | Path, enabled: bool = True):
        self.enabled = enabled
        self.run_dir = Path(run_dir)
        self.metrics_path = self.run_dir / metrics_name(cfg.seed)
        self.png_path = self.run_dir / curves_name(cfg.seed)
        self.records: list[dict[str, Any]] = []
        self.neptune = None
        if not enabled:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        mode = resolve_neptune_mode(cfg)
        self.neptune = _start_neptune(mode, cfg, self.run_dir) if mode else None
        if not cfg.resume:
            self.metrics_path.unlink(missing_ok=True)
        else:
            self.records = read_metrics(self.metrics_path) if self.metrics_path.exists() else []

    def rewind(self, iteration: int) -> None:
        """On resume: forget records written after `iteration` (by the interrupted run) and rewrite the file."""
        if not self.enabled:
            return
        self.records = [r for r in self.records if r["iteration"] <= iteration]
        write_text_atomic("".join(json.dumps(r) + "\n" for r in self.records), self.metrics_path)

    def log_config(self, cfg_dict: dict[str, Any]) -> None:
        """Record the resolved config (neptune only: the JSON file is written by train.py)."""
        if self.neptune is not None:
            self.neptune["cfg"] = json.dumps(cfg_dict)

    def log(self, split: str, values: dict[str, float], **position: int) -> None:
        """Append `values` (e.g. {'loss': .., 'lr': ..}) under `split` ('train' or 'val') at `position`.

        `position` holds `epoch`, `iteration` and `step` (= samples seen, the original's neptune step).
        """
        if not self.enabled:
            return
        record = {"split": split, **position, **{k: float(v) for k, v in values.items()}}
        self.records.append(record)
        with self.metrics_path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        if self.neptune is not None:
            for key, value in values.items():
                self.neptune[f"{split}/{key}"].append(float(value), step=position.get("step"))

    def plot(self) -> None:
        """(Re)write the PNG of the training loss and the validation scores."""
        if self.enabled and self.records:
            plot_curves(self.records, self.png_path)

    def close(self) -> None:
        """Write the final PNG and stop neptune (flushes the offline files)."""
        self.plot()
        if self.neptune is not None:
            self.neptune.stop()
            self.neptune = None


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The records of a metrics JSONL file (a last line cut short by a killed run is ignored)."""
    lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
    records = []
    for i, line in enumerate(lines):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if i < len(lines) - 1:
                raise ValueError(f"{path}: line {i + 1} is not JSON") from None
    return records


def plot_curves(records: list[dict[str, Any]], png_path: str | Path) -> None:
    """Training loss (per iteration) on the left, validation scores (per epoch) on the right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [r for r in records if r["split"] == "train"]
    val = [r for r in records if r["split"] == "val"]
    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(11, 4))
    for key in sorted({k for r in train for k in r if k.startswith("loss")}):
        points = [(r["iteration"], r[key]) for r in train if key in r]
        ax_loss.plot(*zip(*points), label=key, linewidth=0.8)
    ax_loss.set(xlabel="iteration", ylabel="loss", title="training loss")
    for key in sorted({k for r in val for k in r if k.startswith("score")}):
        points = [(r["epoch"], r[key]) for r in val if key in r]
        ax_val.plot(*zip(*points), marker="o", label=key)
    ax_val.set(xlabel="epoch", ylabel="score", title="validation")
    for ax in (ax_loss, ax_val):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png_path, dpi=80)
    plt.close(fig)
