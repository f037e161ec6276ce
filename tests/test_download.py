"""scripts/download_data.py: clean failures without kaggle/credentials/network, no partial files ever."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from data.team import TEAM_COMMIT, TEAM_CSVS, git_blob_sha1, is_team_csv
from scripts import download_data

ROOT = Path(__file__).resolve().parents[1]
FAKE_KAGGLE = textwrap.dedent(f"""\
    #!{sys.executable}
    # Stand-in for the kaggle CLI: `-p DIR` receives a partial file, then a zip (ok) or an error (fail).
    import os, sys, zipfile
    out = sys.argv[sys.argv.index("-p") + 1]
    os.makedirs(out, exist_ok=True)
    open(os.path.join(out, "partial.zip.part"), "w").write("half")
    if "FAKE_KAGGLE_LOG" in os.environ:
        open(os.environ["FAKE_KAGGLE_LOG"], "a").write(" ".join(sys.argv[1:sys.argv.index("-p")]) + "\\n")
    if os.environ["FAKE_KAGGLE_MODE"] == "fail":
        sys.exit("ConnectionError: network unreachable")
    with zipfile.ZipFile(os.path.join(out, "data.zip"), "w") as z:
        if os.environ["FAKE_KAGGLE_MODE"] == "team" and sys.argv[-3].endswith("supp-dataset"):
            z.writestr("supplemental_landmarks/55/1.npy", "s")
        elif os.environ["FAKE_KAGGLE_MODE"] == "team":
            z.writestr("train_landmarks_npy/11/1.npy", "t")
            z.writestr("train_landmarks_npy/inference_args.json", "{{}}")
        else:
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
    assert download_data.main(["--dest", str(dest)], env=env) == download_data.EXIT_FAILED == 10
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


def test_team_datasets_default_to_the_originals_and_merge_as_its_readme(tmp_path, fake_kaggle):
    log = tmp_path / "kaggle.log"
    env = clean_env(tmp_path / "home", str(fake_kaggle)) | {"KAGGLE_API_TOKEN": "t", "FAKE_KAGGLE_MODE": "team",
                                                           "FAKE_KAGGLE_LOG": str(log)}
    mount = tmp_path / "dm"
    (mount / "train_landmarks_npy" / "11").mkdir(parents=True)
    (mount / "train_landmarks_npy" / "11" / "1.npy").write_text("mine")  # already there: kept
    args = ["--no-competition", "--datamount", str(mount), "--team-datasets"]
    assert download_data.main(args, env=env) == 0
    assert log.read_text().splitlines() == [
        "datasets download -d darraghdog/asl-fingerspelling-preprocessing-train-dataset",
        "datasets download -d darraghdog/asl-fingerspelling-preprocessed-supp-dataset"]
    npy = mount / "train_landmarks_npy"
    assert (npy / "55" / "1.npy").read_text() == "s"  # supplemental_landmarks/* moved into train_landmarks_npy/
    assert (npy / "11" / "1.npy").read_text() == "mine" and (npy / "inference_args.json").is_file()
    assert not (mount / "supplemental_landmarks").exists()
    assert not [p for p in mount.iterdir() if p.name.startswith(".") and p.name != ".team_datasets"]  # no temp
    assert download_data.main(args, env=env) == 0  # idempotent: both skipped by their markers
    assert len(log.read_text().splitlines()) == 2
    assert download_data.main(["--no-competition", "--team-datasets", "not-a-slug"], env=env) == 2


def test_git_blob_sha1_is_gits():
    assert git_blob_sha1(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"  # `git hash-object`
    assert git_blob_sha1(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def fabricated(names=("train_folded.csv", "supplemental_metadata_folded.csv", "train_folded_oof_supp.csv")):
    content = {name: f"file_id,sequence_id,fold\n1,{i},0\n".encode() for i, name in enumerate(names)}
    return content, {name: git_blob_sha1(data) for name, data in content.items()}


def test_team_csvs_verified_then_written(tmp_path):
    content, expected = fabricated()
    urls = []

    def read(url):
        urls.append(url)
        return content[url.rsplit("/", 1)[1]]

    written = download_data.fetch_team_csvs(tmp_path, read=read, expected=expected)
    assert sorted(p.name for p in written) == sorted(content)
    assert all((tmp_path / name).read_bytes() == data for name, data in content.items())
    assert all(TEAM_COMMIT in url and url.endswith(tuple(content)) for url in urls)
    assert is_team_csv(tmp_path / "train_folded.csv") is False  # fabricated: not the real team's file
    assert download_data.fetch_team_csvs(tmp_path, read=read, expected=expected) == []  # already there: skipped
    assert sorted(os.listdir(tmp_path)) == sorted(content)  # no temp files


def test_team_csv_with_wrong_content_is_refused_and_nothing_is_written(tmp_path):
    content, expected = fabricated()
    content["train_folded_oof_supp.csv"] += b"tampered"
    with pytest.raises(download_data.ChecksumError, match="train_folded_oof_supp.csv.*expected"):
        download_data.fetch_team_csvs(tmp_path, read=lambda url: content[url.rsplit("/", 1)[1]], expected=expected)
    assert os.listdir(tmp_path) == []  # all or nothing


def test_team_csvs_do_not_replace_other_files_unless_asked(tmp_path):
    content, expected = fabricated()
    (tmp_path / "train_folded.csv").write_text("ours\n")
    read = lambda url: content[url.rsplit("/", 1)[1]]  # noqa: E731
    with pytest.raises(download_data.DownloadError, match="--overwrite"):
        download_data.fetch_team_csvs(tmp_path, read=read, expected=expected)
    assert (tmp_path / "train_folded.csv").read_text() == "ours\n"
    download_data.fetch_team_csvs(tmp_path, overwrite=True, read=read, expected=expected)
    assert (tmp_path / "train_folded.csv").read_bytes() == content["train_folded.csv"]


def test_team_csvs_without_network_is_one_clear_error(tmp_path):
    """No network here (or in CI): the real fetch fails with the address, exit code 10, nothing written."""
    out = subprocess.run([sys.executable, "scripts/download_data.py", "--no-competition", "--team-csvs",
                          "--datamount", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"})
    assert out.returncode == 10, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot fetch https://" in lines[0] and "train_folded.csv" in lines[0]
    assert os.listdir(tmp_path) == []


def test_prepare_data_keeps_the_team_folds(raw, tmp_path, monkeypatch, capsys):
    """After --team-csvs, scripts/prepare_data.py converts the sequences but keeps the team's fold CSVs."""
    from scripts import prepare_data

    folder, _ = raw
    mount = tmp_path / "dm"
    mount.mkdir()
    content, expected = fabricated(("train_folded.csv", "supplemental_metadata_folded.csv"))
    for name, data in content.items():
        (mount / name).write_bytes(data)
        monkeypatch.setitem(TEAM_CSVS, name, expected[name])
    args = ["--raw", str(folder), "--datamount", str(mount), "--quiet", "--workers", "1", "--n-folds", "2"]
    assert prepare_data.main(args) == 0
    assert "keeping the original team's train_folded.csv" in capsys.readouterr().out
    assert all((mount / name).read_bytes() == data for name, data in content.items())
    monkeypatch.setitem(TEAM_CSVS, "train_folded.csv", "0" * 40)  # no longer the team's: folds are made again
    monkeypatch.setitem(TEAM_CSVS, "supplemental_metadata_folded.csv", "0" * 40)
    assert prepare_data.main(args) == 0
    assert (mount / "train_folded.csv").read_bytes() != content["train_folded.csv"]
