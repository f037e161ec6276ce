"""Copy PyTorch weights into the Keras twin by walking both module trees in parallel (no name tables).

`port_weights(torch_module, keras_layer)` visits the PyTorch module's children by name; the Keras layer must
have an attribute of the same name (lists of blocks are indexed in step). Leaves are converted by type
(Linear -> Dense, Conv1d -> Conv1D / DepthwiseConv1D, Conv2d -> Conv2D, BatchNorm, LayerNorm, Embedding);
tensors held directly by a module (`cos`, `scale_mhsa`, `embed_positions.weights`, ...) go to the Keras
variable of the same name. Every state-dict tensor of the PyTorch module (except excluded training-only
children) must be used exactly once and every Keras variable set exactly once, with matching shapes.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
import torch
from torch import nn

# Training-only PyTorch children without a Keras twin (SPEC §9.1: the backward decoder is not exported).
TRAINING_ONLY_CHILDREN: tuple[str, ...] = ("decoder2",)


class PortError(ValueError):
    """The PyTorch and Keras trees do not correspond (missing attribute, wrong type or shape, unused tensor)."""


@dataclass
class PortReport:
    """What a port copied: PyTorch keys used, keys skipped as training-only, Keras variables set."""

    used: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    assigned: set[int] = field(default_factory=set)  # id() of every Keras variable written

    @property
    def n_values(self) -> int:
        return len(self.used)


Assignment = tuple[keras.Variable, np.ndarray, list[str]]  # Keras variable, value, PyTorch tensor names used
Converter = Callable[[nn.Module, keras.layers.Layer], list[Assignment]]


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().float().numpy()


def _expect(keras_layer: keras.layers.Layer, kind: type, torch_module: nn.Module) -> None:
    if not isinstance(keras_layer, kind):
        raise PortError(f"PyTorch {type(torch_module).__name__} needs a Keras {kind.__name__}, "
                        f"got {type(keras_layer).__name__} ({keras_layer.name})")


def _linear(m: nn.Linear, k: keras.layers.Layer) -> list[Assignment]:
    _expect(k, keras.layers.Dense, m)
    out = [(k.kernel, _np(m.weight).T, ["weight"])]
    return out + ([(k.bias, _np(m.bias), ["bias"])] if m.bias is not None else [])


def _conv1d(m: nn.Conv1d, k: keras.layers.Layer) -> list[Assignment]:
    weight = _np(m.weight)  # (out, in / groups, k)
    if m.groups == 1:
        _expect(k, keras.layers.Conv1D, m)
        kernel = weight.transpose(2, 1, 0)  # (k, in, out)
    elif m.groups == m.in_channels == m.out_channels:
        _expect(k, keras.layers.DepthwiseConv1D, m)
        kernel = weight.transpose(2, 0, 1)  # (k, channels, depth multiplier 1)
    else:
        raise PortError(f"Conv1d with groups={m.groups} has no Keras twin")
    out = [(k.kernel, kernel, ["weight"])]
    return out + ([(k.bias, _np(m.bias), ["bias"])] if m.bias is not None else [])


def _conv2d(m: nn.Conv2d, k: keras.layers.Layer) -> list[Assignment]:
    _expect(k, keras.layers.Conv2D, m)
    if m.groups != 1:
        raise PortError(f"Conv2d with groups={m.groups} has no Keras twin")
    out = [(k.kernel, _np(m.weight).transpose(2, 3, 1, 0), ["weight"])]  # (kh, kw, in, out)
    return out + ([(k.bias, _np(m.bias), ["bias"])] if m.bias is not None else [])


def _check_eps(m: nn.Module, k: keras.layers.Layer) -> None:
    if not np.isclose(m.eps, k.epsilon):
        raise PortError(f"{type(m).__name__} eps {m.eps} != Keras {k.name} epsilon {k.epsilon}")


def _batch_norm(m: nn.modules.batchnorm._BatchNorm, k: keras.layers.Layer) -> list[Assignment]:
    _expect(k, keras.layers.BatchNormalization, m)
    _check_eps(m, k)
    # num_batches_tracked only matters for training: consumed with the running variance, not exported.
    return [(k.gamma, _np(m.weight), ["weight"]), (k.beta, _np(m.bias), ["bias"]),
            (k.moving_mean, _np(m.running_mean), ["running_mean"]),
            (k.moving_variance, _np(m.running_var), ["running_var", "num_batches_tracked"])]


def _layer_norm(m: nn.LayerNorm, k: keras.layers.Layer) -> list[Assignment]:
    _expect(k, keras.layers.LayerNormalization, m)
    _check_eps(m, k)
    return [(k.gamma, _np(m.weight), ["weight"]), (k.beta, _np(m.bias), ["bias"])]


def _embedding(m: nn.Embedding, k: keras.layers.Layer) -> list[Assignment]:
    _expect(k, keras.layers.Embedding, m)
    return [(k.embeddings, _np(m.weight), ["weight"])]


# Leaf converters by PyTorch type (checked in order; subclasses such as BatchNormAct2d match their base).
LEAF_CONVERTERS: tuple[tuple[type, Converter], ...] = (
    (nn.Linear, _linear),
    (nn.Conv1d, _conv1d),
    (nn.Conv2d, _conv2d),
    (nn.modules.batchnorm._BatchNorm, _batch_norm),
    (nn.LayerNorm, _layer_norm),
    (nn.Embedding, _embedding),
)


def _leaf_converter(module: nn.Module) -> Converter | None:
    for kind, converter in LEAF_CONVERTERS:
        if isinstance(module, kind):
            return converter
    return None


def _direct_tensors(module: nn.Module) -> dict[str, torch.Tensor]:
    """State-dict tensors owned by `module` itself (parameters and persistent buffers, not its children's)."""
    return {k: v for k, v in module.state_dict(keep_vars=True).items() if "." not in k}


def _assign(variable: keras.Variable, value: np.ndarray, keys: list[str], report: PortReport) -> None:
    if tuple(variable.shape) != value.shape:
        raise PortError(f"{keys[0]}: PyTorch tensor converts to shape {value.shape}, but Keras variable "
                        f"{variable.path} has shape {tuple(variable.shape)}")
    if id(variable) in report.assigned:
        raise PortError(f"{keys[0]}: Keras variable {variable.path} would be written twice")
    for key in keys:
        if key in report.used:
            raise PortError(f"PyTorch tensor {key} would be used twice")
    variable.assign(value)
    report.assigned.add(id(variable))
    report.used.extend(keys)


def _keras_child(keras_layer, name: str, path: str):
    aliases = getattr(keras_layer, "TORCH_NAME_ALIASES", {})
    child = getattr(keras_layer, aliases.get(name, name), None)
    if child is None:
        raise PortError(f"{path}: the Keras twin {type(keras_layer).__name__} has no attribute {name!r}")
    return child


def _walk(module: nn.Module, keras_layer, prefix: str, report: PortReport, exclude: tuple[str, ...]) -> None:
    converter = _leaf_converter(module)
    if converter is not None:
        for variable, value, names in converter(module, keras_layer):
            _assign(variable, value, [prefix + n for n in names], report)
        return
    for name, tensor in _direct_tensors(module).items():
        variable = _keras_child(keras_layer, name, prefix + name)
        if not isinstance(variable, keras.Variable):
            raise PortError(f"{prefix + name}: Keras attribute is a {type(variable).__name__}, not a variable")
        _assign(variable, _np(tensor), [prefix + name], report)
    for name, child in module.named_children():
        path = prefix + name
        if not child.state_dict():
            continue  # dropout, activations, losses: nothing to port
        if path in exclude:
            report.excluded.extend(path + "." + k for k in child.state_dict())
            continue
        keras_child = _keras_child(keras_layer, name, path)
        if isinstance(child, nn.ModuleList):
            if len(keras_child) != len(child):
                raise PortError(f"{path}: {len(child)} PyTorch modules but {len(keras_child)} Keras layers")
            for i, (sub, keras_sub) in enumerate(zip(child, keras_child)):
                _walk(sub, keras_sub, f"{path}.{i}.", report, exclude)
        else:
            _walk(child, keras_child, path + ".", report, exclude)


def port_weights(torch_module: nn.Module, keras_layer: keras.layers.Layer,
                 exclude: tuple[str, ...] = TRAINING_ONLY_CHILDREN) -> PortReport:
    """Copy every state-dict tensor of `torch_module` into its Keras twin; raises PortError on any mismatch."""
    report = PortReport()
    _walk(torch_module, keras_layer, "", report, exclude)
    expected = [k for k in torch_module.state_dict() if k not in set(report.excluded)]
    unused = sorted(set(expected) - set(report.used))
    if unused:
        raise PortError(f"{len(unused)} PyTorch tensors have no Keras counterpart: {unused[:5]}")
    unset = [v.path for v in keras_layer.weights if id(v) not in report.assigned]
    if unset:
        raise PortError(f"{len(unset)} Keras variables received no PyTorch tensor: {unset[:5]}")
    return report
