"""The training BAD cases of issue 9: a non-finite loss stops the run and keeps the good checkpoint (3), a changed
config on --resume is refused unless allowed (5), one run per (fold, seed) folder (6), exact resume when the
accumulation windows cross epochs (9)."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

import train
from common import run_layout as layout
from common.errors import ExitCode
from tests.train_helpers import make_datamount, tiny_overrides
from training.resume import RunLock
from training.logger import read_metrics

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def argv(mount, out, **extra) -> list[str]:
    return ["-C", "demo_2", "--fold", "-1", *tiny_overrides(mount, out, train_df=mount.oof_supp, **extra)]


def cli(mount, out, capsys, *more: str, **extra) -> tuple[int, str]:
    """train.cli -> (exit code, stderr)."""
    capsys.readouterr()
    code = train.cli(argv(mount, out, **extra) + list(more))
    return code, capsys.readouterr().err


def weights(path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["model"]


@pytest.mark.slow
def test_3_non_finite_loss_stops_and_keeps_the_good_checkpoint(mount, tmp_path, capsys):
    assert cli(mount, tmp_path, capsys, epochs=1)[0] == ExitCode.OK
    good = (tmp_path / "fold-1" / "checkpoint_last_seed3.pth").read_bytes()
    code, err = cli(mount, tmp_path, capsys, epochs=2, lr=1e38, grad_accumulation=1)
    assert code == ExitCode.DIVERGED, err
    line = err.strip().splitlines()[-1]
    assert "training loss is" in line and "iteration" in line and "phrases" in line and "Traceback" not in err
    assert (tmp_path / "fold-1" / "checkpoint_last_seed3.pth").read_bytes() == good


@pytest.mark.slow
def test_3_inf_in_a_training_file_stops_with_its_name(tmp_path, capsys):
    bad_mount = make_datamount(tmp_path / "dm")
    path = bad_mount.npy_path(0, 0)
    x = np.load(path)
    x[2, 5] = np.inf
    np.save(path, x)
    code, err = cli(bad_mount, tmp_path / "out", capsys, epochs=1)
    assert code == ExitCode.BAD_INPUT and f"{path}: holds +-inf" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "fold-1" / "checkpoint_last_seed3.pth").exists()


def crash_after_epoch_1(mount, out, monkeypatch, **extra) -> None:
    monkeypatch.setenv(train.CRASH_ENV, "1")
    with pytest.raises(train.InjectedCrash):
        train.main(argv(mount, out, ckpt_every_epochs=1, **extra))
    monkeypatch.delenv(train.CRASH_ENV)


@pytest.mark.slow
def test_5_changed_config_on_resume_is_refused_unless_allowed(mount, tmp_path, monkeypatch, capsys):
    crash_after_epoch_1(mount, tmp_path, monkeypatch, epochs=3)
    saved_config = (tmp_path / "fold-1" / "config_seed3.json").read_text()
    code, err = cli(mount, tmp_path, capsys, resume=True, epochs=6, lr=0.1, ckpt_every_epochs=1)
    assert code == ExitCode.CONFLICT and "epochs: 3 -> 6" in err and "lr: 0.003 -> 0.1" in err
    assert "--resume_allow_changes epochs,lr" in err.strip().splitlines()[-1] and "Traceback" not in err
    code, err = cli(mount, tmp_path, capsys, resume=True, epochs=3, encoder_dim=48, ckpt_every_epochs=1)
    assert code == ExitCode.CONFLICT and "encoder_dim: 32 -> 48" in err and "size mismatch" not in err
    assert (tmp_path / "fold-1" / "config_seed3.json").read_text() == saved_config  # nothing written
    code, err = cli(mount, tmp_path, capsys, "--resume_allow_changes", "epochs,lr", resume=True, epochs=6, lr=0.1,
                    ckpt_every_epochs=1)
    assert code == ExitCode.OK, err
    lrs = [r["lr"] for r in read_metrics(tmp_path / "fold-1" / "metrics_seed3.jsonl") if r["split"] == "train"]
    assert max(lrs) > 0.05  # the new peak lr is used, not the saved schedule's 3e-3
    assert json.loads((tmp_path / "fold-1" / "config_seed3.json").read_text())["epochs"] == 6


@pytest.mark.slow
def test_6_a_second_run_into_the_same_folder_is_refused(mount, tmp_path, capsys):
    cfg = train.parse_args(argv(mount, tmp_path))
    with RunLock(layout.lock_path(cfg)):
        code, err = cli(mount, tmp_path, capsys, epochs=1)
    assert code == ExitCode.CONFLICT and "in use by another run" in err and f"pid {os.getpid()}" in err
    assert not (tmp_path / "fold-1" / "config_seed3.json").exists()
    # a lock left by a run that died is taken over with a warning
    layout.lock_path(cfg).write_text(json.dumps({"pid": 2**22 + 12345, "host": os.uname().nodename,
                                               "started": "2024-01-01 00:00:00"}))
    code, err = cli(mount, tmp_path, capsys, epochs=1)
    assert code == ExitCode.OK and "stale lock" in err and "dead" in err


@pytest.mark.slow
@pytest.mark.parametrize("grad_accumulation", [2, 4])
def test_9_resume_is_exact_when_accumulation_crosses_epochs(mount, tmp_path, monkeypatch, grad_accumulation):
    """26 items / batch 5 = 6 iterations per epoch: with accumulation 4 a window is open at every epoch end."""
    common = dict(epochs=3, eval_epochs=3, batch_size=5, grad_accumulation=grad_accumulation)
    train.main(argv(mount, tmp_path / "straight", **common))
    crash_after_epoch_1(mount, tmp_path / "resumed", monkeypatch, **common)
    train.main(argv(mount, tmp_path / "resumed", resume=True, ckpt_every_epochs=1, **common))
    a = weights(tmp_path / "straight" / "fold-1" / "checkpoint_last_seed3.pth")
    b = weights(tmp_path / "resumed" / "fold-1" / "checkpoint_last_seed3.pth")
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
