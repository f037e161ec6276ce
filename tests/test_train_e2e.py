"""train.py end to end on a tiny datamount: outputs, learning, resume after a crash, two-process gloo DDP."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import train
from tests.train_helpers import run_train, tiny_overrides
from training.logger import read_metrics

ROOT = Path(__file__).resolve().parents[1]
SEED = 3


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def train_losses(run_dir: Path, seed: int = SEED) -> dict[int, list[float]]:
    """Training losses by epoch from the metrics file."""
    out: dict[int, list[float]] = {}
    for r in read_metrics(run_dir / f"metrics_seed{seed}.jsonl"):
        if r["split"] == "train":
            out.setdefault(r["epoch"], []).append(r["loss"])
    return out


@pytest.mark.slow
def test_round2_tiny_run_learns_and_writes_outputs(mount, tmp_path):
    metrics = run_train("demo_2", -1, mount, tmp_path, epochs=4, eval_epochs=2)
    run_dir = tmp_path / "fold-1"
    for name in ("checkpoint_last_seed3.pth", "val_data_seed3.pth", "config_seed3.json", "metrics_seed3.jsonl",
                 "curves_seed3.png"):
        assert (run_dir / name).is_file(), name
    assert not (run_dir / "resume_seed3.pth").exists()  # removed once the run finished
    state = torch.load(run_dir / "checkpoint_last_seed3.pth", weights_only=True)
    assert set(state) == {"model"} and not any(k.startswith("module.") for k in state["model"])
    assert "aux_fc.weight" in state["model"] and "decoder2.lm_head.weight" in state["model"]
    val = torch.load(run_dir / "val_data_seed3.pth", weights_only=True)
    n_val = 6  # fold 0 = participants 0 and 4 -> participant 0 only: 6 rows
    assert val["generated_ids"].shape == (n_val, 33) and val["seq_len"].shape == (n_val,)
    assert val["aux_logits"].shape == (n_val, 1) and val["loss"].dim() == 1
    losses = train_losses(run_dir)
    first, last = sum(losses[0]) / len(losses[0]), sum(losses[3]) / len(losses[3])
    assert last < first - 0.5, (first, last)
    assert set(metrics) >= {"score_lev", "score_dl", "score_lev_pp", "score_dl_pp", "score_lev_dummy", "loss"}
    val_records = [r for r in read_metrics(run_dir / "metrics_seed3.jsonl") if r["split"] == "val"]
    assert [r["epoch"] for r in val_records] == [2, 4]
    cfg = json.loads((run_dir / "config_seed3.json").read_text())
    assert cfg["seed"] == SEED and cfg["name"] == "demo_2" and cfg["encoder_dim"] == 32


@pytest.mark.slow
def test_round1_tiny_run_and_random_seed(mount, tmp_path):
    metrics = run_train("demo_1", 1, mount, tmp_path, epochs=1, eval_epochs=1, seed=-1)
    run_dir = tmp_path / "fold1"
    (config_file,) = run_dir.glob("config_seed*.json")
    seed = json.loads(config_file.read_text())["seed"]
    assert 0 <= seed < 1_000_000
    assert (run_dir / f"checkpoint_last_seed{seed}.pth").is_file()
    val = torch.load(run_dir / f"val_data_seed{seed}.pth", weights_only=True)
    assert val["generated_ids"].shape == (6, 33) and "aux_logits" not in val
    assert "score_dl_pp" in metrics


@pytest.mark.slow
def test_crash_and_resume_equals_an_uninterrupted_run(mount, tmp_path, monkeypatch):
    common = dict(epochs=4, eval_epochs=2, ckpt_every_epochs=1)
    run_train("demo_2", -1, mount, tmp_path / "straight", **common)
    monkeypatch.setenv(train.CRASH_ENV, "2")
    with pytest.raises(train.InjectedCrash):
        run_train("demo_2", -1, mount, tmp_path / "resumed", **common)
    run_dir = tmp_path / "resumed" / "fold-1"
    assert (run_dir / "resume_seed3.pth").is_file() and not (run_dir / "checkpoint_last_seed3.pth").exists()
    monkeypatch.delenv(train.CRASH_ENV)
    run_train("demo_2", -1, mount, tmp_path / "resumed", resume=True, seed=-1, **common)  # seed found from the file
    a = torch.load(tmp_path / "straight" / "fold-1" / "checkpoint_last_seed3.pth", weights_only=True)["model"]
    b = torch.load(run_dir / "checkpoint_last_seed3.pth", weights_only=True)["model"]
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    straight = read_metrics(tmp_path / "straight" / "fold-1" / "metrics_seed3.jsonl")
    resumed = read_metrics(run_dir / "metrics_seed3.jsonl")
    assert [(r["split"], r["iteration"]) for r in resumed] == [(r["split"], r["iteration"]) for r in straight]
    assert [r.get("lr") for r in resumed] == [r.get("lr") for r in straight]


def test_resume_without_checkpoint_is_a_clear_error(mount, tmp_path):
    with pytest.raises(FileNotFoundError, match="resume_seed5.pth"):
        run_train("demo_2", -1, mount, tmp_path, resume=True, seed=5)


@pytest.mark.slow
def test_two_process_gloo_ddp_matches_single_process_keys(mount, tmp_path):
    argv = ["-C", "demo_2", "--fold", "-1", *tiny_overrides(mount, tmp_path / "ddp", train_df=mount.oof_supp,
                                                              epochs=1, eval_epochs=1)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             str(ROOT / "train.py"), *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    run_train("demo_2", -1, mount, tmp_path / "single", epochs=1, eval_epochs=1)
    ddp = torch.load(tmp_path / "ddp" / "fold-1" / "checkpoint_last_seed3.pth", weights_only=True)["model"]
    single = torch.load(tmp_path / "single" / "fold-1" / "checkpoint_last_seed3.pth", weights_only=True)["model"]
    assert list(ddp) == list(single)
    val = torch.load(tmp_path / "ddp" / "fold-1" / "val_data_seed3.pth", weights_only=True)
    single_val = torch.load(tmp_path / "single" / "fold-1" / "val_data_seed3.pth", weights_only=True)
    assert val["generated_ids"].shape == single_val["generated_ids"].shape  # sampler padding dropped
    assert torch.equal(val["seq_len"], single_val["seq_len"])  # gathered back into data-set order
    records = read_metrics(tmp_path / "ddp" / "fold-1" / "metrics_seed3.jsonl")
    assert records[-1]["split"] == "val"
    train_iterations = [r["iteration"] for r in records if r["split"] == "train"]
    assert train_iterations == list(range(1, 5))  # 26 items / (4 per batch x 2 ranks) -> 4 iterations, rank 0 only
