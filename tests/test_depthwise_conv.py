"""The encoder's depthwise conv (models.squeezeformer.Conv1dWrapper) against float64 Conv1d: values and gradients.

The case is the ill-conditioned one that exposed oneDNN's inaccurate depthwise weight gradient: the input carries
a constant offset and the upstream gradient is zero-mean over time (as behind a BatchNorm). Shapes are those of
cfg_1, cfg_2 and the demo configs.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from configs import load_config
from models.squeezeformer import Conv1dWrapper, depthwise_weight_grad

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

RTOL = 1e-5  # float32 against float64, relative norm error; the inaccurate Conv2d route was 2e-2 .. 3e-1 here
OFFSET = 5.0


def shape_of(name: str, batch: int) -> tuple[int, int, int, int]:
    cfg = load_config(name)
    return batch, cfg.max_len, cfg.encoder_dim, cfg.conv_kernel_size


SHAPES = {"cfg_1": shape_of("cfg_1", 4), "cfg_2": shape_of("cfg_2", 4), "demo_1": shape_of("demo_1", 16),
          "demo_2": shape_of("demo_2", 16)}


def ill_conditioned(batch: int, frames: int, channels: int, kernel: int, device: str):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, frames, channels, generator=gen) + OFFSET
    grad = torch.randn(batch, frames, channels, generator=gen)
    grad = grad - grad.mean(1, keepdim=True)
    wrapper = Conv1dWrapper(channels, channels, kernel, groups=channels, bias=False)
    with torch.no_grad():
        wrapper.conv.weight.copy_(0.1 * torch.randn(wrapper.conv.weight.shape, generator=gen))
    return x.to(device), grad.to(device), wrapper.to(device)


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b).norm() / b.norm())


def check_against_float64(shape, device: str) -> None:
    x, grad, wrapper = ill_conditioned(*shape, device)
    x = x.requires_grad_()
    out = wrapper(x)
    out.backward(grad)
    x64 = x.detach().double().requires_grad_()
    w64 = wrapper.conv.weight.detach().double().requires_grad_()
    ref = F.conv1d(x64.transpose(1, 2), w64, padding=shape[3] // 2, groups=shape[2]).transpose(1, 2)
    ref.backward(grad.double())
    assert rel(out.detach(), ref.detach()) < RTOL
    assert rel(x.grad, x64.grad) < RTOL
    assert rel(wrapper.conv.weight.grad, w64.grad) < RTOL


@pytest.mark.parametrize("name", SHAPES)
def test_depthwise_conv_matches_float64_on_cpu(name):
    check_against_float64(SHAPES[name], "cpu")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", SHAPES)
def test_depthwise_conv_matches_float64_on_cuda(name):
    torch.backends.cudnn.allow_tf32 = False  # TF32 would round the inputs to 10-bit mantissas
    check_against_float64(SHAPES[name], "cuda")


def test_weight_grad_formula_on_a_hand_example():
    """dW[c, 0, j] = sum_{b,t} x_pad[b, t + j, c] * g[b, t, c]: one channel, 'same' padding, by hand."""
    x = torch.tensor([[[1.0], [2.0], [3.0]]])  # (B=1, T=3, C=1)
    g = torch.tensor([[[1.0], [0.0], [-1.0]]])
    # x_pad = [0, 1, 2, 3, 0]; j=0: 0*1 + 2*(-1) = -2; j=1: 1*1 + 3*(-1) = -2; j=2: 2*1 + 0*(-1) = 2
    assert depthwise_weight_grad(x, g, 3).flatten().tolist() == [-2.0, -2.0, 2.0]


def test_pointwise_and_biased_convs_keep_their_routes():
    """A 1x1 conv is a linear layer; a biased or non-depthwise wide conv falls back to Conv1d (no custom grad)."""
    torch.manual_seed(0)
    x = torch.randn(2, 9, 6)
    for wrapper in (Conv1dWrapper(6, 4), Conv1dWrapper(6, 6, 3, groups=6, bias=True), Conv1dWrapper(6, 6, 3)):
        ref = F.conv1d(x.transpose(1, 2), wrapper.conv.weight, wrapper.conv.bias,
                       padding=wrapper.conv.padding, groups=wrapper.conv.groups).transpose(1, 2)
        torch.testing.assert_close(wrapper(x), ref, rtol=1e-5, atol=1e-6)
