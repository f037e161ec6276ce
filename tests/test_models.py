"""mdl_1_pt / mdl_2_pt: state-dict contract, parameter counts, padding semantics, gradients, losses, checkpoints.

Generic tests use tiny configs (tests/model_helpers.tiny_cfg: width 32, 2 blocks) so they run in seconds.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from configs import load_config
from data.landmarks import N_LANDMARKS, PART_NAMES, part_indices
from data.tokenizer import MASK_ID, MAX_PHRASE_LEN, PAD_ID, SOS_ID, tokenize
from models import MODELS, build_model
from models.decoder import reversed_labels, shift_right
from models.feature_extractor import FeatureExtractor
from models.norms import MaskedBatchNorm1d
from models.weights import load_state_dict_file, load_weights
from tests.model_helpers import tiny_cfg

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ("cfg_1", "cfg_2")
PHRASES = ("hello world", "https://abc.xyz", "12 main st")


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def make_batch(lengths=(40, 23, 1), max_len: int = 40, seed: int = 0, phrases=PHRASES) -> dict[str, torch.Tensor]:
    """A padded batch in the dataset contract (random normalised landmarks, left hand missing in sample 0)."""
    g = torch.Generator().manual_seed(seed)
    b = len(lengths)
    x = torch.randn(b, max_len, N_LANDMARKS, 3, generator=g)
    x[0, :, part_indices()["lhand"]] = 0.0
    mask = (torch.arange(max_len)[None] < torch.tensor(lengths)[:, None]).float()
    x = x * mask[..., None, None]
    labels = [tokenize(p) for p in phrases[:b]]
    return {"input": x, "input_mask": mask,
            "token_ids": torch.tensor(np.stack([t for t, _ in labels])),
            "attention_mask": torch.tensor(np.stack([m for _, m in labels])),
            "seq_len": torch.tensor(lengths), "score": torch.rand(b, generator=g, dtype=torch.float64)}


def build(name: str, seed: int = 0, **overrides):
    """Tiny model of config `name`, initialised from `seed`."""
    torch.manual_seed(seed)
    return build_model(tiny_cfg(name, **overrides))


# --------------------------------------------------------------------------- state dict and parameter counts

EXPECTED = {  # SPEC §5.4 / §5.5 (trainable parameters per top-level module)
    "cfg_2": {"keys": 710, "trainable": 9_736_305, "modules": {
        "feature_extractor": 433_984, "feature_extractor_lhand": 19_336, "feature_extractor_rhand": 19_336,
        "feature_extractor_face": 64_264, "feature_extractor_pose": 11_016, "encoder": 6_883_968,
        "decoder": 1_152_096, "decoder2": 1_152_096, "aux_fc": 209}},
    "cfg_1": {"keys": 339, "trainable": 2_515_040, "modules": {
        "feature_extractor": 300_736, "encoder": 1_563_840, "decoder": 650_464}},
}
CFG_2_BLOCK = {"mhsa_llama": 173_056, "ln_mhsa": 416, "ff_mhsa": 86_944, "conv": 141_440}


@pytest.mark.parametrize("name", CONFIGS)
def test_full_size_counts(name):
    net = build_model(load_config(name))
    sd = net.state_dict()
    expected = EXPECTED[name]
    assert len(sd) == expected["keys"]
    assert sum(p.numel() for p in net.parameters() if p.requires_grad) == expected["trainable"]
    for module, count in expected["modules"].items():
        assert sum(p.numel() for p in getattr(net, module).parameters()) == count, module
    frozen = {"cos", "sin", "decoder.decoder.embed_positions.weights", "decoder2.decoder.embed_positions.weights"}
    expected_frozen = frozen if name == "cfg_2" else {"decoder.decoder.embed_positions.weights"}
    assert {k for k in frozen if k in sd} == expected_frozen
    assert all(sd[k].dtype == torch.int64 for k in sd if k.endswith("num_batches_tracked"))
    if name == "cfg_2":
        block = net.encoder.blocks[0]
        for module, count in CFG_2_BLOCK.items():
            assert sum(p.numel() for p in getattr(block, module).parameters()) == count, module
        assert sd["cos"].shape == (1, 1, 384, 52) and sd["decoder.decoder.embed_positions.weights"].shape == (1026, 208)
        assert list(sd)[:2] == ["cos", "sin"]


def test_registry_and_unknown_model():
    assert set(MODELS) == {"mdl_1_pt", "mdl_2_pt"}
    cfg = tiny_cfg("cfg_2", model="mdl_3_pt")
    with pytest.raises(ValueError, match="mdl_3_pt"):
        build_model(cfg)


@pytest.mark.slow
def test_configs_import_and_build_with_empty_datamount(tmp_path):
    code = ("from configs import load_config\nfrom models import build_model\n"
            "for n in ('cfg_1', 'cfg_2'):\n    build_model(load_config(n))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True, timeout=120)
    assert list(tmp_path.iterdir()) == []  # nothing read or written


# --------------------------------------------------------------------------- checkpoints

def test_save_load_round_trip_and_loader_formats(tmp_path):
    net = build("cfg_2")
    other = build("cfg_2", seed=1)
    sd = net.state_dict()
    raw, wrapped, ddp = tmp_path / "raw.pth", tmp_path / "ckpt.pth", tmp_path / "ddp.pth"
    torch.save(sd, raw)
    torch.save({"model": sd, "epoch": 3}, wrapped)
    torch.save({"model": {f"module.{k}": v for k, v in sd.items()}}, ddp)
    for path in (raw, wrapped, ddp):
        loaded = load_state_dict_file(path)
        assert list(loaded) == list(sd) and all(torch.equal(loaded[k], sd[k]) for k in sd)
    load_weights(other, ddp)
    net.eval(), other.eval()
    batch = make_batch()
    with torch.no_grad():
        assert torch.equal(net(batch, debug=True), other(batch, debug=True))


def test_loader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        load_state_dict_file(tmp_path / "missing.pth")
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="corrupt.pth"):
        load_state_dict_file(corrupt)
    text = tmp_path / "notes.pth"
    text.write_text("hello world\nthis is text\n")  # torch.load raises KeyError for this one
    with pytest.raises(ValueError, match="notes.pth"):
        load_state_dict_file(text)
    listed = tmp_path / "list.pth"
    torch.save([1, 2], listed)
    with pytest.raises(ValueError, match="state dict"):
        load_state_dict_file(listed)
    wrong = tmp_path / "wrong.pth"
    torch.save(build("cfg_1").state_dict(), wrong)
    with pytest.raises(ValueError, match="wrong.pth"):
        load_weights(build("cfg_2"), wrong)


# --------------------------------------------------------------------------- padding semantics

def test_masked_batch_norm_equals_bn_on_valid_rows_and_ignores_padding():
    torch.manual_seed(0)
    x = torch.randn(3, 10, 6) * 3 + 1
    valid = torch.arange(10)[None] < torch.tensor([10, 4, 1])[:, None]
    ours, ref = MaskedBatchNorm1d(6, momentum=0.95), torch.nn.BatchNorm1d(6, momentum=0.95)
    y = ours(x, valid)
    y_ref = ref(x[valid])  # the original: pack the valid rows, BatchNorm1d, scatter back
    torch.testing.assert_close(y[valid], y_ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours.running_mean, ref.running_mean)
    torch.testing.assert_close(ours.running_var, ref.running_var)
    assert int(ours.num_batches_tracked) == 1
    # more padding with garbage content changes nothing on valid rows
    more = torch.cat([x, torch.randn(3, 5, 6) * 100], dim=1)
    fresh = MaskedBatchNorm1d(6, momentum=0.95)
    torch.testing.assert_close(fresh(more, F.pad(valid, (0, 5)))[:, :10][valid], y[valid])
    ours.eval(), ref.eval()
    torch.testing.assert_close(ours(x, valid)[valid], ref(x[valid]))


def test_feature_extractor_zeroes_pads_and_is_padding_invariant_in_eval():
    torch.manual_seed(0)
    fe = FeatureExtractor(N_LANDMARKS, 16)
    x = torch.randn(2, 30, N_LANDMARKS, 3)
    valid = torch.arange(30)[None] < torch.tensor([30, 12])[:, None]
    x = x * valid[..., None, None]
    out = fe(x, valid)
    assert out.shape == (2, 30, 16) and (out[~valid] == 0).all()
    fe.eval()
    short = fe(x[1:, :12], valid[1:, :12])
    # the 3x3 stem sees the zero frame after the last valid one in both cases, so the outputs agree
    torch.testing.assert_close(fe(x, valid)[1, :12], short[0], rtol=1e-5, atol=1e-5)


def reference_attention(q, k, v, valid, scale):
    """The original's masking: score (i, j) masked with finfo.min unless frames i and j are both valid."""
    scores = q @ k.transpose(-1, -2) * scale
    both = valid[:, None, :, None] & valid[:, None, None, :]
    return torch.softmax(scores.masked_fill(~both, torch.finfo(scores.dtype).min), -1) @ v


@pytest.mark.parametrize("name", CONFIGS)
def test_attention_ignores_padded_keys(name):
    net = build(name)
    net.eval()
    block = net.encoder.blocks[0]
    attention = block._modules[block.attention_name]
    x = torch.randn(2, 12, 32)
    valid = torch.arange(12)[None] < torch.tensor([12, 7])[:, None]
    rope = net.rope(12) if name == "cfg_2" else None
    out = attention(x, valid, rope)
    x2 = x.clone()
    x2[1, 7:] = torch.randn(5, 32) * 50
    torch.testing.assert_close(attention(x2, valid, rope)[valid], out[valid])
    if name == "cfg_2":  # valid rows equal the original's full (query and key) masking
        from models.attention import split_heads
        from models.rope import apply_rotary
        q = apply_rotary(split_heads(attention.q_proj(x), 4), *rope)
        k = apply_rotary(split_heads(attention.k_proj(x), 4), *rope)
        v = split_heads(attention.v_proj(x), 4)
        ref = attention.o_proj(reference_attention(q, k, v, valid, 8 ** -0.5).transpose(1, 2).reshape(2, 12, 32))
        torch.testing.assert_close(out[valid], ref[valid], rtol=1e-5, atol=1e-5)


def test_relative_shift_picks_relative_position_i_minus_j():
    from models.rel_attention import relative_shift
    length = 5
    # scores[i, k] = 100 * i + (relative position of column k) = 100 * i + (L - 1 - k); column 2L-1 unused
    rel = torch.arange(length - 1, -length, -1)
    scores = torch.cat([100 * torch.arange(length)[:, None] + rel[None], torch.full((length, 1), -999)], 1)
    out = relative_shift(scores.float()[None, None])[0, 0]
    i, j = torch.meshgrid(torch.arange(length), torch.arange(length), indexing="ij")
    assert torch.equal(out, (100 * i + (i - j)).float())


@pytest.mark.parametrize("name", CONFIGS)
def test_encoder_valid_rows_independent_of_pad_content(name):
    net = build(name)
    net.train()  # batch statistics of the conv module's BN are masked too
    valid = torch.arange(20)[None] < torch.tensor([20, 9])[:, None]
    h = torch.randn(2, 20, 32)
    noisy = h + torch.randn_like(h) * 50 * (~valid)[..., None]
    rope = net.rope(20) if name == "cfg_2" else None
    torch.manual_seed(1)
    a = net.encoder(h, valid, rope)
    torch.manual_seed(1)  # same dropout masks
    b = net.encoder(noisy, valid, rope)
    torch.testing.assert_close(a[valid], b[valid], rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- training behaviour

@pytest.mark.parametrize("name", CONFIGS)
def test_every_trainable_parameter_gets_a_gradient(name):
    net = build(name)
    net.train()
    out = net(make_batch())
    out["loss"].backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def edge_batch() -> dict[str, torch.Tensor]:
    """1-frame, full-length (384) and hands-missing samples; a missing part is all zeros after preprocessing."""
    batch = make_batch(lengths=(1, 384, 50), max_len=384)
    parts = part_indices()
    batch["input"][2, :, parts["lhand"] + parts["rhand"]] = 0.0
    batch["input"][1, :, parts["pose"]] = 0.0
    return batch


@pytest.mark.parametrize("name", CONFIGS)
def test_no_nan_on_edge_inputs(name):
    net = build(name)
    batch = edge_batch()
    net.train()
    out = net(batch)
    out["loss"].backward()
    assert all(torch.isfinite(v).all() for v in out.values())
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)
    net.eval()
    with torch.no_grad():
        out = net(batch)
    assert torch.isfinite(out["loss"]) and out["generated_ids"].shape == (3, MAX_PHRASE_LEN)


def test_part_normalisation_of_empty_parts_is_zero():
    from models.feature_extractor import normalize_parts
    x = torch.randn(2, 4, N_LANDMARKS, 3)
    lhand = part_indices()["lhand"]
    x[0, :, lhand] = 0.0  # missing hand: std 0 -> NaN -> 0
    x[1, 2:] = 0.0  # padded frames
    parts = normalize_parts(x, {n: torch.tensor(i) for n, i in part_indices().items()})
    assert set(parts) == set(PART_NAMES)
    assert (parts["lhand"][0] == 0).all() and (parts["face"][1, 2:] == 0).all()
    face = x[:, :2, part_indices()["face"]]
    expected = (face - face.mean(2, keepdim=True)) / face.std(2, unbiased=False, keepdim=True)
    torch.testing.assert_close(parts["face"][:, :2], expected)


def capture_decoder_inputs(decoder) -> list[torch.Tensor]:
    seen: list[torch.Tensor] = []
    decoder.decoder.register_forward_pre_hook(lambda module, args: seen.append(args[0].clone()))
    return seen


def test_decoder_input_masking_only_in_training():
    net = build("cfg_2", decoder_mask_aug=1.0)
    batch = make_batch()
    fwd, bwd = capture_decoder_inputs(net.decoder), capture_decoder_inputs(net.decoder2)
    net.train()
    net(batch)
    for inputs in (fwd[-1], bwd[-1]):
        assert (inputs[:, 0] == SOS_ID).all() and (inputs[:, 1:] == MASK_ID).all()
    net.eval()
    with torch.no_grad():
        net(batch)
    assert torch.equal(fwd[1], shift_right(batch["token_ids"]))  # fwd[2:] are the greedy steps
    assert torch.equal(bwd[-1], shift_right(reversed_labels(batch["token_ids"], batch["attention_mask"])))


@pytest.mark.parametrize("score_float32", [False, True])
def test_cfg_2_loss_weights_and_score_dtype(score_float32):
    net = build("cfg_2", decoder_mask_aug=0.0, score_float32=score_float32)
    net.eval()
    with torch.no_grad():
        out = net(make_batch())
    ce = 0.6 * out["loss_ce"] + 0.4 * out["loss_ce_bwd"]
    torch.testing.assert_close(out["loss"], (0.98 * ce + 0.02 * out["loss_aux"]).to(out["loss"].dtype))
    assert out["loss"].dtype == (torch.float32 if score_float32 else torch.float64)  # Q19
    assert out["aux_logits"].shape == (3, 1) and out["seq_len"].tolist() == [40, 23, 1]
    ids = out["generated_ids"]
    assert ids.shape == (3, MAX_PHRASE_LEN) and ((ids[:, 0] == SOS_ID) | (ids[:, 0] == PAD_ID)).all()


def test_mdl_1_outputs():
    net = build("cfg_1")
    net.train()
    out = net(make_batch())
    assert set(out) == {"loss", "loss_ce"}
    net.eval()
    with torch.no_grad():
        out = net(make_batch())
    assert set(out) == {"loss", "loss_ce", "generated_ids", "seq_len"}
    batch = make_batch()
    with torch.no_grad():
        logits = net.decoder(net(batch, debug=True), batch["token_ids"], batch["input_mask"].bool())
    # NOTE(original): plain mean over all 33 positions, padding targets included (Q8)
    torch.testing.assert_close(out["loss"], F.cross_entropy(logits.flatten(0, 1), batch["token_ids"].flatten()))


@pytest.mark.parametrize("name", CONFIGS)
def test_cpu_bf16_autocast_smoke(name):
    net = build(name)
    batch = make_batch()
    net.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(batch)
    out["loss"].backward()
    assert torch.isfinite(out["loss"])
    net.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(batch)
    assert out["generated_ids"].shape == (3, MAX_PHRASE_LEN)


@pytest.mark.slow
def test_benchmark_script_runs_and_baseline_is_the_same_maths(tmp_path):
    from scripts import benchmark_models
    output = tmp_path / "models.json"
    report = benchmark_models.main(["--configs", "cfg_1", "cfg_2", "--batch-size", "1", "--frames", "16",
                                    "--threads", "1", "--repeats", "1", "--rounds", "2", "--baseline", "--profile",
                                    "--output", str(output)])
    assert output.is_file() and len(report["results"]) == 2 * 4
    assert max(report["baseline_max_abs_diff"].values()) < 1e-4
    for ratio in report["ratios"]:  # one per config: both variants timed in each of the 2 alternating rounds
        assert len(ratio["rounds"]) == 2 and ratio["median_ratio"] > 0
        assert ratio["ratios"] == [r["original_style"]["cpu_median_s"] / r["ours"]["cpu_median_s"]
                                   for r in ratio["rounds"]]
    assert {(p["config"], p["variant"]) for p in report["profiles"]} == {
        (c, v) for c in ("cfg_1", "cfg_2") for v in ("ours", "original_style")}
    assert all(0 < p["kernel_s"] < p["total_s"] for p in report["profiles"])
    memory = benchmark_models.peak_memory("cfg_2", "original_style", 2, 16, torch.device("cpu"))  # fresh process
    assert memory["peak_mb"] > memory["step_mb"] > 0
