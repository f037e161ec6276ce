"""scripts/predict.py on a real video: extraction in .venv-video, prediction with the demo-export model.tflite and
the PyTorch checkpoints, --render as a picture and as a video."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("tensorflow")

from data.recordings import recording_id  # noqa: E402
from scripts import predict  # noqa: E402
from tests.export_helpers import demo_export  # noqa: E402
from tests.video_helpers import FRAMES, landmarks  # noqa: E402

pytestmark = [pytest.mark.tf, pytest.mark.slow]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
COUNT_FRAMES = "import sys, cv2; c = cv2.VideoCapture(sys.argv[1]); print(int(c.get(cv2.CAP_PROP_FRAME_COUNT)))"


def test_predict_reads_a_video_end_to_end(tmp_path, video_env, realdata, capsys):  # noqa: F811
    video = realdata / "videos" / "bear.mp4"
    export = demo_export()
    out, picture = tmp_path / "preds.csv", tmp_path / "bear_seen.png"
    assert predict.main([str(video), "--tflite", str(export.tflite), "--out", str(out), "--render", str(picture)]) == 0
    table = pd.read_csv(out, keep_default_na=False)
    parquet = tmp_path / "preds_landmarks" / "bear.parquet"  # default --landmarks-dir: next to --out
    assert table[["file", "sequence_id"]].values.tolist() == [[str(parquet), recording_id("bear")]]
    phrase = table["phrase"].iloc[0]
    assert isinstance(phrase, str) and f'{video}: "{phrase}"' in capsys.readouterr().out
    assert landmarks(parquet).shape[0] == FRAMES["bear"]
    assert picture.read_bytes()[:8] == PNG_MAGIC and picture.stat().st_size > 50_000

    # the same video through the PyTorch checkpoints gives the same phrase, rendered as a video of every frame
    movie = tmp_path / "bear_seen.mp4"
    assert predict.main([str(video), "-C", "demo_2", "--checkpoints", *map(str, export.checkpoints), "--out",
                         str(tmp_path / "torch.csv"), "--landmarks-dir", str(tmp_path / "lm"), "--render",
                         str(movie)]) == 0
    torch_table = pd.read_csv(tmp_path / "torch.csv", keep_default_na=False)
    assert torch_table["phrase"].tolist() == [phrase]
    np.testing.assert_array_equal(landmarks(tmp_path / "lm" / "bear.parquet"), landmarks(parquet))  # deterministic
    frames = subprocess.run([str(video_env), "-c", COUNT_FRAMES, str(movie)], capture_output=True, text=True)
    assert int(frames.stdout) == FRAMES["bear"]
    report = json.loads((tmp_path / "lm" / "extraction_report.json").read_text())
    assert report["bear"]["mirrored"] is False


def test_render_needs_a_video(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((20, 390), np.float32))
    code = predict.main([str(tmp_path / "x.npy"), "--tflite", str(demo_export().tflite), "--render",
                         str(tmp_path / "o.png"), "--out", str(tmp_path / "p.csv")])
    assert code == 2 and "--render needs a video input" in capsys.readouterr().err


def test_an_unreadable_video_is_a_clean_error(tmp_path, video_env, capsys):  # noqa: F811
    fake = tmp_path / "clip.mp4"
    fake.write_text("not a video")
    code = predict.main([str(fake), "--tflite", str(demo_export().tflite), "--out", str(tmp_path / "p.csv")])
    err = capsys.readouterr().err
    assert code == 4 and f"landmark extraction failed for {fake}" in err
    assert not (tmp_path / "p.csv").exists()
