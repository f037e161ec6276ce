"""The dummy-phrase thresholds of an export come from the config its checkpoints were trained with, and change the
fallback identically in the PyTorch pipeline, the Keras graph and the TFLite model (export/thresholds.py)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from common.errors import ConflictError, ExitCode
from common.run_layout import checkpoint_name, config_name
from configs import load_config
from data.tokenizer import DUMMY_PHRASE, decode
from export.thresholds import Thresholds, trained_thresholds
from postprocess.confidence_fallback import MIN_CONFIDENCE, MIN_FRAMES
from tests.export_helpers import EXPORT_MAX_LEN, convert_argv, random_net, raw_frames, save_checkpoint
from tests.model_helpers import tiny_cfg

SHORT_FRAMES = 18  # between the default MIN_FRAMES (15) and the raised threshold below
RAISED_MIN_FRAMES = 20


def run_folder(tmp_path: Path, saved: dict[int, dict | None]) -> list[Path]:
    """Empty checkpoint_last_seed{s}.pth files, each with its config_seed{s}.json when `saved[s]` is a dict."""
    paths = []
    for seed, config in saved.items():
        path = tmp_path / checkpoint_name(seed)
        path.touch()
        if config is not None:
            (tmp_path / config_name(seed)).write_text(json.dumps(config))
        paths.append(path)
    return paths


def test_saved_configs_win_over_the_command_line_config(tmp_path):
    saved = {"max_len_for_dummy": RAISED_MIN_FRAMES, "pp_min_conf": 0.2}
    found = trained_thresholds(load_config("demo_2"), run_folder(tmp_path, {1: saved, 2: saved}))
    assert (found.min_frames, found.min_conf) == (RAISED_MIN_FRAMES, 0.2)
    assert found.source.endswith(config_name(1))


def test_without_saved_configs_the_command_line_config_is_used(tmp_path):
    cfg = load_config("demo_2")
    checkpoints = run_folder(tmp_path, {1: None}) + [tmp_path / "team_weights.pth"]
    found = trained_thresholds(cfg, checkpoints)
    assert (found.min_frames, found.min_conf) == (MIN_FRAMES, MIN_CONFIDENCE)
    cfg.pp_min_conf = 0.3
    assert trained_thresholds(cfg, checkpoints).min_conf == 0.3


def test_checkpoints_that_disagree_are_refused_naming_both_sources(tmp_path):
    checkpoints = run_folder(tmp_path, {1: {"pp_min_conf": 0.2}, 2: {"pp_min_conf": 0.15}})
    with pytest.raises(ConflictError, match=r"config_seed1\.json.*pp_min_conf=0\.2.*config_seed2\.json.*0\.15"):
        trained_thresholds(load_config("demo_2"), checkpoints)
    (tmp_path / "other").mkdir()  # one saved config, one checkpoint without: the -C config counts for it
    checkpoints = run_folder(tmp_path / "other", {1: {"max_len_for_dummy": RAISED_MIN_FRAMES}, 2: None})
    with pytest.raises(ConflictError, match=r"max_len_for_dummy=20.*config demo_2.*max_len_for_dummy=15"):
        trained_thresholds(load_config("demo_2"), checkpoints)


def test_the_converter_refuses_disagreeing_checkpoints_before_converting(tmp_path, capsys):
    from scripts import convert_cfg_2_to_tf_lite

    cfg = load_config("demo_2")
    checkpoints = [save_checkpoint(random_net(cfg, seed), tmp_path / checkpoint_name(seed)) for seed in (1, 2)]
    for seed, conf in ((1, 0.2), (2, 0.3)):
        (tmp_path / config_name(seed)).write_text(json.dumps({"pp_min_conf": conf}))
    code = convert_cfg_2_to_tf_lite.main(convert_argv(checkpoints, tmp_path / "out", tmp_path / "none"))
    assert code == ExitCode.CONFLICT
    assert "different post-processing thresholds" in capsys.readouterr().err
    assert not (tmp_path / "out" / "model.tflite").exists()


def fallback_cases(net) -> list[tuple[np.ndarray, Thresholds, bool]]:
    """(frames, thresholds, dummy expected): a raised min_frames or min_conf turns a decoded sequence into the
    dummy phrase; the defaults do not."""
    from inference.torch_graph import predict_sequence

    cfg = tiny_cfg("cfg_2", max_len=EXPORT_MAX_LEN)
    long, short = raw_frames(40, seed=1), raw_frames(SHORT_FRAMES, seed=2)
    confidence = predict_sequence([net], long, cfg.max_len).confidence
    assert 0.5 < confidence < 0.99  # random_net's confident aux head, far from both thresholds used below
    above = (confidence + 1) / 2
    return [(long, Thresholds(), False), (short, Thresholds(), False),
            (long, Thresholds(min_conf=above), True), (short, Thresholds(min_frames=RAISED_MIN_FRAMES), True),
            (long, Thresholds(min_frames=RAISED_MIN_FRAMES), False)]


@pytest.mark.tf
def test_non_default_thresholds_change_the_pytorch_pipeline_and_the_graph_alike():
    pytest.importorskip("tensorflow")
    from export.convert import keras_twin
    from export.parity import graph_outputs
    from inference.torch_graph import predict_sequence
    from inference.tflite_graph import build_inference_module

    cfg = tiny_cfg("cfg_2", max_len=EXPORT_MAX_LEN)
    net = random_net(cfg, 1)
    twin = keras_twin(net, cfg)
    for frames, thresholds, dummy in fallback_cases(net):
        module = build_inference_module([twin], cfg.max_len, min_frames=thresholds.min_frames,
                                        min_conf=thresholds.min_conf)
        graph = graph_outputs(module, frames)
        reference = predict_sequence([net], frames, cfg.max_len, thresholds.min_frames, thresholds.min_conf)
        assert (decode(graph.argmax(1)) == DUMMY_PHRASE) == dummy == (reference.phrase == DUMMY_PHRASE)
        assert graph.shape == reference.rows.shape
        np.testing.assert_allclose(graph, reference.rows, atol=1e-4, rtol=0)


@pytest.mark.tf
@pytest.mark.slow
def test_the_tflite_model_uses_the_thresholds_the_checkpoints_were_trained_with(tmp_path):
    """The converter on a run folder whose config_seed*.json raise both thresholds: the TFLite model, the PyTorch
    pipeline with the same thresholds and the parity report agree; the default export (same weights) decodes."""
    pytest.importorskip("tensorflow")
    from export.litert import TFLiteRunner
    from inference.torch_graph import predict_sequence
    from scripts import convert_cfg_2_to_tf_lite
    from tests.export_helpers import demo_export

    default = demo_export()
    assert default.returncode == ExitCode.OK
    run = tmp_path / "fold-1"
    checkpoints = [save_checkpoint(net, run / checkpoint_name(seed))
                   for seed, net in zip((1, 2), default.torch_nets)]
    frames = raw_frames(40, seed=1)
    confidence = predict_sequence(default.torch_nets, frames, default.cfg.max_len).confidence
    raised = Thresholds(RAISED_MIN_FRAMES, (confidence + 1) / 2)
    for seed in (1, 2):
        (run / config_name(seed)).write_text(json.dumps({"max_len_for_dummy": raised.min_frames,
                                                         "pp_min_conf": raised.min_conf}))
    code = convert_cfg_2_to_tf_lite.main(convert_argv(checkpoints, run, tmp_path / "no_datamount"))
    assert code == ExitCode.OK
    raised_tflite = TFLiteRunner(run / "model.tflite", num_threads=1)
    default_tflite = TFLiteRunner(default.tflite, num_threads=1)
    for frames in (frames, raw_frames(SHORT_FRAMES, seed=2)):  # low confidence, then too short
        reference = predict_sequence(default.torch_nets, frames, default.cfg.max_len, raised.min_frames,
                                     raised.min_conf)
        assert reference.phrase == DUMMY_PHRASE == decode(raised_tflite(frames).argmax(1))
        assert decode(default_tflite(frames).argmax(1)) != DUMMY_PHRASE
        assert predict_sequence(default.torch_nets, frames, default.cfg.max_len).phrase != DUMMY_PHRASE
    report = json.loads((run / "parity_report.json").read_text())  # the PyTorch reference used them too
    assert report["graph_vs_torch"] and all(a == b for a, b in (row["strings"] for row in report["graph_vs_torch"]))
