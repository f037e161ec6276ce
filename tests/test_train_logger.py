"""training.logger: local metrics + PNG in every mode, neptune offline under the run folder, safe fallbacks."""
from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from training.logger import DATA_DIR_ENV, TOKEN_ENV, RunLogger, read_metrics, resolve_neptune_mode


def cfg(**kw) -> SimpleNamespace:
    base = dict(name="demo_2", fold=-1, seed=7, logger="none", neptune_mode="offline", neptune_project="",
                resume=False)
    return SimpleNamespace(**{**base, **kw})


def log_a_run(logger: RunLogger) -> None:
    for i in range(1, 5):
        logger.log("train", {"loss": 4.0 / i, "loss_ce": 3.0 / i, "lr": 1e-3}, epoch=0, iteration=i, step=32 * i)
    logger.log("val", {"score_lev": 0.2, "score_dl": 0.21, "score_lev_dummy": 0.1}, epoch=1, iteration=4, step=128)
    logger.close()


def test_local_files_without_neptune(tmp_path):
    logger = RunLogger(cfg(), tmp_path)
    log_a_run(logger)
    records = read_metrics(tmp_path / "metrics_seed7.jsonl")
    assert [r["split"] for r in records] == ["train"] * 4 + ["val"]
    assert records[1] == {"split": "train", "epoch": 0, "iteration": 2, "step": 64, "loss": 2.0, "loss_ce": 1.5,
                          "lr": 1e-3}
    assert (tmp_path / "curves_seed7.png").stat().st_size > 1000
    assert not (tmp_path / "neptune").exists()


def test_disabled_logger_writes_nothing(tmp_path):
    log_a_run(RunLogger(cfg(logger="neptune"), tmp_path, enabled=False))
    assert list(tmp_path.iterdir()) == []


def test_rewind_drops_records_of_the_interrupted_run(tmp_path):
    logger = RunLogger(cfg(), tmp_path)
    log_a_run(logger)
    resumed = RunLogger(cfg(resume=True), tmp_path)
    resumed.rewind(2)
    assert [r["iteration"] for r in read_metrics(tmp_path / "metrics_seed7.jsonl")] == [1, 2]


@pytest.mark.slow
def test_neptune_offline_writes_under_the_run_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    logger = RunLogger(cfg(logger="neptune"), tmp_path)
    logger.log_config({"lr": 1e-3})
    log_a_run(logger)
    offline = list((tmp_path / "neptune" / "offline").iterdir())
    assert len(offline) == 1 and any(offline[0].iterdir())
    assert (tmp_path / "metrics_seed7.jsonl").exists()


def test_mode_resolution(monkeypatch, caplog):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert resolve_neptune_mode(cfg()) is None
    assert resolve_neptune_mode(cfg(logger="neptune")) == "offline"
    assert resolve_neptune_mode(cfg(logger="neptune", neptune_mode="debug")) == "debug"
    with caplog.at_level(logging.WARNING):
        assert resolve_neptune_mode(cfg(logger="neptune", neptune_mode="async", neptune_project="me/p")) == "offline"
    assert "logging offline instead" in caplog.text
    monkeypatch.setenv(TOKEN_ENV, "token")
    assert resolve_neptune_mode(cfg(logger="neptune", neptune_mode="async", neptune_project="me/p")) == "async"
    assert resolve_neptune_mode(cfg(logger="neptune", neptune_mode="async")) == "offline"  # no project
    with pytest.raises(ValueError, match="cfg.logger='wandb'"):
        resolve_neptune_mode(cfg(logger="wandb"))
    with pytest.raises(ValueError, match="cfg.neptune_mode='online'"):
        resolve_neptune_mode(cfg(logger="neptune", neptune_mode="online"))
