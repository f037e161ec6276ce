"""scripts/download_data.py: clean failures without kaggle/credentials/network, no partial files ever."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scripts import download_data

ROOT = Path(__file__).resolve().parents[1]
FAKE_KAGGLE = textwrap.dedent(f"""\
    #!{sys.executable}
    # Stand-in for the kaggle CLI: `-p DIR` receives a partial file, then a zip (ok) or an error (fail).
    import os, sys, zipfile
    out = sys.argv[sys.argv.index("-p") + 1]
    os.makedirs(out, exist_ok=True)
    open(os.path.join(out, "partial.zip.part"), "w").write("half")
    if os.environ["FAKE_KAGGLE_MODE"] == "fail":
        sys.exit("ConnectionError: network unreachable")
    with zipfile.ZipFile(os.path.join(out, "data.zip"), "w") as z:
        z.writestr("train.csv", "path,file_id,sequence_id,participant_id,phrase\\n")
        z.writestr("train_landmarks/1.parquet", "x")
    os.remove(os.path.join(out, "partial.zip.part"))
    """)


def clean_env(home: Path, path: str) -> dict[str, str]:
    """An environment with no Kaggle variables, HOME=home and the given PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAGGLE_")}
    return env | {"HOME": str(home), "PATH": path}


@pytest.fixture
def fake_kaggle(tmp_path: Path) -> Path:
    """A folder holding an executable `kaggle` stand-in."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kaggle").write_text(FAKE_KAGGLE)
    (bin_dir / "kaggle").chmod(0o755)
    return bin_dir


def test_cli_without_kaggle_or_credentials_fails_cleanly(tmp_path):
    env = clean_env(tmp_path / "home", str(Path(sys.executable).parent.parent / "nonexistent"))
    dest = tmp_path / "dm" / "asl-fingerspelling"
    out = subprocess.run([sys.executable, "scripts/download_data.py", "--dest", str(dest)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "pip install kaggle" in out.stderr and "kaggle.json" in out.stderr and "KAGGLE_KEY" in out.stderr
    assert not (tmp_path / "dm").exists()


def test_credentials_sources(tmp_path):
    assert not download_data.credentials_found({"HOME": str(tmp_path)})
    assert download_data.credentials_found({"HOME": str(tmp_path), "KAGGLE_USERNAME": "u", "KAGGLE_KEY": "k"})
    assert not download_data.credentials_found({"HOME": str(tmp_path), "KAGGLE_USERNAME": "u"})
    (tmp_path / ".kaggle").mkdir()
    (tmp_path / ".kaggle" / "kaggle.json").write_text("{}")
    assert download_data.credentials_found({"HOME": str(tmp_path)})


def test_network_failure_leaves_no_partial_files(tmp_path, fake_kaggle, capsys):
    env = clean_env(tmp_path / "home", str(fake_kaggle)) | {"KAGGLE_USERNAME": "u", "KAGGLE_KEY": "k",
                                                           "FAKE_KAGGLE_MODE": "fail"}
    dest = tmp_path / "dm" / "asl-fingerspelling"
    assert download_data.main(["--dest", str(dest)], env=env) == 1
    assert "failed with exit status 1" in capsys.readouterr().err
    assert not (tmp_path / "dm").exists()


def test_successful_download_is_extracted_into_place(tmp_path, fake_kaggle):
    env = clean_env(tmp_path / "home", str(fake_kaggle)) | {"KAGGLE_USERNAME": "u", "KAGGLE_KEY": "k",
                                                           "FAKE_KAGGLE_MODE": "ok"}
    dest = tmp_path / "dm" / "asl-fingerspelling"
    assert download_data.main(["--dest", str(dest)], env=env) == 0
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == [
        "train.csv", "train_landmarks", "train_landmarks/1.parquet"]
    assert os.listdir(tmp_path / "dm") == ["asl-fingerspelling"]  # no temp folder, no archive
    assert download_data.main(["--dest", str(dest)], env=env) == 2  # refuses to overwrite


def test_team_dataset_slugs(tmp_path, fake_kaggle):
    env = clean_env(tmp_path / "home", str(fake_kaggle)) | {"KAGGLE_API_TOKEN": "t", "FAKE_KAGGLE_MODE": "ok"}
    args = ["--no-competition", "--team-dest", str(tmp_path / "team"), "--team-datasets", "someone/asl-npy"]
    assert download_data.main(args, env=env) == 0
    assert (tmp_path / "team" / "someone__asl-npy" / "train.csv").is_file()
    assert download_data.main(["--no-competition", "--team-datasets", "not-a-slug"], env=env) == 2
