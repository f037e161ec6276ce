"""The TensorFlow set-up (models/keras/tf_setup.py: oneDNN off, triton before TensorFlow) runs before every import of
TensorFlow in the repo: each module that imports tensorflow/keras imports the set-up module first."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".git", ".venv", ".venv-video", "datamount", "__pycache__"}
# a line that loads TensorFlow: `import tensorflow`, `from keras...`, `pytest.importorskip("tensorflow")`
TF_IMPORT = re.compile(r"^\s*(?:import (?:tensorflow|keras)\b|from (?:tensorflow|keras)\b[\w.]* import"
                       r"|.*importorskip\(\s*[\"'](?:tensorflow|keras)[\"'])")
SETUP_IMPORT = re.compile(r"^\s*(?:import models\.keras\.tf_setup\b|from models\.keras import tf_setup\b)")
SETUP_MODULE = ROOT / "models" / "keras" / "tf_setup.py"


def python_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if not SKIP_DIRS & set(p.relative_to(ROOT).parts))


def first_line(path: Path, pattern: re.Pattern) -> int | None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if pattern.match(line):
            return number
    return None


def covered_by_package_or_conftest(path: Path) -> bool:
    """Modules of models/keras/ get the set-up from the package __init__, tests from tests/conftest.py (both run
    before the module itself)."""
    rel = path.relative_to(ROOT).parts
    if rel[:2] == ("models", "keras"):
        return first_line(ROOT / "models" / "keras" / "__init__.py", SETUP_IMPORT) is not None
    if rel[0] == "tests":
        return first_line(ROOT / "tests" / "conftest.py", SETUP_IMPORT) is not None
    return False


def test_every_tensorflow_user_imports_the_setup_first():
    users, late = [], []
    for path in python_files():
        if path == Path(__file__).resolve():
            continue
        tf_line = first_line(path, TF_IMPORT)
        if tf_line is None:
            continue
        users.append(path)
        setup_line = first_line(path, SETUP_IMPORT)
        if (setup_line is None or setup_line > tf_line) and not covered_by_package_or_conftest(path):
            late.append(f"{path.relative_to(ROOT)}:{tf_line}")
    assert len(users) >= 8, users  # the grep found the Keras twin, the export and the tests
    assert not late, f"import models.keras.tf_setup before TensorFlow in: {late}"


def test_setup_lives_in_one_module():
    """Only the set-up module sets the oneDNN variable; the package __init__ imports it before anything else."""
    setters = [str(p.relative_to(ROOT)) for p in python_files()
               if p != Path(__file__).resolve() and "TF_ENABLE_ONEDNN_OPTS\"," in p.read_text(encoding="utf-8")]
    assert setters == ["models/keras/tf_setup.py"], setters
    assert first_line(SETUP_MODULE, TF_IMPORT) is None  # the set-up itself never loads TensorFlow
    init = (ROOT / "models" / "keras" / "__init__.py").read_text(encoding="utf-8").splitlines()
    imports = [line for line in init if re.match(r"^(?:import|from) ", line) and "__future__" not in line]
    assert imports and SETUP_IMPORT.match(imports[0]), imports


def test_parity_module_runs_with_onednn_off():
    """export/parity.py imported TensorFlow without the oneDNN setting before the set-up was centralised."""
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    code = ("import os, sys, export.parity; "
            "print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'), 'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd="/", capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["0", "True"], done.stdout
