"""Experiment configs: one module per experiment (`configs/<name>.py`), each exposing a flat `cfg` SimpleNamespace.

    from configs import load_config, apply_overrides
    cfg = apply_overrides(load_config("cfg_2"), ["--fold", "-1", "--batch_size", "32"])

Command-line overrides are strict (SPEC §6 / Q22 describes the original's lenient parser):

* `--key value` or `--key=value`; the key must already exist in `cfg`, otherwise the error names it and
  suggests the closest keys.
* Hyphens inside a key are read as underscores (`--batch-size` == `--batch_size`). The original deleted every
  hyphen instead, so `--batch-size` became `batchsize` and was silently ignored.
* The value is cast by the type of the current value: bool accepts only true/false/True/False/1/0 (a bool key
  given as the last token or followed by another `--key` means true, so `--resume` works alone), int, float (an
  int literal is fine), str; a key whose value is None takes the raw string, or None for `None`.
  Keys holding a function, list, dict, ... cannot be set from the command line.
* Negative numbers are values, not keys: `--fold -1` works.
"""
from __future__ import annotations

import copy
import difflib
import importlib
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

CONFIG_DIR = Path(__file__).resolve().parent
TRUE_WORDS = ("true", "True", "1")
FALSE_WORDS = ("false", "False", "0")
NONE_WORD = "None"


def available_configs() -> list[str]:
    """Names of the config modules in configs/ (every `*.py` except private ones)."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.py") if not p.stem.startswith("_"))


def load_config(name: str) -> SimpleNamespace:
    """Deep copy of `configs.<name>.cfg`; `name` may also be written `configs/<name>.py`.

    Raises:
        ValueError: no such config module, or the module defines no `cfg`.
    """
    name = Path(name).stem if name.endswith(".py") or "/" in name else name
    if name not in available_configs():
        close = difflib.get_close_matches(name, available_configs(), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown config {name!r}; available configs: {', '.join(available_configs())}.{hint}")
    module = importlib.import_module(f"configs.{name}")
    if not isinstance(getattr(module, "cfg", None), SimpleNamespace):
        raise ValueError(f"configs/{name}.py defines no SimpleNamespace `cfg`")
    return copy.deepcopy(module.cfg)


def _is_value_token(token: str) -> bool:
    """True when `token` is a value rather than a `--key` (negative numbers such as -1 are values)."""
    return not token.startswith("--")


def split_pairs(argv: list[str]) -> list[tuple[str, str | None]]:
    """Split `--key value` / `--key=value` tokens into (key, raw value or None for a bare flag) pairs."""
    pairs: list[tuple[str, str | None]] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if not token.startswith("--") or len(token) == 2:
            raise ValueError(f"expected a --key, got {token!r} in {' '.join(argv)!r} (overrides are --key value pairs)")
        key, eq, value = token[2:].partition("=")
        key = key.replace("-", "_")
        if eq:
            pairs.append((key, value))
            i += 1
        elif i + 1 < len(argv) and _is_value_token(argv[i + 1]):
            pairs.append((key, argv[i + 1]))
            i += 2
        else:
            pairs.append((key, None))
            i += 1
    return pairs


def cast_value(key: str, old: Any, raw: str | None) -> Any:
    """Cast the command-line string `raw` for `key` by the type of its current value `old`."""
    if isinstance(old, bool):
        if raw is None or raw in TRUE_WORDS:
            return True
        if raw in FALSE_WORDS:
            return False
        raise ValueError(f"--{key}: {raw!r} is not a boolean; use one of {TRUE_WORDS + FALSE_WORDS}")
    if raw is None:
        raise ValueError(f"--{key} needs a value (current value: {old!r})")
    if old is None:
        return None if raw == NONE_WORD else raw
    if isinstance(old, (int, float, str)):
        try:
            return type(old)(raw)
        except ValueError:
            raise ValueError(f"--{key}: {raw!r} is not a valid {type(old).__name__} (current value: {old!r})") from None
    raise ValueError(f"--{key} holds a {type(old).__name__} ({old!r}); it cannot be set from the command line")


def apply_overrides(cfg: SimpleNamespace, argv: list[str]) -> SimpleNamespace:
    """Apply `--key value` overrides to `cfg` in place (and return it); see the module docstring for the rules."""
    known = vars(cfg)
    for key, raw in split_pairs(argv):
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join('--' + c for c in close)}?" if close else ""
            raise ValueError(f"unknown config key --{key} for config {getattr(cfg, 'name', '?')!r}{hint}")
        setattr(cfg, key, cast_value(key, known[key], raw))
    return cfg


def config_to_dict(cfg: SimpleNamespace) -> dict[str, Any]:
    """JSON-able view of `cfg`: scalars and containers as they are, callables as `module.qualname`."""
    def encode(value: Any) -> Any:
        if callable(value):
            return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', repr(value))}"
        if isinstance(value, (list, tuple)):
            return [encode(v) for v in value]
        if isinstance(value, dict):
            return {str(k): encode(v) for k, v in value.items()}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        return repr(value)

    return {k: encode(v) for k, v in vars(cfg).items()}


def save_config(cfg: SimpleNamespace, path: str | Path) -> None:
    """Write the resolved config as indented JSON."""
    Path(path).write_text(json.dumps(config_to_dict(cfg), indent=1))
