"""scripts/score_tflite.py: Kaggle's loop over a fold of raw parquet data, scores equal to a hand computation."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from rapidfuzz.distance import DamerauLevenshtein, Levenshtein

from common.errors import ExitCode

pytest.importorskip("tensorflow")

from data.tokenizer import DUMMY_PHRASE, ID_TO_CHAR  # noqa: E402
from export.litert import TFLiteRunner  # noqa: E402
from scripts import score_tflite  # noqa: E402
from tests.export_helpers import demo_export, selected_frames, write_raw_set  # noqa: E402

pytestmark = [pytest.mark.tf, pytest.mark.slow]
LENGTHS = (10, 30, 90, 200, 25)  # the first is below MIN_FRAMES (dummy phrase); the last is in fold 1


def by_hand(truths: list[str], preds: list[str], distance) -> float:
    n = sum(len(t) for t in truths)
    return (n - sum(distance(t, p) for t, p in zip(truths, preds))) / n


def test_score_equals_the_metric_computed_by_hand(tmp_path):
    export = demo_export()
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    for path in (export.tflite, export.inference_args):
        shutil.copy(path, model_dir / path.name)
    raw, mount, sequences = write_raw_set(tmp_path, LENGTHS)

    assert score_tflite.main(["--model", str(model_dir / "model.tflite"), "--raw", str(raw),
                              "--datamount", str(mount), "--fold", "0"]) == 0

    rows = pd.read_csv(mount / "train_folded.csv", keep_default_na=False)
    rows = rows[rows["fold"] == 0]
    runner = TFLiteRunner(model_dir / "model.tflite")
    preds = ["".join(ID_TO_CHAR.get(int(i), "") for i in np.argmax(runner(selected_frames(sequences[sid])), 1))
             for sid in rows["sequence_id"]]
    assert preds[0] == DUMMY_PHRASE
    truths = rows["phrase"].tolist()
    result = json.loads((model_dir / "tflite_score.json").read_text())
    assert result["n_sequences"] == len(LENGTHS) - 1
    assert result["score_lev"] == pytest.approx(by_hand(truths, preds, Levenshtein.distance))
    assert result["score_dl"] == pytest.approx(by_hand(truths, preds, DamerauLevenshtein.distance))
    assert result["size_bytes"] == (model_dir / "model.tflite").stat().st_size
    assert 0 < result["latency_ms_median"] <= result["latency_ms_p95"]
    table = pd.read_csv(model_dir / "tflite_predictions.csv", keep_default_na=False)
    assert table["prediction"].tolist() == preds


def test_oversized_model_fails(tmp_path, monkeypatch, capsys):
    export = demo_export()
    monkeypatch.setattr("export.litert.MAX_MODEL_BYTES", 1000)
    assert score_tflite.main(["--model", str(export.tflite), "--datamount", str(tmp_path)]) == ExitCode.CHECK_FAILED
    assert "exceeds" in capsys.readouterr().err
