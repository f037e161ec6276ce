"""Helpers of the bad-input tests (test_bad_inputs.py, test_bad_cases.py, test_fuzz.py): a per-case workspace that
builds (possibly broken) inputs, and a hang guard."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from configs import load_config
from models import build_model
from tests.raw_helpers import make_raw
from tests.train_helpers import make_datamount, tiny_overrides


@dataclass
class Ws:
    """A fresh per-case folder with helpers that build (possibly broken) inputs inside it."""

    root: Path
    shared: dict

    def mount(self):
        return make_datamount(self.root / "dm")

    def train(self, *more: str, mount=None, **extra) -> list[str]:
        mount = mount or self.mount()
        return ["-C", "demo_2", "--fold", "-1",
                *tiny_overrides(mount, self.root / "out", train_df=mount.oof_supp, **extra), *more]

    def npy(self, name: str, array) -> Path:
        path = self.root / name
        np.save(path, array, allow_pickle=True)
        return path

    def file(self, name: str, data: bytes | str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    def raw(self) -> Path:
        make_raw(self.root / "raw")
        return self.root / "raw"

    def prepare(self, *more: str) -> list[str]:
        return ["--raw", str(self.root / "raw"), "--datamount", str(self.root / "dmout"), "--quiet",
                "--workers", "1", "--n-folds", "2", *more]

    def checkpoint(self, config: str) -> Path:
        """A saved random-weight model of `config` (cached across cases)."""
        if config not in self.shared:
            path = self.shared["dir"] / f"{config}.pth"
            torch.manual_seed(0)
            torch.save({"model": build_model(load_config(config)).state_dict()}, path)
            self.shared[config] = path
        return self.shared[config]

    def oof_mount(self) -> Path:
        from tests.round2_helpers import PREDS, make_mount
        return make_mount(self.root / "oof", PREDS)

    def predict(self, *inputs: Path | str, more: tuple[str, ...] = ()) -> list[str]:
        return [*map(str, inputs), "-C", "demo_2", "--checkpoints", str(self.checkpoint("demo_2")),
                "--out", str(self.root / "preds" / "p.csv"), *more]


def in_thread(fn, timeout: float):
    """fn() in a daemon thread; fails the test instead of hanging past `timeout` seconds."""
    out: dict = {}

    def target():
        try:
            out["value"] = fn()
        except BaseException as e:  # noqa: BLE001 -- handed to the test thread
            out["error"] = e
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"hung for more than {timeout} s"
    if "error" in out:
        raise out["error"]
    return out["value"]
