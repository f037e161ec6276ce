"""Parity with the original TF export on the golden fixtures (SPEC §9.5, §11).

The two fixture checkpoints (`cfg_2_state_dict.pth` = seed 1, `cfg_2_checkpoint_seed2.pth` = seed 2) must
reproduce `tf_expected_outputs_{i}.npy` (outputs of the original's SavedModel) for `tf_raw_input_{i}.npy`:
same decoded strings; logits within 1e-4 for the PyTorch pipeline and the fp32 graph, 2e-3 for fp16 TFLite.
"""
from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("tensorflow")

from configs import load_config  # noqa: E402
from data.tokenizer import decode  # noqa: E402
from inference.torch_graph import load_models, predict_sequence  # noqa: E402

pytestmark = [pytest.mark.tf, pytest.mark.slow]
N_INPUTS = 5
FP32_ATOL = 1e-4
FP16_ATOL = 2e-3
CHECKPOINTS = ("cfg_2_state_dict.pth", "cfg_2_checkpoint_seed2.pth")


@functools.lru_cache(maxsize=1)
def fixture_nets(folder: Path):
    torch.set_num_threads(1)
    cfg = load_config("cfg_2")
    return cfg, load_models(cfg, [folder / name for name in CHECKPOINTS])


@functools.lru_cache(maxsize=1)
def fixture_export(folder: Path):
    """Export the fixture ensemble once (a few minutes: the full cfg_2 model, two seeds)."""
    from export.convert import export_ensemble

    cfg, nets = fixture_nets(folder)
    out_dir = Path(tempfile.mkdtemp(prefix="fixture_export_"))
    atexit.register(shutil.rmtree, out_dir, ignore_errors=True)
    return export_ensemble(cfg, nets, out_dir)


def cases(folder: Path):
    summary = json.loads((folder / "tf_compare_summary.json").read_text())
    for i in range(N_INPUTS):
        yield (np.load(folder / f"tf_raw_input_{i}.npy"), np.load(folder / f"tf_expected_outputs_{i}.npy"),
               summary[str(i)]["savedmodel"])


def check(outputs: np.ndarray, expected: np.ndarray, phrase: str, atol: float) -> None:
    assert decode(outputs.argmax(1)) == phrase
    assert outputs.shape == expected.shape
    np.testing.assert_allclose(outputs, expected, atol=atol, rtol=0)


def test_pytorch_pipeline_reproduces_the_original_export(fixtures_dir):
    cfg, nets = fixture_nets(fixtures_dir)
    for frames, expected, phrase in cases(fixtures_dir):
        check(predict_sequence(nets, frames, cfg.max_len).rows, expected, phrase, FP32_ATOL)


def test_float32_graph_reproduces_the_original_export(fixtures_dir):
    from export.parity import graph_outputs

    _, module = fixture_export(fixtures_dir)
    for frames, expected, phrase in cases(fixtures_dir):
        check(graph_outputs(module, frames), expected, phrase, FP32_ATOL)


def test_tflite_reproduces_the_original_export(fixtures_dir):
    from export.litert import TFLiteRunner

    result, _ = fixture_export(fixtures_dir)
    runner = TFLiteRunner(result.tflite, num_threads=1)
    for frames, expected, phrase in cases(fixtures_dir):
        check(runner(frames), expected, phrase, FP16_ATOL)
    assert result.size_bytes < 40 * 2**20
