"""Parity with the original PyTorch code on the golden fixtures (../shared/fixtures, SPEC §11).

Every test takes the `fixtures_dir` fixture and skips cleanly where the folder is absent.
"""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import torch

from configs import load_config
from data.tokenizer import decode
from models import build_model
from models.decoding import generate_ids
from models.weights import load_weights

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

CONFIGS = ("cfg_1", "cfg_2")
ATOL = 1e-4
SPEC = Path(__file__).resolve().parents[2] / "shared" / "SPEC.md"


def parse_appendix(title: str) -> list[tuple[str, tuple[int, ...], torch.dtype]]:
    """(key, shape, dtype) rows of the code block under the SPEC appendix heading starting with `title`."""
    text = SPEC.read_text()
    block = text[text.index(title):].split("```")[1]
    rows = []
    for line in block.strip().splitlines():
        key, shape, *dtype = line.split()
        dims = tuple(int(d) for d in shape.strip("()").split(",") if d)
        rows.append((key, dims, torch.int64 if dtype == ["int64"] else torch.float32))
    return rows


def expand_cfg_1_template(rows, num_blocks: int = 6, num_layers: int = 2):
    """Appendix B lists block 0 and decoder layer 0 only; the other blocks/layers repeat them in order."""
    templates = {"encoder.blocks.0.": num_blocks, "decoder.decoder.layers.0.": num_layers}

    def template_of(row) -> str | None:
        return next((t for t in templates if row[0].startswith(t)), None)

    out = []
    for template, group in itertools.groupby(rows, key=template_of):
        group = list(group)
        if template is None:
            out += group
            continue
        for i in range(templates[template]):
            prefix = template.replace(".0.", f".{i}.")
            out += [(prefix + key[len(template):], shape, dtype) for key, shape, dtype in group]
    return out


@pytest.fixture(scope="module")
def nets() -> dict[str, torch.nn.Module]:
    return {name: build_model(load_config(name)) for name in CONFIGS}


def loaded(nets, fixtures_dir: Path, name: str) -> torch.nn.Module:
    net = nets[name]
    load_weights(net, fixtures_dir / f"{name}_state_dict.pth", strict=True)
    return net.eval()


@pytest.mark.parametrize("name,title", [("cfg_2", "## Appendix A"), ("cfg_1", "## Appendix B")])
def test_state_dict_equals_spec_appendix(nets, fixtures_dir, name, title):
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} is absent")
    rows = parse_appendix(title)
    if name == "cfg_1":
        rows = expand_cfg_1_template(rows)
    ours = [(k, tuple(v.shape), v.dtype) for k, v in nets[name].state_dict().items()]
    assert len(rows) == (710 if name == "cfg_2" else 339)
    assert ours == rows


@pytest.mark.parametrize("name", CONFIGS)
def test_reference_state_dict_loads_strictly(nets, fixtures_dir, name):
    net = loaded(nets, fixtures_dir, name)
    reference = torch.load(fixtures_dir / f"{name}_state_dict.pth", map_location="cpu")
    assert list(net.state_dict()) == list(reference)


def test_original_checkpoint_format_loads(nets, fixtures_dir):
    path = fixtures_dir / "cfg_2_checkpoint_seed2.pth"  # {'model': state_dict}, the original's format
    report = load_weights(nets["cfg_2"], path, strict=True)
    assert not report.missing_keys and not report.unexpected_keys
    expected = torch.load(path, weights_only=True)["model"]
    for key, value in nets["cfg_2"].state_dict().items():
        assert torch.equal(value, expected[key]), key


@pytest.mark.parametrize("name", CONFIGS)
def test_eval_outputs_match_reference(nets, fixtures_dir, name):
    net = loaded(nets, fixtures_dir, name)
    batch = torch.load(fixtures_dir / f"{name}_batch.pth")
    expected = torch.load(fixtures_dir / f"{name}_expected_eval_outputs.pth")
    summary = json.loads((fixtures_dir / f"{name}_expected_summary.json").read_text())
    with torch.no_grad():
        out = net(batch)
        encoder_out = net(batch, debug=True)
    assert torch.equal(out["generated_ids"], expected["generated_ids"])
    assert torch.equal(out["seq_len"], expected["seq_len"])
    assert [decode(row) for row in out["generated_ids"]] == summary["decoded"]
    for key in ("loss", "loss_aux", "loss_ce", "loss_ce_bwd", "aux_logits"):
        if key in expected:
            torch.testing.assert_close(out[key], expected[key], rtol=ATOL, atol=ATOL)
    if "encoder_out" in expected:  # padded rows hold don't-care values (SPEC §5.1); compare valid frames
        valid = batch["input_mask"].bool()
        torch.testing.assert_close(encoder_out[valid], expected["encoder_out"][valid], rtol=ATOL, atol=ATOL)


@pytest.mark.parametrize("name", CONFIGS)
def test_cached_decoder_reproduces_reference_ids(nets, fixtures_dir, name):
    net = loaded(nets, fixtures_dir, name)
    batch = torch.load(fixtures_dir / f"{name}_batch.pth")
    expected = torch.load(fixtures_dir / f"{name}_expected_eval_outputs.pth")
    with torch.no_grad():
        h = net(batch, debug=True)
        ids = generate_ids(net.decoder, h, batch["input_mask"].bool(), "cached")
    assert torch.equal(ids, expected["generated_ids"])


# --- Train mode: losses, every parameter's gradient and the BatchNorm running statistics (issue 10) ----------------
GRAD_RTOL = 1e-4  # ||ours - ref|| / max(||ref||, GRAD_FLOOR), the fixture README's criterion
GRAD_FLOOR = 1e-4  # key-projection biases have a true gradient of 0: compare them in absolute terms


def bn_only_train_mode(net: torch.nn.Module) -> torch.nn.Module:
    """The fixture's deterministic train mode: the net in training, every sub-module in eval except BatchNorm.

    That switches off every dropout (module or functional), the decoders' input masking and LayerDrop, while
    BatchNorm uses batch statistics over valid frames and updates its running estimates.
    """
    net.train()
    for module in net.modules():
        if module is not net and not isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.training = False
    net.decoder_mask_aug = 0.0
    return net


def relative_error(ours: torch.Tensor, reference: torch.Tensor) -> float:
    diff = (ours.double() - reference.double()).norm()
    return float(diff / max(float(reference.double().norm()), GRAD_FLOOR))


@pytest.mark.parametrize("name", CONFIGS)
def test_train_step_gradients_match_reference(nets, fixtures_dir, name):
    path = fixtures_dir / f"{name}_expected_train_bn_only.pth"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    expected = torch.load(path)
    net = build_model(load_config(name))
    load_weights(net, fixtures_dir / f"{name}_state_dict.pth", strict=True)
    bn_only_train_mode(net)
    out = net(torch.load(fixtures_dir / f"{name}_batch.pth"))
    out["loss"].backward()
    for key, value in expected["losses"].items():
        torch.testing.assert_close(out[key].float(), value.float(), rtol=1e-5, atol=1e-6, msg=key)
    grads = {k: p.grad for k, p in net.named_parameters() if p.grad is not None}
    assert sorted(grads) == sorted(expected["grads"])
    errors = {k: relative_error(grads[k], ref) for k, ref in expected["grads"].items()}
    worst = sorted(errors.items(), key=lambda kv: -kv[1])[:5]
    assert max(errors.values()) < GRAD_RTOL, f"largest relative gradient errors: {worst}"
    buffers = dict(net.named_buffers())
    for key, ref in expected["running_stats_after"].items():
        if ref.dtype == torch.int64:
            assert torch.equal(buffers[key], ref), key
        else:
            assert relative_error(buffers[key], ref) < GRAD_RTOL, key
