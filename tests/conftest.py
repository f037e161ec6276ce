"""Shared pytest setup: markers, the shared fixtures folder (the project is importable: the Makefile installs it)."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FIXTURES = ROOT.parent / "shared" / "fixtures"


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


# The TensorFlow set-up (oneDNN off, triton before TensorFlow; models/keras/tf_setup.py) before any test imports
# TensorFlow, e.g. through pytest.importorskip("tensorflow").
import models.keras.tf_setup  # noqa: E402,F401
