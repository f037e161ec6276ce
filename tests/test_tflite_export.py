"""The exported model.tflite: frozen weights, Kaggle's signature, edge inputs, fp16 parity with the graph."""
from __future__ import annotations

import json

import numpy as np
import pytest

import models.keras.tf_setup  # noqa: F401  (before TensorFlow)

pytest.importorskip("tensorflow")
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from data.landmarks import SELECTED_COLUMNS  # noqa: E402
from export.convert import check_no_variables  # noqa: E402
from export.litert import VARIABLE_OPS, TFLiteRunner, check_model_size, op_counts  # noqa: E402
from export.parity import compare_all, graph_outputs, parity_lengths, parity_sequences  # noqa: E402
from tests.export_helpers import demo_export, raw_frames  # noqa: E402

pytestmark = [pytest.mark.tf, pytest.mark.slow]
FP16_ATOL = 5e-3


@pytest.fixture(scope="module")
def export():
    return demo_export()


@pytest.fixture(scope="module")
def runner(export):
    return TFLiteRunner(export.tflite, num_threads=1)


def test_weights_are_frozen_and_the_decoder_loop_is_inside(export):
    ops = op_counts(export.tflite)
    assert not VARIABLE_OPS & set(ops), ops
    assert ops["WHILE"] == 1 and ops["FULLY_CONNECTED"] > 0
    assert "IF" not in ops  # branch-free graph (inference.tflite_graph: IF subgraphs are slow in LiteRT)


def test_variable_guard_catches_untracked_keras_weights(tmp_path):
    """The known trap: Keras 3 layers in a tf.Module without tracked variables convert to VAR_HANDLE ops."""
    class Untracked(tf.Module):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(4)  # the layer is an attribute, but its variables are not tracked
            self.dense.build((None, 3))

        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
        def serve(self, x):
            return {"outputs": self.dense(x)}

    module = Untracked()
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures={"serving_default": module.serve})
    flatbuffer = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "sm")).convert()
    assert VARIABLE_OPS & set(op_counts(flatbuffer))
    with pytest.raises(RuntimeError, match="variable ops"):
        check_no_variables(flatbuffer)


def test_signature_names_and_shapes(runner):
    signature = runner.signature()
    assert signature["inputs"] == {"inputs": ("float32", [-1, len(SELECTED_COLUMNS)])}
    assert signature["outputs"] == {"outputs": ("float32", [-1, 63])}
    assert runner.interpreter.get_signature_list() == {"serving_default": {"inputs": ["inputs"],
                                                                           "outputs": ["outputs"]}}
    out = runner(raw_frames(50, seed=1))
    assert out.dtype == np.float32 and out.ndim == 2 and out.shape[1] == 63 and out.shape[0] >= 1


@pytest.mark.parametrize("frames", [np.zeros((0, 390), np.float32), raw_frames(1), raw_frames(15),
                                    np.full((20, 390), np.nan, np.float32), np.full((300, 390), np.nan, np.float32),
                                    raw_frames(2000, nan_hands=True)],
                         ids=["0 frames", "1 frame", "15 frames", "all NaN short", "all NaN long", "2000 frames"])
def test_never_zero_rows(runner, frames):
    out = runner(frames)
    assert out.shape[0] >= 1 and out.shape[1] == 63 and np.isfinite(out).all()


def test_tflite_matches_the_float32_graph(export, runner):
    rows = compare_all(parity_sequences(parity_lengths(export.cfg.max_len), seed=11),
                       lambda f: graph_outputs(export.module, f), runner)
    for c in rows:
        assert c.same_string and c.max_abs < FP16_ATOL, c


def test_script_outputs_and_parity_report(export):
    assert export.returncode == 0
    assert json.loads(export.inference_args.read_text()) == {"selected_columns": SELECTED_COLUMNS}
    assert (export.out_dir / "saved_model" / "saved_model.pb").is_file()
    report = json.loads((export.out_dir / "parity_report.json").read_text())
    assert report["fold"]["n"] == 4 and report["fold"]["n_same"] == 4
    assert set(report["modules"]) == {"seed 1", "seed 2"}
    assert max(max(d.values()) for d in report["modules"].values()) < 1e-4
    assert check_model_size(export.tflite) == export.tflite.stat().st_size
    with pytest.raises(ValueError, match="exceeds"):
        check_model_size(export.tflite, limit=1000)
