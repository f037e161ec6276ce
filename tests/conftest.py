"""Shared pytest setup: markers and the fixtures used by several test files (the golden fixtures folder, one torch
thread, a tiny datamount, a tiny raw folder, the video environment, real recordings). The project is importable:
the Makefile installs it."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FIXTURES = ROOT.parent / "shared" / "fixtures"
REALDATA = ROOT.parent / "shared" / "realdata"


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: end-to-end tests (seconds to minutes); run in CI")
    config.addinivalue_line("markers", "tf: needs TensorFlow / LiteRT")
    config.addinivalue_line("markers", "cuda: needs a CUDA device (skipped without one; scripts/gpu_check.sh)")


@pytest.fixture
def fixtures_dir() -> Path:
    """../shared/fixtures, or skip the test when it is absent (a user's own clone)."""
    if not FIXTURES.is_dir():
        pytest.skip(f"golden fixtures folder {FIXTURES} is absent")
    return FIXTURES


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models run fastest on one torch thread (and CI machines may be shared); restored after the module.

    Not autouse: a file opts in with `pytestmark = pytest.mark.usefixtures("one_thread")`.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def mount(tmp_path_factory):
    """A tiny datamount (tests/train_helpers.make_datamount), shared by the tests of one module."""
    from tests.train_helpers import make_datamount

    return make_datamount(tmp_path_factory.mktemp("datamount"))


@pytest.fixture(scope="module")
def raw_template(tmp_path_factory) -> tuple[Path, dict]:
    """A tiny competition-format folder (tests/raw_helpers.make_raw) and {sequence_id: landmarks} as written."""
    from tests.raw_helpers import make_raw

    folder = tmp_path_factory.mktemp("raw_template")
    return folder, make_raw(folder)


@pytest.fixture
def raw(raw_template, tmp_path: Path) -> tuple[Path, dict]:
    """A fresh copy of the tiny raw folder (tests edit it)."""
    shutil.copytree(raw_template[0], tmp_path / "raw")
    return tmp_path / "raw", raw_template[1]


@pytest.fixture(scope="module")
def video_env() -> Path:
    """The video environment's python (.venv-video): skipped where it is missing, an error in CI."""
    from video.env import VIDEO_VENV

    python = VIDEO_VENV / "bin" / "python"
    if not (VIDEO_VENV / ".installed").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"the video environment {VIDEO_VENV} is missing in CI (make test creates it)")
        pytest.skip(f"the video environment {VIDEO_VENV} is not installed (make video-env)")
    return python


@pytest.fixture(scope="module")
def realdata() -> Path:
    """../shared/realdata with its videos, or skip the test."""
    if not (REALDATA / "videos").is_dir():
        pytest.skip(f"real recordings folder {REALDATA} is absent")
    return REALDATA


# The TensorFlow set-up (oneDNN off, triton before TensorFlow; models/keras/tf_setup.py) before any test imports
# TensorFlow, e.g. through pytest.importorskip("tensorflow").
import models.keras.tf_setup  # noqa: E402,F401
