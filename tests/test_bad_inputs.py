"""Table-driven bad inputs of every entry point (issue 9): each row asserts the exit code, ONE error line naming the
file / key / value (no traceback) and that nothing was written (or, for the 'skipped and listed' rows, exit 1 with
the good part written)."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import train
from common.errors import ExitCode
from data.landmarks import SELECTED_COLUMNS
from scripts import (
    convert_cfg_2_to_tf_lite,
    get_train_folded_oof_supp,
    make_folds,
    predict,
    prepare_data,
    score_tflite,
)
from tests.bad_input_helpers import Ws
from tests.raw_helpers import make_raw

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py
W = len(SELECTED_COLUMNS)
ENTRY_POINTS: dict[str, Callable[[list[str]], int]] = {
    "train": train.cli, "prepare_data": prepare_data.main, "make_folds": make_folds.main,
    "get_train_folded_oof_supp": get_train_folded_oof_supp.main, "predict": predict.main,
    "score_tflite": score_tflite.main, "convert_cfg_2_to_tf_lite": convert_cfg_2_to_tf_lite.main}


def edit_csv(path: Path, **changes) -> Path:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col, value in changes.items():
        df.loc[0, col] = value
    df.to_csv(path, index=False)
    return path


def corrupt_npy(ws: Ws, how: str) -> list[str]:
    """A tiny datamount whose first npy is broken `how`, as train.py arguments."""
    mount = ws.mount()
    path = mount.npy_path(0, 0)
    data = path.read_bytes()
    arrays = {"389": np.zeros((20, W - 1), np.float32), "f64": np.zeros((20, W)),
              "object": np.array([[None] * W] * 3, dtype=object), "3d": np.zeros((2, 3, W), np.float32)}
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "text":
        path.write_text("not an npy")
    else:
        np.save(path, arrays[how], allow_pickle=True)
    return ws.train(mount=mount)


def delete(path: Path) -> Path:
    path.unlink() if path.is_file() else None
    return path


@dataclass
class Case:
    name: str
    prog: str
    code: ExitCode
    needles: tuple[str, ...]
    argv: Callable[[Ws], list[str]]
    writes: bool = False  # exit 1 rows: the good part is written


def mount_without(ws: Ws, what: str) -> list[str]:
    mount = ws.mount()
    {"npy": lambda: [delete(p) for p in mount.npy_dir.rglob("*.npy")],
     "args": lambda: delete(mount.inference_args),
     "symmetry": lambda: delete(mount.symmetry),
     "train_df": lambda: delete(mount.oof_supp)}[what]()
    return ws.train(mount=mount)


def train_df_broken(ws: Ws, content: str | None) -> list[str]:
    mount = ws.mount()
    if content is None:
        pd.read_csv(mount.oof_supp).drop(columns="phrase").to_csv(mount.oof_supp, index=False)
    else:
        mount.oof_supp.write_bytes(content.encode("latin-1"))
    return ws.train(mount=mount)


def resume_file(ws: Ws, data: bytes | None) -> list[str]:
    mount = ws.mount()
    if data is not None:
        ws.file("out/fold-1/resume_seed3.pth", data)
    return ws.train("--resume", mount=mount)


def truncated_pth(ws: Ws) -> bytes:
    return ws.checkpoint("demo_2").read_bytes()[:2000]


def parquet_edit(ws: Ws, how: str) -> list[str]:
    raw = ws.raw()
    path = raw / "supplemental_landmarks" / "2001.parquet"  # (the train folds need both participants)
    if how == "empty":
        path.write_bytes(b"")
    elif how == "missing":
        path.unlink()
    elif how == "flipped":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        df = pd.read_parquet(path)
        if how == "no_right_hand":
            df = df[[c for c in df.columns if "right_hand" not in c]]
        elif how == "inf":
            df.loc[df.index[0], SELECTED_COLUMNS[0]] = np.inf
        df.to_parquet(path)
    return ws.prepare()


def oof_with(ws: Ws, data: bytes | None = None, rows: int | None = None) -> list[str]:
    root = ws.oof_mount()
    target = root / "weights" / "cfg_1" / "fold0" / "val_data_seed0.pth"
    if data is not None:
        target.write_bytes(data)
    if rows is not None:
        torch.save({"generated_ids": torch.zeros(rows, 33, dtype=torch.long)}, target)
    return ["--datamount", str(root)]


def crafted_pth(ws: Ws) -> bytes:
    import io
    import os

    class Exploit:
        def __reduce__(self):
            return os.system, (f"touch {ws.root / 'pwned'}",)
    buf = io.BytesIO()
    torch.save({"generated_ids": Exploit()}, buf)
    return buf.getvalue()


def good_npy(ws: Ws, name: str, n_frames: int = 30) -> Path:
    rng = np.random.default_rng(0)
    return ws.npy(name, rng.normal(0.5, 0.1, (n_frames, W)).astype(np.float32))


def inf_npy(ws: Ws) -> Path:
    x = np.zeros((30, W), np.float32)
    x[4, 4] = np.inf
    return ws.npy("inf.npy", x)


def mixed_inputs(ws: Ws) -> list[str]:
    return ws.predict(good_npy(ws, "a.npy"), ws.file("bad.npy", b"\x93NUMPY garbage"), good_npy(ws, "b.npy"))


CASES = [
    # ---- train.py: values
    Case("fold_absent", "train", ExitCode.BAD_INPUT, ("--fold 7",),
         lambda ws: ws.train(fold=7)),
    Case("batch_size_0", "train", ExitCode.USAGE, ("--batch_size 0",), lambda ws: ws.train(batch_size=0)),
    Case("lr_nan", "train", ExitCode.USAGE, ("--lr nan",), lambda ws: ws.train(lr="nan")),
    Case("lr_negative", "train", ExitCode.USAGE, ("--lr -1.0",), lambda ws: ws.train(lr=-1.0)),
    Case("epochs_0", "train", ExitCode.USAGE, ("--epochs 0",), lambda ws: ws.train(epochs=0)),
    Case("grad_accumulation_0", "train", ExitCode.USAGE, ("--grad_accumulation 0",),
         lambda ws: ws.train(grad_accumulation=0)),
    Case("max_len_0", "train", ExitCode.USAGE, ("--max_len 0",), lambda ws: ws.train(max_len=0)),
    Case("num_workers_negative", "train", ExitCode.USAGE, ("--num_workers -1",), lambda ws: ws.train(num_workers=-1)),
    Case("weight_decay_inf", "train", ExitCode.USAGE, ("--weight_decay inf",), lambda ws: ws.train(weight_decay="inf")),
    Case("unknown_key", "train", ExitCode.USAGE, ("--epoch", "--epochs"), lambda ws: ws.train("--epoch", "3")),
    Case("batch_size_text", "train", ExitCode.USAGE, ("'abc'", "int"), lambda ws: ws.train(batch_size="abc")),
    Case("unknown_config", "train", ExitCode.USAGE, ("cfg_9",), lambda ws: ["-C", "cfg_9"]),
    # ---- train.py: files
    Case("no_npy", "train", ExitCode.MISSING_INPUT, (".npy does not exist", "prepare_data"),
         lambda ws: mount_without(ws, "npy")),
    Case("no_inference_args", "train", ExitCode.MISSING_INPUT, ("inference_args.json",),
         lambda ws: mount_without(ws, "args")),
    Case("no_symmetry", "train", ExitCode.MISSING_INPUT, ("symmetry",), lambda ws: mount_without(ws, "symmetry")),
    Case("no_train_df", "train", ExitCode.MISSING_INPUT, ("train_folded_oof_supp.csv",),
         lambda ws: mount_without(ws, "train_df")),
    Case("train_df_missing_column", "train", ExitCode.BAD_INPUT, ("missing columns", "phrase"),
         lambda ws: train_df_broken(ws, None)),
    Case("train_df_garbage", "train", ExitCode.BAD_INPUT, ("train_folded_oof_supp.csv",),
         lambda ws: train_df_broken(ws, '"\x00\xff\n"a,b\n')),
    Case("npy_truncated", "train", ExitCode.BAD_INPUT, ("0.npy", "truncated"), lambda ws: corrupt_npy(ws, "truncated")),
    Case("npy_width_389", "train", ExitCode.BAD_INPUT, ("0.npy", "389"), lambda ws: corrupt_npy(ws, "389")),
    Case("npy_float64", "train", ExitCode.BAD_INPUT, ("0.npy", "float64"), lambda ws: corrupt_npy(ws, "f64")),
    Case("npy_object", "train", ExitCode.BAD_INPUT, ("0.npy",), lambda ws: corrupt_npy(ws, "object")),
    Case("npy_3d", "train", ExitCode.BAD_INPUT, ("0.npy",), lambda ws: corrupt_npy(ws, "3d")),
    Case("npy_empty_file", "train", ExitCode.BAD_INPUT, ("0.npy",), lambda ws: corrupt_npy(ws, "empty")),
    Case("npy_text", "train", ExitCode.BAD_INPUT, ("0.npy",), lambda ws: corrupt_npy(ws, "text")),
    Case("resume_without_file", "train", ExitCode.MISSING_INPUT, ("resume_seed3.pth",),
         lambda ws: resume_file(ws, None)),
    Case("resume_truncated", "train", ExitCode.BAD_INPUT, ("resume_seed3.pth",),
         lambda ws: resume_file(ws, truncated_pth(ws))),
    Case("resume_text", "train", ExitCode.BAD_INPUT, ("resume_seed3.pth",), lambda ws: resume_file(ws, b"hello")),
    Case("resume_weights_only_file", "train", ExitCode.BAD_INPUT, ("resume_seed3.pth", "missing"),
         lambda ws: resume_file(ws, ws.checkpoint("demo_2").read_bytes())),
    Case("init_weights_missing", "train", ExitCode.MISSING_INPUT, ("nope.pth",),
         lambda ws: ws.train(init_weights=str(ws.root / "nope.pth"))),
    Case("output_dir_is_a_file", "train", ExitCode.WRITE_FAILED, ("out",),
         lambda ws: (ws.file("out", "x"), ws.train())[1]),
    # ---- prepare_data.py
    Case("raw_missing", "prepare_data", ExitCode.MISSING_INPUT, ("raw",), lambda ws: ws.prepare()),
    Case("raw_without_train_csv", "prepare_data", ExitCode.MISSING_INPUT, ("train.csv",),
         lambda ws: (delete(ws.raw() / "train.csv"), ws.prepare())[1]),
    Case("train_csv_missing_column", "prepare_data", ExitCode.BAD_INPUT, ("participant_id",),
         lambda ws: (pd.read_csv(ws.raw() / "train.csv").drop(columns="participant_id")
                     .to_csv(ws.root / "raw" / "train.csv", index=False), ws.prepare())[1]),
    Case("file_id_1e20", "prepare_data", ExitCode.BAD_INPUT, ("file_id", "1e+20", "row 1"),
         lambda ws: (edit_csv(ws.raw() / "train.csv", file_id="1e20"), ws.prepare())[1]),
    Case("file_id_text", "prepare_data", ExitCode.BAD_INPUT, ("file_id", "abc"),
         lambda ws: (edit_csv(ws.raw() / "train.csv", file_id="abc"), ws.prepare())[1]),
    Case("sequence_id_fraction", "prepare_data", ExitCode.BAD_INPUT, ("sequence_id", "1.5"),
         lambda ws: (edit_csv(ws.raw() / "train.csv", sequence_id="1.5"), ws.prepare())[1]),
    Case("train_csv_empty", "prepare_data", ExitCode.BAD_INPUT, ("train.csv",),
         lambda ws: (ws.raw(), ws.file("raw/train.csv", b""), ws.prepare())[2]),
    Case("workers_0", "prepare_data", ExitCode.USAGE, ("--workers 0",), lambda ws: (ws.raw(), ws.prepare())[1][:-4]
         + ["--workers", "0"]),
    Case("datamount_is_a_file", "prepare_data", ExitCode.WRITE_FAILED, ("dmout",),
         lambda ws: (ws.raw(), ws.file("dmout", "x"), ws.prepare())[2]),
    Case("parquet_missing", "prepare_data", ExitCode.PROBLEMS, ("skipped",), lambda ws: parquet_edit(ws, "missing"),
         writes=True),
    Case("parquet_empty", "prepare_data", ExitCode.PROBLEMS, ("skipped",), lambda ws: parquet_edit(ws, "empty"),
         writes=True),
    Case("parquet_truncated", "prepare_data", ExitCode.PROBLEMS, ("skipped",),
         lambda ws: parquet_edit(ws, "flipped"), writes=True),
    Case("parquet_no_right_hand", "prepare_data", ExitCode.PROBLEMS, ("skipped",),
         lambda ws: parquet_edit(ws, "no_right_hand"), writes=True),
    Case("parquet_inf", "prepare_data", ExitCode.PROBLEMS, ("skipped",), lambda ws: parquet_edit(ws, "inf"),
         writes=True),
    # ---- make_folds.py
    Case("folds_without_train_csv", "make_folds", ExitCode.MISSING_INPUT, ("train.csv",),
         lambda ws: ["--datamount", str(ws.root / "empty")]),
    # ---- get_train_folded_oof_supp.py
    Case("oof_no_train_folded", "get_train_folded_oof_supp", ExitCode.MISSING_INPUT, ("train_folded.csv",),
         lambda ws: (delete(ws.oof_mount() / "train_folded.csv"), ["--datamount", str(ws.root / "oof")])[1]),
    Case("oof_no_val_data", "get_train_folded_oof_supp", ExitCode.MISSING_INPUT, ("val_data_seed",),
         lambda ws: ["--datamount", str(ws.oof_mount()), "--weights", str(ws.root / "nothing")]),
    Case("oof_text_pth", "get_train_folded_oof_supp", ExitCode.BAD_INPUT, ("val_data_seed0.pth",),
         lambda ws: oof_with(ws, b"just text")),
    Case("oof_truncated_pth", "get_train_folded_oof_supp", ExitCode.BAD_INPUT, ("val_data_seed0.pth",),
         lambda ws: oof_with(ws, truncated_pth(ws))),
    Case("oof_crafted_pth", "get_train_folded_oof_supp", ExitCode.BAD_INPUT, ("val_data_seed0.pth",),
         lambda ws: oof_with(ws, crafted_pth(ws))),
    Case("oof_row_count", "get_train_folded_oof_supp", ExitCode.BAD_INPUT, ("val_data_seed0.pth", "2 predictions"),
         lambda ws: oof_with(ws, rows=2)),
    Case("oof_unknown_config", "get_train_folded_oof_supp", ExitCode.USAGE, ("cfg_9",),
         lambda ws: ["-C", "cfg_9", "--datamount", str(ws.oof_mount())]),
    # ---- predict.py (PyTorch path)
    Case("predict_input_missing", "predict", ExitCode.MISSING_INPUT, ("nope.npy",),
         lambda ws: ws.predict(ws.root / "nope.npy")),
    Case("predict_unsupported_type", "predict", ExitCode.USAGE, ("x.txt", ".txt"),
         lambda ws: ws.predict(ws.file("x.txt", "hi"))),
    Case("predict_checkpoint_missing", "predict", ExitCode.MISSING_INPUT, ("none.pth",),
         lambda ws: [str(good_npy(ws, "a.npy")), "-C", "demo_2", "--checkpoints", str(ws.root / "none.pth"),
                     "--out", str(ws.root / "preds" / "p.csv")]),
    Case("predict_mdl_1_checkpoint", "predict", ExitCode.BAD_INPUT, ("demo_1.pth", "looks like an mdl_1"),
         lambda ws: [str(good_npy(ws, "a.npy")), "-C", "demo_2", "--checkpoints", str(ws.checkpoint("demo_1")),
                     "--out", str(ws.root / "preds" / "p.csv")]),
    Case("predict_text_pth", "predict", ExitCode.BAD_INPUT, ("t.pth",),
         lambda ws: [str(good_npy(ws, "a.npy")), "-C", "demo_2", "--checkpoints", str(ws.file("t.pth", "text")),
                     "--out", str(ws.root / "preds" / "p.csv")]),
    Case("predict_truncated_pth", "predict", ExitCode.BAD_INPUT, ("c.pth",),
         lambda ws: [str(good_npy(ws, "a.npy")), "-C", "demo_2", "--checkpoints",
                     str(ws.file("c.pth", truncated_pth(ws))), "--out", str(ws.root / "preds" / "p.csv")]),
    Case("predict_threads_0", "predict", ExitCode.USAGE, ("--threads 0",),
         lambda ws: ws.predict(good_npy(ws, "a.npy"), more=("--threads", "0"))),
    Case("predict_bad_inference_args", "predict", ExitCode.BAD_INPUT, ("ia.json",),
         lambda ws: ws.predict(good_npy(ws, "a.npy"), more=("--inference-args", str(ws.file("ia.json", "{}"))))),
    Case("predict_pth_as_tflite", "predict", ExitCode.BAD_INPUT, ("demo_2.pth", "not a TFLite model"),
         lambda ws: [str(good_npy(ws, "a.npy")), "--tflite", str(ws.checkpoint("demo_2")),
                     "--out", str(ws.root / "preds" / "p.csv")]),
    Case("predict_one_bad_of_three", "predict", ExitCode.PROBLEMS, ("bad.npy",), mixed_inputs, writes=True),
    Case("predict_inf_npy", "predict", ExitCode.PROBLEMS, ("inf.npy", "inf"),
         lambda ws: ws.predict(inf_npy(ws)), writes=True),
    Case("predict_object_npy", "predict", ExitCode.PROBLEMS, ("o.npy",),
         lambda ws: ws.predict(ws.npy("o.npy", np.array([[None] * W], dtype=object))), writes=True),
    Case("predict_empty_npy", "predict", ExitCode.PROBLEMS, ("e.npy",),
         lambda ws: ws.predict(ws.file("e.npy", b"")), writes=True),
    Case("predict_width_389", "predict", ExitCode.PROBLEMS, ("w.npy", "389"),
         lambda ws: ws.predict(ws.npy("w.npy", np.zeros((30, W - 1), np.float32))), writes=True),
    Case("predict_empty_parquet", "predict", ExitCode.PROBLEMS, ("e.parquet",),
         lambda ws: ws.predict(ws.file("e.parquet", b"")), writes=True),
    # ---- score_tflite.py
    Case("score_model_missing", "score_tflite", ExitCode.MISSING_INPUT, ("m.tflite",),
         lambda ws: ["--model", str(ws.root / "m.tflite")]),
    Case("score_limit_negative", "score_tflite", ExitCode.USAGE, ("--limit -1",),
         lambda ws: ["--model", str(ws.root / "m.tflite"), "--limit", "-1"]),
    Case("score_no_inference_args", "score_tflite", ExitCode.MISSING_INPUT, ("inference_args.json",),
         lambda ws: ["--model", str(ws.file("m/model.tflite", b"x" * 100))]),
    # ---- convert_cfg_2_to_tf_lite.py (all before TensorFlow is imported)
    Case("convert_checkpoint_missing", "convert_cfg_2_to_tf_lite", ExitCode.MISSING_INPUT, ("none.pth",),
         lambda ws: ["-C", "demo_2", "--checkpoints", str(ws.root / "none.pth")]),
    Case("convert_no_default_checkpoints", "convert_cfg_2_to_tf_lite", ExitCode.MISSING_INPUT, ("checkpoint_",),
         lambda ws: ["-C", "demo_2", "--datamount", str(ws.root)]),
    Case("convert_mdl_1_checkpoint", "convert_cfg_2_to_tf_lite", ExitCode.BAD_INPUT, ("looks like an mdl_1",),
         lambda ws: ["-C", "demo_2", "--checkpoints", str(ws.checkpoint("demo_1")), "--out-dir", str(ws.root / "x")]),
    Case("convert_text_pth", "convert_cfg_2_to_tf_lite", ExitCode.BAD_INPUT, ("t.pth",),
         lambda ws: ["-C", "demo_2", "--checkpoints", str(ws.file("t.pth", "text")), "--out-dir", str(ws.root / "x")]),
    Case("convert_unknown_config", "convert_cfg_2_to_tf_lite", ExitCode.USAGE, ("cfg_9",),
         lambda ws: ["-C", "cfg_9", "--checkpoints", str(ws.checkpoint("demo_2"))]),
]


def snapshot(*folders: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for f in folders if f.exists()
            for p in sorted(f.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> dict:
    return {"dir": tmp_path_factory.mktemp("shared")}


def test_at_least_60_cases():
    assert len(CASES) >= 60 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, tmp_path, shared, capsys, monkeypatch):
    monkeypatch.setenv("NEPTUNE_MODE", "debug")
    monkeypatch.chdir(tmp_path)  # default relative outputs (datamount/...) land here, and are checked too
    ws = Ws(tmp_path / "ws", shared)
    ws.root.mkdir()
    argv = case.argv(ws)
    before = snapshot(tmp_path)
    capsys.readouterr()
    start = time.perf_counter()
    try:
        code = ENTRY_POINTS[case.prog](argv)
    except SystemExit as e:  # argparse's own errors
        code = e.code
    seconds = time.perf_counter() - start
    err = capsys.readouterr().err
    assert code == case.code, err[-2000:]
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]
    for needle in case.needles:
        assert needle in line, (needle, line)
    if case.code != ExitCode.PROBLEMS:
        assert line.startswith(f"{case.prog}: error: "), line
    after = snapshot(tmp_path)
    if case.writes:
        assert all(before[p] == after[p] for p in before), "an input was modified"
    else:
        assert after == before, sorted(set(after) - set(before))
    if case.prog == "convert_cfg_2_to_tf_lite":
        assert seconds < 15, f"{seconds:.1f} s: the inputs must be checked before TensorFlow is imported"
    assert not (ws.root / "pwned").exists()


def test_predict_keeps_the_good_rows_of_a_mixed_run(tmp_path, shared, capsys):
    ws = Ws(tmp_path, shared)
    assert predict.main(mixed_inputs(ws)) == ExitCode.PROBLEMS
    table = pd.read_csv(ws.root / "preds" / "p.csv")
    assert table["file"].tolist() == [str(ws.root / "a.npy"), str(ws.root / "b.npy")]
    assert "skipped" in capsys.readouterr().err


def test_json_and_csv_outputs_parse(tmp_path):
    """The prepare report and fold files of a problem run are whole files."""
    make_raw(tmp_path / "raw")
    (tmp_path / "raw" / "supplemental_landmarks" / "2001.parquet").write_bytes(b"")
    argv = ["--raw", str(tmp_path / "raw"), "--datamount", str(tmp_path / "dm"), "--quiet", "--workers", "1",
            "--n-folds", "2"]
    assert prepare_data.main(argv) == ExitCode.PROBLEMS
    assert json.loads((tmp_path / "dm" / "prepare_report.json").read_text())["ok"] is False
