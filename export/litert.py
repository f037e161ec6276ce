"""LiteRT plumbing: Kaggle's way of running a model.tflite, and inspection of the flatbuffer's operators.

Kaggle's harness: `Interpreter(model_path).get_signature_runner("serving_default")`, call it with
`inputs=frames` (float32 [T, 390], the `selected_columns` of inference_args.json), take the argmax of every
row of `outputs` and map ids through the reversed character map (unknown ids -> '').
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter

from common.errors import CheckFailedError

SIGNATURE_KEY: str = "serving_default"
INPUT_NAME: str = "inputs"
OUTPUT_NAME: str = "outputs"
# Kaggle's submission limit. NOTE(original): its 2-seed file is 40,946,008 bytes, so the limit is 40 MiB.
MAX_MODEL_BYTES: int = 40 * 2**20
# Operators that only appear when weights were left as (uninitialised) resource variables: the Keras-in-
# tf.Module trap of SPEC §9 / inference.tflite_graph.
VARIABLE_OPS: frozenset[str] = frozenset({"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE"})
_BUILTIN_NAMES = {code: name for name, code in vars(schema.BuiltinOperator).items() if not name.startswith("_")}


def op_counts(model: str | Path | bytes) -> Counter:
    """Operator names (builtin or custom) and how often they occur, over ALL subgraphs (IF/WHILE bodies too)."""
    buf = model if isinstance(model, bytes) else Path(model).read_bytes()
    flat = schema.Model.GetRootAs(buf, 0)
    names = []
    for i in range(flat.OperatorCodesLength()):
        code = flat.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        custom = code.CustomCode()
        names.append(custom.decode() if custom else _BUILTIN_NAMES.get(builtin, str(builtin)))
    counts: Counter = Counter()
    for s in range(flat.SubgraphsLength()):
        subgraph = flat.Subgraphs(s)
        for o in range(subgraph.OperatorsLength()):
            counts[names[subgraph.Operators(o).OpcodeIndex()]] += 1
    return counts


def check_model_size(path: str | Path, limit: int | None = None) -> int:
    """File size in bytes; CheckFailedError (a ValueError) above `limit` (default: Kaggle's MAX_MODEL_BYTES)."""
    limit = MAX_MODEL_BYTES if limit is None else limit
    size = Path(path).stat().st_size
    if size > limit:
        raise CheckFailedError(f"{path}: {size:,} bytes exceeds the {limit:,}-byte ({limit / 2**20:.0f} MiB) limit")
    return size


def read_reverse_character_map(path: str | Path) -> dict[int, str]:
    """{id: character} from a character_to_prediction_index.json."""
    try:
        mapping = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: cannot read the character map ({e})") from e
    return {int(i): c for c, i in mapping.items()}


def decode_outputs(outputs: np.ndarray, reverse_map: dict[int, str]) -> str:
    """Kaggle's decoding: argmax of every row, ids mapped through the reversed map, unknown ids -> ''."""
    return "".join(reverse_map.get(int(i), "") for i in np.argmax(outputs, axis=1))


class TFLiteRunner:
    """A model.tflite run exactly like Kaggle's harness (signature runner, one sequence per call)."""

    def __init__(self, model_path: str | Path, num_threads: int = 1) -> None:
        path = Path(model_path)
        if not path.is_file():
            raise FileNotFoundError(f"TFLite model {path} does not exist")
        self.path = path
        try:
            self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        except (ValueError, RuntimeError) as e:
            raise ValueError(f"{path}: not a TFLite model ({' '.join(str(e).split())[:200]})") from e
        signatures = self.interpreter.get_signature_list()
        if SIGNATURE_KEY not in signatures:
            raise ValueError(f"{path}: no signature {SIGNATURE_KEY!r} (found {sorted(signatures)})")
        self.runner = self.interpreter.get_signature_runner(SIGNATURE_KEY)
        self.width = int(self.runner.get_input_details()[INPUT_NAME]["shape_signature"][-1])

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """float32 [T, 390] -> the `outputs` rows [n, 63]; the shape is checked before the interpreter runs."""
        frames = np.asarray(frames, dtype=np.float32)
        if frames.ndim != 2 or frames.shape[1] != self.width:
            raise ValueError(f"{self.path}: input must be float32 [T, {self.width}], got shape {frames.shape}")
        return self.runner(**{INPUT_NAME: frames})[OUTPUT_NAME]

    def signature(self) -> dict:
        """Input/output names, dtypes and shape signatures of `serving_default`."""
        def describe(details: dict) -> dict:
            return {name: (np.dtype(d["dtype"]).name, d["shape_signature"].tolist()) for name, d in details.items()}
        return {"inputs": describe(self.runner.get_input_details()),
                "outputs": describe(self.runner.get_output_details())}
