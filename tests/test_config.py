"""configs.load_config / apply_overrides: strict keys, typed casting, clear messages; train.py's CLI."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from configs import apply_overrides, available_configs, config_to_dict, load_config, split_pairs


def namespace_cfg() -> SimpleNamespace:
    """A bare config namespace with one field of each kind apply_overrides handles."""
    return SimpleNamespace(name="t", fold=0, lr=1e-3, batch_size=64, resume=False, model="mdl_2_pt",
                           neptune_project=None, train_aug=len, sizes=[1, 2])


def test_every_shipped_config_loads_and_is_a_deep_copy():
    for name in ("cfg_1", "cfg_2", "demo_1", "demo_2"):
        assert name in available_configs()
        cfg = load_config(name)
        assert cfg.name == name
    a, b = load_config("cfg_2"), load_config("cfg_2")
    a.lr = -1.0
    assert b.lr != -1.0
    assert load_config("configs/cfg_1.py").name == "cfg_1"


def test_unknown_config_lists_the_available_ones():
    with pytest.raises(ValueError, match=r"unknown config 'cfg_3'.*available configs: .*cfg_1.*cfg_2.*Did you mean"):
        load_config("cfg_3")


@pytest.mark.parametrize("argv, key, expected", [
    (["--fold", "-1"], "fold", -1),
    (["--fold=3"], "fold", 3),
    (["--lr", "2"], "lr", 2.0),
    (["--lr", "1e-4"], "lr", 1e-4),
    (["--batch-size", "8"], "batch_size", 8),
    (["--model", "mdl_1_pt"], "model", "mdl_1_pt"),
    (["--resume"], "resume", True),
    (["--resume", "--fold", "2"], "resume", True),
    (["--resume", "false"], "resume", False),
    (["--resume", "1"], "resume", True),
    (["--resume", "True"], "resume", True),
    (["--neptune_project", "me/asl"], "neptune_project", "me/asl"),
    (["--neptune_project", "None"], "neptune_project", None),
])
def test_override_casting(argv, key, expected):
    cfg = apply_overrides(namespace_cfg(), argv)
    value = getattr(cfg, key)
    assert value == expected and type(value) is type(expected)


def test_negative_values_and_multiple_pairs():
    cfg = apply_overrides(namespace_cfg(), ["--fold", "-1", "--lr", "-0.5", "--batch_size", "2"])
    assert (cfg.fold, cfg.lr, cfg.batch_size) == (-1, -0.5, 2)


@pytest.mark.parametrize("argv, message", [
    (["--bach_size", "8"], r"unknown config key --bach_size for config 't'; did you mean --batch_size\?"),
    (["--nonsense", "1"], r"unknown config key --nonsense for config 't'$"),
    (["--fold", "one"], r"--fold: 'one' is not a valid int \(current value: 0\)"),
    (["--fold", "1.5"], r"--fold: '1.5' is not a valid int"),
    (["--lr", "fast"], r"--lr: 'fast' is not a valid float"),
    (["--resume", "yes"], r"--resume: 'yes' is not a boolean"),
    (["--fold"], r"--fold needs a value"),
    (["--train_aug", "x"], r"--train_aug holds a builtin_function_or_method .* cannot be set from the command line"),
    (["--sizes", "1,2"], r"--sizes holds a list .* cannot be set from the command line"),
    (["fold", "1"], r"expected a --key, got 'fold'"),
])
def test_override_errors_name_the_key(argv, message):
    with pytest.raises(ValueError, match=message):
        apply_overrides(namespace_cfg(), argv)


def test_split_pairs_keeps_order_and_equals_form():
    assert split_pairs(["--a", "1", "--b=x=y", "--c", "--d", "-2"]) == [("a", "1"), ("b", "x=y"), ("c", None),
                                                                          ("d", "-2")]


def test_config_to_dict_is_json_serialisable():
    d = config_to_dict(load_config("cfg_2"))
    json.dumps(d)
    assert d["name"] == "cfg_2" and d["fold"] == 0  # NOTE(original): cfg_2's default fold is 0 (issue 10)
    if load_config("cfg_2").train_aug is not None:
        assert isinstance(d["train_aug"], str) and "train_aug" in d["train_aug"]


def test_demo_configs_derive_from_the_recipe():
    demo_1, demo_2, cfg_1, cfg_2 = (load_config(n) for n in ("demo_1", "demo_2", "cfg_1", "cfg_2"))
    assert (demo_1.model, demo_1.dataset, demo_1.post_process) == (cfg_1.model, cfg_1.dataset, cfg_1.post_process)
    assert (demo_2.model, demo_2.dataset, demo_2.post_process) == (cfg_2.model, cfg_2.dataset, cfg_2.post_process)
    assert set(vars(cfg_1)) <= set(vars(demo_1)) and set(vars(cfg_2)) <= set(vars(demo_2))
    assert demo_2.fold == cfg_2.fold == 0 and demo_2.train_df.endswith("train_folded_oof_supp.csv")
    assert demo_1.output_dir.endswith("demo_1") and demo_2.output_dir.endswith("demo_2")
    assert demo_1.encoder_dim < cfg_1.encoder_dim and demo_2.max_len < cfg_2.max_len
    assert demo_2.encoder_dim % (4 * demo_2.num_heads) == 0  # four part extractors of D/4, heads of D/H


def test_train_cli_reports_bad_keys(capsys):
    import train

    assert train.cli(["-C", "cfg_1", "--fold", "0", "--epoch", "3"]) == 2
    assert "unknown config key --epoch for config 'cfg_1'; did you mean --epochs" in capsys.readouterr().err
    assert train.cli(["-C", "cfg_9"]) == 2
    assert "unknown config 'cfg_9'" in capsys.readouterr().err
    cfg = train.parse_args(["-C", "cfg_2", "--fold", "-1", "--seed", "7", "--device", "cpu"])
    assert (cfg.name, cfg.fold, cfg.seed, cfg.device) == ("cfg_2", -1, 7, "cpu")


def test_demo_augmentation_is_the_recipe_pipeline_applied_sometimes():
    from configs._demo import DEMO_AUG_P
    from data.landmarks import SELECTED_LANDMARKS

    for demo, recipe in (("demo_1", "cfg_1"), ("demo_2", "cfg_2")):
        ours = load_config(demo).train_aug(SELECTED_LANDMARKS)
        theirs = load_config(recipe).train_aug(SELECTED_LANDMARKS)
        assert ours.p == DEMO_AUG_P and theirs.p == 1.0
        assert repr(ours.transforms) == repr(theirs.transforms)
        assert 0 < load_config(demo).flip_aug < load_config(recipe).flip_aug
