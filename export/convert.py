"""PyTorch checkpoints -> Keras twins -> inference tf.Module -> SavedModel -> fp16 TFLite (SPEC §9.1, §9.4).

    from export.convert import export_ensemble
    result = export_ensemble(cfg, torch_nets, out_dir)   # model.tflite, saved_model/, inference_args.json
"""
from __future__ import annotations

import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import models.keras.tf_setup  # noqa: E402,F401  (before TensorFlow)
import tensorflow as tf  # noqa: E402
from torch import nn  # noqa: E402

from common.atomic import atomic_entries, remove_stale_temps  # noqa: E402
from common.errors import CheckFailedError  # noqa: E402
from data.landmarks import COORDS, SELECTED_LANDMARKS, write_inference_args  # noqa: E402
from export.litert import MAX_MODEL_BYTES, SIGNATURE_KEY, VARIABLE_OPS, check_model_size, op_counts  # noqa: E402
from common.run_layout import INFERENCE_ARGS_NAME, PARITY_JSON, SAVED_MODEL_NAME, TFLITE_NAME  # noqa: E402
from export.thresholds import Thresholds, config_thresholds  # noqa: E402
from inference.tflite_graph import InferenceModule, build_inference_module  # noqa: E402
from models.keras.mdl_2_pt import Net  # noqa: E402
from models.keras.port import port_weights  # noqa: E402

# The export's entries, swapped in together in this order (model.tflite, what Kaggle runs, last); the report is
# written only by a `before_commit` check, and an older one is removed when there is none.
EXPORT_NAMES = (SAVED_MODEL_NAME, INFERENCE_ARGS_NAME, PARITY_JSON, TFLITE_NAME)


@dataclass
class ExportResult:
    """Files written by `export_ensemble` and how long each stage took (seconds)."""

    tflite: Path
    saved_model: Path
    inference_args: Path
    size_bytes: int
    seconds: dict[str, float]


def keras_twin(torch_net: nn.Module, cfg: SimpleNamespace, landmarks: list[str] = SELECTED_LANDMARKS) -> Net:
    """A Keras `Net` carrying `torch_net`'s weights (every tensor checked, see models.keras.port)."""
    net = Net(cfg, landmarks)
    port_weights(torch_net, net)
    return net


def save_saved_model(module: InferenceModule, path: Path) -> Path:
    """SavedModel with the single signature `serving_default` = `module.serve`."""
    tf.saved_model.save(module, str(path), signatures={SIGNATURE_KEY: module.serve})
    return path


def convert_saved_model(path: Path) -> bytes:
    """fp16-weight TFLite flatbuffer of a SavedModel (builtin ops only), as the original's converter settings."""
    converter = tf.lite.TFLiteConverter.from_saved_model(str(path))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def check_no_variables(flatbuffer: bytes) -> None:
    """Raise if the weights were not frozen into constants (the Keras-in-tf.Module trap)."""
    found = VARIABLE_OPS & set(op_counts(flatbuffer))
    if found:
        raise RuntimeError(f"the TFLite model contains variable ops {sorted(found)}: Keras weights were not "
                           "tracked by the tf.Module and would be garbage at run time")


def check_size(flatbuffer: bytes, limit: int = MAX_MODEL_BYTES) -> None:
    """Refuse (before anything is replaced) a model above Kaggle's size limit."""
    if len(flatbuffer) > limit:
        raise CheckFailedError(f"the TFLite model has {len(flatbuffer):,} bytes, over the {limit:,}-byte "
                               f"({limit / 2**20:.0f} MiB) limit; nothing was replaced")


def inference_columns(landmarks: list[str]) -> list[str]:
    """The 390 `selected_columns` the graph expects: all x, then all y, then all z, in landmark order."""
    return [f"{c}_{name}" for c in COORDS for name in landmarks]


def export_ensemble(cfg: SimpleNamespace, torch_nets: list[nn.Module], out_dir: str | Path,
                    landmarks: list[str] = SELECTED_LANDMARKS,
                    before_commit: Callable[[Path, InferenceModule], None] | None = None,
                    thresholds: Thresholds | None = None) -> tuple[ExportResult, InferenceModule]:
    """Port every seed, build the SPEC §9.3 graph, write SavedModel, model.tflite and inference_args.json.

    Everything is built in a temp folder inside `out_dir` first; `before_commit(tflite, module)` then runs on the
    temp folder's model.tflite (the parity check writes its report next to it), and only then is the whole export
    swapped in (common.atomic.atomic_entries), so a killed or failed conversion leaves the previous export as it was
    and a report always sits next to the model it describes. The graph's fallback thresholds are `thresholds`
    (the converter passes export.thresholds.trained_thresholds), else cfg's max_len_for_dummy / pp_min_conf.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out_dir)
    seconds = {}
    start = time.perf_counter()
    thresholds = thresholds or config_thresholds(cfg, f"config {cfg.name}")
    module = build_inference_module([keras_twin(n, cfg, landmarks) for n in torch_nets], cfg.max_len,
                                    min_frames=thresholds.min_frames, min_conf=thresholds.min_conf)
    seconds["port"] = time.perf_counter() - start
    with atomic_entries(out_dir, EXPORT_NAMES) as staging:
        start = time.perf_counter()
        saved = save_saved_model(module, staging / SAVED_MODEL_NAME)
        seconds["saved_model"] = time.perf_counter() - start
        start = time.perf_counter()
        flatbuffer = convert_saved_model(saved)
        seconds["tflite"] = time.perf_counter() - start
        check_no_variables(flatbuffer)
        check_size(flatbuffer)
        (staging / TFLITE_NAME).write_bytes(flatbuffer)
        write_inference_args(staging / INFERENCE_ARGS_NAME, inference_columns(landmarks))
        if before_commit is not None:
            before_commit(staging / TFLITE_NAME, module)
    seconds["total"] = sum(seconds.values())
    tflite = out_dir / TFLITE_NAME
    return (ExportResult(tflite, out_dir / SAVED_MODEL_NAME, out_dir / INFERENCE_ARGS_NAME, check_model_size(tflite),
                         seconds), module)
