"""Fuzz: 200 random corruptions (byte flips, truncations, NaN/inf/huge values, wrong dtypes and widths) of
real-format files fed to prepare, predict and the TFLite runner. Each must end in a clean error (an exit code of
common.errors with one line) or a valid result; never a hang or a traceback. `FUZZ_SEED` replays a run."""
from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from common.errors import ExitCode
from data.landmarks import SELECTED_COLUMNS
from scripts import predict, prepare_data
from tests.bad_input_helpers import Ws, in_thread
from tests.raw_helpers import make_raw

W = len(SELECTED_COLUMNS)
N_PREPARE, N_PREDICT, N_TFLITE = 70, 70, 60  # 200 in all
CASE_TIMEOUT_S = 120
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rng() -> random.Random:
    seed = int(os.environ.get("FUZZ_SEED", random.SystemRandom().randrange(10**6)))
    print(f"FUZZ_SEED={seed}")
    return random.Random(seed)


def corrupt_bytes(data: bytes, r: random.Random) -> bytes:
    kind = r.choice(["flip", "truncate", "append", "empty", "zero_block"])
    b = bytearray(data)
    if kind == "flip":
        for _ in range(r.randint(1, 50)):
            i = r.randrange(len(b))
            b[i] ^= 1 << r.randrange(8)
    elif kind == "truncate":
        b = b[: r.randrange(len(b))]
    elif kind == "append":
        b += bytes(r.randrange(256) for _ in range(r.randint(1, 500)))
    elif kind == "empty":
        b = bytearray()
    else:
        i = r.randrange(len(b))
        b[i: i + r.randint(1, 4096)] = bytes(min(len(b) - i, 4096))
    return bytes(b)


def corrupt_values(x: np.ndarray, r: random.Random) -> np.ndarray:
    """NaN / inf / huge values, wrong dtypes, widths and ranks of a (T, W) float32 array."""
    kind = r.choice(["nan", "inf", "huge", "tiny", "float64", "int", "bool", "object", "width", "1d", "3d",
                     "zero_frames", "one_frame", "long"])
    x = x.copy()
    cells = (r.randrange(len(x)), r.randrange(x.shape[1]))
    if kind in ("nan", "inf", "huge", "tiny"):
        value = {"nan": np.nan, "inf": r.choice([np.inf, -np.inf]), "huge": r.choice([3e38, -3e38]),
                 "tiny": 1e-45}[kind]
        x[cells] = value
        if r.random() < 0.5:
            x[r.randrange(len(x))] = value  # a whole frame
        return x
    return {"float64": lambda: x.astype(np.float64), "int": lambda: x.astype(np.int32),
            "bool": lambda: x > 0.5, "object": lambda: x.astype(object),
            "width": lambda: x[:, : r.choice([0, 1, W - 1])] if r.random() < 0.5 else np.pad(x, ((0, 0), (0, 1))),
            "1d": lambda: x[0], "3d": lambda: x[None], "zero_frames": lambda: x[:0], "one_frame": lambda: x[:1],
            "long": lambda: np.repeat(x, 30, axis=0)}[kind]()


def test_fuzz_prepare(tmp_path, rng):
    make_raw(tmp_path / "template")
    codes = []
    for i in range(N_PREPARE):
        raw = tmp_path / f"raw{i}"
        shutil.copytree(tmp_path / "template", raw)
        target = raw / rng.choice(["train_landmarks/1001.parquet", "supplemental_landmarks/2001.parquet",
                                   "train.csv", "supplemental_metadata.csv"])
        if target.suffix == ".parquet" and rng.random() < 0.5:
            df = pd.read_parquet(target)
            column = rng.choice(SELECTED_COLUMNS)
            choice = rng.choice(["values", "dtype", "drop"])
            if choice == "values":
                df.loc[df.index[rng.randrange(len(df))], column] = rng.choice([np.nan, np.inf, -np.inf, 3e38])
            elif choice == "dtype":
                df[column] = df[column].astype(str)
            else:
                df = df.drop(columns=column)
            df.to_parquet(target)
        else:
            target.write_bytes(corrupt_bytes(target.read_bytes(), rng))
        argv = ["--raw", str(raw), "--datamount", str(tmp_path / f"dm{i}"), "--quiet", "--workers", "1",
                "--n-folds", "2"]
        code = in_thread(lambda: prepare_data.main(argv), CASE_TIMEOUT_S)
        assert code in (ExitCode.OK, ExitCode.PROBLEMS, ExitCode.MISSING_INPUT, ExitCode.BAD_INPUT), (i, target)
        codes.append(int(code))
    print("prepare exit codes:", {c: codes.count(c) for c in sorted(set(codes))})


def fuzzed_npy_files(folder: Path, n: int, r: random.Random) -> list[Path]:
    base = np.random.default_rng(r.randrange(2**32)).normal(0.5, 0.1, (40, W)).astype(np.float32)
    np.save(folder / "base.npy", base)
    paths = []
    for i in range(n):
        path = folder / f"f{i}.npy"
        if r.random() < 0.5:
            path.write_bytes(corrupt_bytes((folder / "base.npy").read_bytes(), r))
        else:
            np.save(path, corrupt_values(base, r), allow_pickle=True)
        paths.append(path)
    return paths


def test_fuzz_predict(tmp_path, rng, capsys):
    ws = Ws(tmp_path, {"dir": tmp_path})
    paths = fuzzed_npy_files(tmp_path, N_PREDICT, rng)
    torch.set_num_threads(1)
    for start in range(0, N_PREDICT, 10):
        batch = paths[start: start + 10]
        code = in_thread(lambda: predict.main(ws.predict(*batch)), CASE_TIMEOUT_S)
        err = capsys.readouterr().err
        assert code in (ExitCode.OK, ExitCode.PROBLEMS) and "Traceback" not in err, err[-2000:]
        table = pd.read_csv(tmp_path / "preds" / "p.csv", keep_default_na=False)
        skipped = err.count("predict: skipped")
        assert len(table) + skipped == len(batch), (len(table), skipped, err[-2000:])
        assert (table["phrase"].astype(str).str.len() <= 33).all()


@pytest.mark.tf
def test_fuzz_tflite_runner(tmp_path, rng):
    from export.litert import TFLiteRunner
    from tests.export_helpers import demo_export

    runner = TFLiteRunner(demo_export().tflite)
    base = np.random.default_rng(rng.randrange(2**32)).normal(0.5, 0.1, (40, W)).astype(np.float32)
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(N_TFLITE):
        x = corrupt_values(base, rng)
        try:
            out = in_thread(lambda: runner(x), CASE_TIMEOUT_S)
        except ValueError as e:
            assert str(runner.path) in str(e)
            outcomes["refused"] += 1
            continue
        assert out.ndim == 2 and out.shape[0] >= 1 and out.shape[1] == 63
        outcomes["ok"] += 1
    print("tflite outcomes:", outcomes)
