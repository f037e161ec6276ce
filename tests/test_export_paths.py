"""common.run_layout: where the round-2 checkpoints are found by default (no TensorFlow needed)."""
from __future__ import annotations

import pytest

from configs import load_config
from common.run_layout import default_checkpoints, full_fit_dir


def test_first_two_sorted_checkpoints(tmp_path):
    cfg = load_config("demo_2")
    cfg.output_dir = str(tmp_path / "weights" / "demo_2")
    folder = full_fit_dir(cfg)
    folder.mkdir(parents=True)
    for name in ("checkpoint_last_seed3.pth", "checkpoint_last_seed1.pth", "checkpoint_last_seed2.pth",
                 "val_data_seed1.pth"):
        (folder / name).touch()
    assert [p.name for p in default_checkpoints(cfg)] == ["checkpoint_last_seed1.pth", "checkpoint_last_seed2.pth"]
    assert [p.name for p in default_checkpoints(cfg, n=1)] == ["checkpoint_last_seed1.pth"]


def test_missing_checkpoints_name_the_folder(tmp_path):
    cfg = load_config("demo_2")
    cfg.output_dir = str(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="fold-1.*train.py -C demo_2 --fold -1"):
        default_checkpoints(cfg)


def test_scoring_predict_and_training_never_import_tensorflow():
    """TensorFlow belongs to models/keras and the conversion only (LiteRT runs without it)."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys; import scripts.predict, scripts.score_tflite, export.scoring, inference.torch_graph, "
            "models, train; print('tensorflow' in sys.modules or 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
