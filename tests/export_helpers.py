"""Shared builders of the export tests: informative random weights, one cached TFLite export, raw frames (the tiny
config is tests/model_helpers.tiny_cfg)."""
from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from configs import load_config
from models import build_model

CONFIDENT_AUX_BIAS = 3.0  # sigmoid(3) = 0.95: the decoder branch runs
EXPORT_MAX_LEN = 64  # the export tests' tiny_cfg("cfg_2", max_len=EXPORT_MAX_LEN): 64-frame rotary tables


@torch.no_grad()
def random_net(cfg: SimpleNamespace, seed: int) -> nn.Module:
    """An eval-mode mdl_2 whose every tensor matters: random BN statistics, scales, biases and LN affines."""
    torch.manual_seed(seed)
    net = build_model(cfg)
    for name, tensor in net.state_dict().items():
        if name.endswith("running_var"):
            tensor.uniform_(0.5, 1.5)
        elif name.endswith("running_mean"):
            tensor.normal_(0, 0.1)
        elif tensor.is_floating_point() and not name.endswith(("cos", "sin", "embed_positions.weights")):
            tensor.add_(torch.randn_like(tensor) * 0.05)
    net.aux_fc.bias.fill_(CONFIDENT_AUX_BIAS)
    return net.eval()


def save_checkpoint(net: nn.Module, path: Path) -> Path:
    """{'model': state_dict}, the format train.py writes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": net.state_dict()}, path)
    return path


@dataclass
class Export:
    """A 2-seed demo_2 ensemble with random weights, converted by scripts/convert_cfg_2_to_tf_lite.py."""

    cfg: SimpleNamespace
    out_dir: Path
    checkpoints: list[Path]
    torch_nets: list[nn.Module]
    returncode: int

    @property
    def tflite(self) -> Path:
        return self.out_dir / "model.tflite"

    @property
    def inference_args(self) -> Path:
        return self.out_dir / "inference_args.json"

    @functools.cached_property
    def module(self):
        """The fp32 inference graph of the same weights (inference.tflite_graph.InferenceModule)."""
        from export.convert import keras_twin
        from inference.tflite_graph import build_inference_module

        return build_inference_module([keras_twin(n, self.cfg) for n in self.torch_nets], self.cfg.max_len)


@functools.lru_cache(maxsize=1)
def demo_export() -> Export:
    """Run the conversion script once per test session on two random demo_2 seeds (about a minute), with the
    parity report over a tiny datamount's fold 0; everything is removed at exit."""
    from scripts import convert_cfg_2_to_tf_lite
    from tests.train_helpers import make_datamount

    root = Path(tempfile.mkdtemp(prefix="export_test_"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    mount = make_datamount(root / "datamount")
    out_dir = root / "export"
    cfg = load_config("demo_2")
    nets = [random_net(cfg, seed) for seed in (1, 2)]
    checkpoints = [save_checkpoint(n, root / f"checkpoint_last_seed{i + 1}.pth") for i, n in enumerate(nets)]
    code = convert_cfg_2_to_tf_lite.main(convert_argv(checkpoints, out_dir, mount.root, "--parity-limit", "4"))
    return Export(cfg, out_dir, checkpoints, nets, code)


def convert_argv(checkpoints: list[Path], out_dir: Path, datamount: Path, *more: str) -> list[str]:
    """scripts/convert_cfg_2_to_tf_lite.py's arguments for demo_2 `checkpoints` (see `random_net`): the export
    goes to `out_dir`; the parity report's validation fold is read from `datamount` (none without train_folded.csv)."""
    return ["-C", "demo_2", "--checkpoints", *map(str, checkpoints), "--out-dir", str(out_dir),
            "--datamount", str(datamount), *more]


def raw_frames(n_frames: int, seed: int = 0, nan_hands: bool = False) -> np.ndarray:
    """Raw-like (T, 390) frames (see export.parity.random_sequence)."""
    from export.parity import random_sequence

    return random_sequence(n_frames, np.random.default_rng(seed), ["left_hand", "right_hand"] if nan_hands else ())


PHRASES = ("hello world", "abc", "12 main st", "https://x.yz", "sign")


def write_raw_set(root: Path, lengths: tuple[int, ...], seed: int = 0) -> tuple[Path, Path, dict[int, np.ndarray]]:
    """A competition-format raw folder (one parquet) + datamount/train_folded.csv; fold 0 = every row but the last.

    Returns (raw dir, datamount dir, {sequence_id: (T, 543, 3) landmarks}).
    """
    import pandas as pd

    from data.landmarks import N_HOLISTIC
    from data.raw_format import write_landmark_parquet
    from data.tokenizer import write_character_map

    rng = np.random.default_rng(seed)
    raw, mount = root / "raw", root / "datamount"
    sequences = {}
    for i, n in enumerate(lengths):
        xyz = rng.uniform(0.2, 0.8, size=(n, N_HOLISTIC, 3)).astype(np.float32)
        xyz[: n // 2, 468:489] = np.nan  # left hand missing in the first half
        sequences[1000 + i] = xyz
    file_id = 7
    write_landmark_parquet(raw / "train_landmarks" / f"{file_id}.parquet", sequences)
    raw.mkdir(parents=True, exist_ok=True)
    write_character_map(raw / "character_to_prediction_index.json")
    rows = [{"path": f"train_landmarks/{file_id}.parquet", "file_id": file_id, "sequence_id": sid,
             "participant_id": 1, "phrase": PHRASES[i % len(PHRASES)], "fold": 0 if i < len(lengths) - 1 else 1,
             "seq_len": len(xyz)} for i, (sid, xyz) in enumerate(sequences.items())]
    mount.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(mount / "train_folded.csv", index=False)
    return raw, mount, sequences


def selected_frames(xyz: np.ndarray) -> np.ndarray:
    """(T, 543, 3) Holistic landmarks -> (T, 390) selected columns (all x, all y, all z)."""
    from data.landmarks import HOLISTIC_LANDMARKS, SELECTED_LANDMARKS

    index = [HOLISTIC_LANDMARKS.index(name) for name in SELECTED_LANDMARKS]
    return np.ascontiguousarray(xyz[:, index].transpose(0, 2, 1)).reshape(len(xyz), -1)
