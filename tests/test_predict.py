"""scripts/predict.py on a tiny parquet and an npy file, with a model.tflite and with PyTorch checkpoints."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("tensorflow")

from common.errors import ExitCode  # noqa: E402
from data.tokenizer import DUMMY_PHRASE  # noqa: E402
from scripts import predict  # noqa: E402
from tests.export_helpers import demo_export, selected_frames, write_raw_set  # noqa: E402

pytestmark = [pytest.mark.tf, pytest.mark.slow]
LENGTHS = (8, 40, 150)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    raw, _, sequences = write_raw_set(root, LENGTHS)
    npy = root / "one.npy"
    np.save(npy, selected_frames(sequences[1001]))
    return [raw / "train_landmarks" / "7.parquet", npy], sequences


def run(tmp_path, inputs, *model_args) -> pd.DataFrame:
    out = tmp_path / "preds.csv"
    assert predict.main([str(p) for p in inputs] + list(model_args) + ["--out", str(out)]) == 0
    return pd.read_csv(out, keep_default_na=False, na_values=[""])


def test_tflite_and_pytorch_predict_the_same_phrases(tmp_path, inputs):
    export = demo_export()
    paths, sequences = inputs
    tflite = run(tmp_path, paths, "--tflite", str(export.tflite))
    torch_ = run(tmp_path, paths, "-C", "demo_2", "--checkpoints", *map(str, export.checkpoints))
    for table in (tflite, torch_):
        assert list(table.columns) == ["file", "sequence_id", "phrase", "confidence"]
        assert len(table) == len(sequences) + 1  # every parquet sequence + the npy file
        assert table["sequence_id"].tolist()[:-1] == list(sequences) and np.isnan(table["sequence_id"].iloc[-1])
        assert table["phrase"].iloc[0] == DUMMY_PHRASE  # 8 frames < MIN_FRAMES
    assert tflite["phrase"].tolist() == torch_["phrase"].tolist()
    assert tflite["phrase"].iloc[-1] == tflite["phrase"].iloc[1]  # the npy holds sequence 1001
    assert tflite["confidence"].isna().all()
    assert np.isnan(torch_["confidence"].iloc[0]) and (torch_["confidence"].iloc[1:] > 0.5).all()


def test_bad_input_is_skipped_and_reported(tmp_path, capsys):
    bad = tmp_path / "x.npy"
    np.save(bad, np.zeros((5, 7), np.float32))
    code = predict.main([str(bad), "--tflite", str(demo_export().tflite), "--out", str(tmp_path / "o.csv")])
    assert code == ExitCode.PROBLEMS
    assert "x.npy: expected a numeric (T, 390) array" in capsys.readouterr().err
