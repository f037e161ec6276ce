"""scripts/benchmark_learning.py: N seeds in parallel processes, one score line per seed, mean +- sd in a JSON report."""
from __future__ import annotations

import json

import pytest

from scripts import benchmark_learning
from tests.train_helpers import make_datamount

TINY = ["--encoder_dim", "32", "--num_layers", "1", "--decoder_ffn_dim", "32", "--decoder_layers", "1",
        "--max_len", "32", "--conv_kernel_size", "5", "--batch_size", "4", "--grad_accumulation", "2", "--epochs", "1",
        "--warmup_epochs", "1", "--eval_epochs", "1"]


def test_summary_is_mean_and_sample_sd():
    per_seed = {1: {"score_lev": 0.2, "score_lev_pp": 0.3, "score_lev_dummy": 0.1},
                2: {"score_lev": 0.4, "score_lev_pp": 0.3, "score_lev_dummy": 0.1}}
    summary = benchmark_learning.summarize(per_seed)
    assert summary["score_lev"]["mean"] == pytest.approx(0.3)
    assert summary["score_lev"]["sd"] == pytest.approx(0.1414213562)  # sample sd: sqrt(0.02 / 1)
    assert summary["score_lev_pp"]["sd"] == 0.0


@pytest.mark.slow
def test_two_seeds_end_to_end(tmp_path, capsys):
    mount = make_datamount(tmp_path / "dm")
    report = tmp_path / "learning.json"
    assert benchmark_learning.main(["--seeds", "2", "--jobs", "2", "--datamount", str(mount.root),
                                    "--output", str(tmp_path / "runs"), "--report", str(report), "--", *TINY]) == 0
    data = json.loads(report.read_text())
    assert data["seeds"] == [1, 2] and set(data["per_seed"]) == {"1", "2"}
    assert data["summary"]["score_lev"]["mean"] <= 1.0  # (N - edits) / N: negative for a 1-epoch model
    assert data["summary"]["score_lev_dummy"]["sd"] == 0.0  # the same fold 0 rows for every seed
    for seed in (1, 2):
        config = json.loads((tmp_path / "runs" / f"seed{seed}" / "fold0" / f"config_seed{seed}.json").read_text())
        assert config["seed"] == seed and config["encoder_dim"] == 32 and config["data_folder"].startswith(str(mount.root))
    assert "mean +- sd" in capsys.readouterr().out


def test_missing_datamount_is_one_clear_error(tmp_path, capsys):
    assert benchmark_learning.main(["--datamount", str(tmp_path / "nope")]) == 3
    assert "prepare the data first" in capsys.readouterr().err
