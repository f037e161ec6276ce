"""The BAD cases of issue 9 that are not about training, each a test (the training ones: test_train_reliability.py).

1 a killed prepare worker must not hang the parent; 2 no pickle code runs from files we read (and no
`weights_only=False` anywhere); 3 +-inf in the raw data is a reported problem and the dataset refuses it;
4 atomic writes; 7 the PyTorch predictor on +-inf input; 8 a `file_id` outside int64.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from common.atomic import atomic_entries, atomic_path, remove_stale_temps, torch_save_atomic
from common.errors import ExitCode
from data.datamount import Datamount
from data.landmarks import SELECTED_COLUMNS
from data.prepare import FileTask, PrepareError, WorkerDiedError, build_tasks, convert_file, prepare, run_tasks
from scripts import prepare_data
from tests.bad_input_helpers import in_thread
from tests.raw_helpers import make_raw

ROOT = Path(__file__).resolve().parents[1]
HANG_LIMIT_S = 60


@pytest.fixture
def raw(tmp_path) -> Path:
    make_raw(tmp_path / "raw")
    return tmp_path / "raw"


def die_on_supplemental(task: FileTask):
    """A prepare worker that is SIGKILLed (as by the OOM killer) on the supplemental file."""
    if "supplemental" in task.parquet:
        os.kill(os.getpid(), signal.SIGKILL)
    return convert_file(task)


def test_1_killed_worker_fails_fast_and_a_rerun_finishes(raw, tmp_path):
    mount = Datamount(tmp_path / "dm")
    mount.npy_dir.mkdir(parents=True)
    frames = [pd.read_csv(raw / "train.csv"), pd.read_csv(raw / "supplemental_metadata.csv")]
    tasks = build_tasks(frames, raw, mount.npy_dir, overwrite=False)
    with pytest.raises(WorkerDiedError, match="worker process died.*re-run"):
        in_thread(lambda: list(run_tasks(tasks, 2, progress=False, work=die_on_supplemental)), HANG_LIMIT_S)
    written = sorted(mount.npy_dir.rglob("*.npy"))
    assert written and all(np.load(p).shape[1] == len(SELECTED_COLUMNS) for p in written)  # kept, complete
    report = prepare(raw, mount.root, workers=2, progress=False)
    assert report.ok and report.written + report.skipped_existing == 7 and report.skipped_existing >= 1


def test_2_no_weights_only_false_anywhere():
    pattern = re.compile(r"weights_only\s*=\s*False")
    offenders = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py")
                 if ".venv" not in p.parts and p.name != Path(__file__).name and pattern.search(p.read_text())]
    assert offenders == []


class Exploit:
    """Pickles to a call of os.system: what a crafted .pth file can hold."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_2_crafted_val_data_does_not_run_code(tmp_path):
    from training.round2_table import predictions_of

    marker = tmp_path / "pwned"
    torch.save({"generated_ids": torch.zeros(1, 33, dtype=torch.long), "x": Exploit(marker)}, tmp_path / "v.pth")
    with pytest.raises(ValueError, match="v.pth"):
        predictions_of(tmp_path / "v.pth", 1)
    assert not marker.exists()


def test_2_crafted_resume_file_does_not_run_code(tmp_path):
    from types import SimpleNamespace

    from common import run_layout as layout
    from training.resume import load_resume

    cfg = SimpleNamespace(output_dir=str(tmp_path), fold=0, seed=1, ckpt_every_epochs=1)
    layout.run_dir(cfg).mkdir(parents=True)
    marker = tmp_path / "pwned"
    torch.save({"model": {}, "x": Exploit(marker)}, layout.resume_path(cfg))
    with pytest.raises(ValueError, match="resume_seed1.pth"):
        load_resume(cfg)
    assert not marker.exists()


def test_3_inf_in_raw_data_is_a_reported_problem(raw, tmp_path):
    import pyarrow.parquet as pq

    path = raw / "train_landmarks" / "1002.parquet"
    df = pq.read_table(path).to_pandas()
    column = SELECTED_COLUMNS[100]
    df.loc[df.index == 21, column] = np.inf
    df.to_parquet(path)
    report = prepare(raw, tmp_path / "dm", progress=False)
    bad = [p for p in report.problems if p.kind == "non_finite_values"]
    assert [p.sequence_ids for p in bad] == [[21]] and "inf" in bad[0].detail
    assert not Datamount(tmp_path / "dm").npy_path(1002, 21).exists()
    assert 21 not in pd.read_csv(tmp_path / "dm" / "train.csv")["sequence_id"].tolist()


def test_3_dataset_refuses_inf_with_the_file_name(tmp_path):
    from data.dataset import load_sequence

    x = np.zeros((20, len(SELECTED_COLUMNS)), np.float32)
    x[3, 7] = -np.inf
    np.save(tmp_path / "5.npy", x)
    with pytest.raises(ValueError, match=r"5.npy: .*inf"):
        load_sequence(str(tmp_path / "5.npy"))
    x[3, 7] = np.nan  # NaN (undetected landmark) is normal
    np.save(tmp_path / "5.npy", x)
    assert load_sequence(str(tmp_path / "5.npy")).shape == x.shape


def test_4_atomic_write_keeps_the_old_file_when_the_write_fails(tmp_path):
    path = tmp_path / "checkpoint_last_seed1.pth"
    torch_save_atomic({"model": {"w": torch.ones(3)}}, path)

    class Unpicklable:
        def __reduce__(self):
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        torch_save_atomic({"model": {"w": torch.zeros(3)}, "x": Unpicklable()}, path)
    assert torch.equal(torch.load(path, weights_only=True)["model"]["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left


def test_4_atomic_write_under_a_file_size_limit(tmp_path):
    """A real short write (`ulimit -f`, as a full disk) in a child process: the old file survives whole."""
    path = tmp_path / "checkpoint_last_seed1.pth"
    torch_save_atomic({"model": {"w": torch.ones(4)}}, path)
    script = ("import resource, signal, sys, torch\n"
              "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
              "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
              "from common.atomic import torch_save_atomic\n"
              f"torch_save_atomic({{'model': {{'w': torch.zeros(100_000)}}}}, {str(path)!r})\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "cannot write" in out.stderr
    assert torch.equal(torch.load(path, weights_only=True)["model"]["w"], torch.ones(4))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_4_stale_temp_files_of_dead_writers_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = [tmp_path / f".1.npy.{dead}-abcd1234.tmp", tmp_path / f".2.npy.tmp{dead}"]
    for p in stale:
        p.write_bytes(b"partial")
    with atomic_path(tmp_path / "3.npy") as live:
        assert remove_stale_temps(tmp_path) == sorted(stale, key=lambda p: p.name) or set(
            remove_stale_temps(tmp_path)) <= set(stale)
        assert live.exists()  # a running writer's temp file is kept
    assert not any(p.exists() for p in stale)



def test_4_a_group_of_entries_is_swapped_whole(tmp_path):
    """atomic_entries (the export: saved_model/, model.tflite, parity_report.json): a failed block changes nothing;
    a good one replaces folders and files, and removes an old entry it did not build (a report of another model)."""
    (tmp_path / "sm").mkdir()
    (tmp_path / "sm" / "a").write_text("old")
    for name in ("m", "report"):
        (tmp_path / name).write_text("old")
    names = ("sm", "report", "m")
    with pytest.raises(RuntimeError), atomic_entries(tmp_path, names) as staging:
        (staging / "m").write_text("half")
        raise RuntimeError("killed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "report", "sm"]
    assert {p.read_text() for p in tmp_path.rglob("*") if p.is_file()} == {"old"}
    with atomic_entries(tmp_path, names) as staging:
        (staging / "sm").mkdir()
        (staging / "sm" / "b").write_text("new")
        (staging / "m").write_text("new")
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["m", "sm", "sm/b"]
    assert (tmp_path / "m").read_text() == "new"

def test_4_truncated_npy_already_present_is_redone(raw, tmp_path):
    prepare(raw, tmp_path / "dm", progress=False)
    npy = Datamount(tmp_path / "dm").npy_path(1001, 11)
    whole = npy.read_bytes()
    npy.write_bytes(whole[: len(whole) // 2])
    again = prepare(raw, tmp_path / "dm", progress=False)
    assert again.written == 1 and npy.read_bytes() == whole


def test_8_file_id_outside_int64_is_rejected_with_the_row(raw, tmp_path):
    df = pd.read_csv(raw / "train.csv", dtype=str)
    df.loc[0, "file_id"] = "1e20"
    df.to_csv(raw / "train.csv", index=False)
    with pytest.raises(PrepareError, match=r"'file_id'.*1e\+?20.*data row 1"):
        prepare(raw, tmp_path / "dm", progress=False)
    assert not (tmp_path / "dm").exists()
    argv = ["--raw", str(raw), "--datamount", str(tmp_path / "dm"), "--quiet"]
    assert prepare_data.main(argv) == ExitCode.BAD_INPUT


def test_7_pytorch_predictor_inf_input_and_nan_confidence():
    from data.tokenizer import DUMMY_PHRASE
    from inference.torch_graph import LOW_CONFIDENCE, predict_sequence
    from tests.export_helpers import EXPORT_MAX_LEN, random_net, raw_frames
    from tests.model_helpers import tiny_cfg

    cfg = tiny_cfg("cfg_2", max_len=EXPORT_MAX_LEN)
    net = random_net(cfg, 0)
    frames = raw_frames(40)
    bad = frames.copy()
    bad[5, 3] = np.inf
    with pytest.raises(ValueError, match="inf"):
        predict_sequence([net], bad, cfg.max_len)
    with torch.no_grad():
        net.aux_fc.bias.fill_(float("nan"))  # a confidence of NaN must count as low
    prediction = predict_sequence([net], frames, cfg.max_len)
    assert np.isnan(prediction.confidence)
    assert prediction.fallback == LOW_CONFIDENCE and prediction.phrase == DUMMY_PHRASE
