"""Download the competition data, the original team's pre-processed npy data sets, and their fold/OOF CSVs.

    python scripts/download_data.py                          # competition data -> datamount/asl-fingerspelling/
    python scripts/download_data.py --no-competition --team-datasets --team-csvs   # the original's shortcut

`--team-datasets` (no names: the team's two data sets, data.team.TEAM_DATASETS) runs, as the original README,
`kaggle datasets download -d darraghdog/asl-fingerspelling-preprocessing-train-dataset` and
`-d darraghdog/asl-fingerspelling-preprocessed-supp-dataset`, unzips both into datamount/ and moves
`supplemental_landmarks/*` into `train_landmarks_npy/`. Files already there are kept; a finished data set leaves a
marker (datamount/.team_datasets/<owner>__<name>.done) so a second run skips it.

`--team-csvs` fetches datamount/train_folded.csv, supplemental_metadata_folded.csv and train_folded_oof_supp.csv from
the team's repository at the commit in data/team.py, checks each against its git blob SHA-1 and writes them
atomically only when all three match (nothing is written otherwise). With them, round 1 can be skipped: only
round 2 and the export need to run. scripts/prepare_data.py keeps these files when it finds them.

The Kaggle downloads need what requirements.txt deliberately leaves out:
* the kaggle CLI: `pip install kaggle`;
* an API token: kaggle.com -> Settings -> API -> "Create New Token", saved as ~/.kaggle/kaggle.json
  (chmod 600), or the environment variables KAGGLE_USERNAME and KAGGLE_KEY (or KAGGLE_API_TOKEN);
* for the competition data, its rules accepted once in a browser
  (https://www.kaggle.com/competitions/asl-fingerspelling/rules), otherwise Kaggle answers 403;
* network access and disk space for the archive plus the extracted files (the archive is deleted
  after extraction).

Everything is downloaded and extracted into a hidden temp folder next to the destination and moved
into place only when complete: a failed or interrupted run leaves no partial files. Exit codes: 0 done,
2 not ready (kaggle CLI or token missing, nothing to do, a destination in the way), 8 a CSV failed its
checksum, 10 the download failed (network, Kaggle).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

from common.atomic import write_bytes_atomic
from common.errors import ExitCode
from data.datamount import NPY_DIR
from data.team import SUPPLEMENTAL_FOLDER, TEAM_CSVS, TEAM_DATASETS, git_blob_sha1, team_csv_url

COMPETITION = "asl-fingerspelling"
DEFAULT_DATAMOUNT = Path("datamount")
DEFAULT_DEST = DEFAULT_DATAMOUNT / COMPETITION
MARKER_FOLDER = ".team_datasets"
EXIT_FAILED = int(ExitCode.DOWNLOAD_FAILED)
EXIT_NOT_READY = int(ExitCode.USAGE)
EXIT_CHECKSUM = int(ExitCode.CHECK_FAILED)
URL_TIMEOUT_S = 60
TOKEN_FILES = ("kaggle.json", "access_token")
TOKEN_ENV = (("KAGGLE_USERNAME", "KAGGLE_KEY"), ("KAGGLE_API_TOKEN",))


class DownloadError(RuntimeError):
    """The download could not be done; the message says what to do."""


class ChecksumError(DownloadError):
    """A downloaded file is not the expected one."""


def credentials_found(env: Mapping[str, str]) -> bool:
    """True if the kaggle CLI will find an API token (environment or ~/.kaggle / $KAGGLE_CONFIG_DIR)."""
    if any(all(env.get(name) for name in names) for names in TOKEN_ENV):
        return True
    config_dir = Path(env.get("KAGGLE_CONFIG_DIR") or Path(env.get("HOME", Path.home())) / ".kaggle")
    return any((config_dir / name).is_file() for name in TOKEN_FILES)


def missing_prerequisites(env: Mapping[str, str]) -> list[str]:
    """What is missing before a download can start, each with the fix."""
    missing = []
    if shutil.which("kaggle", path=env.get("PATH")) is None:
        missing.append("the kaggle CLI is not on PATH: run `pip install kaggle` "
                       "(it is not in requirements.txt, only this script needs it)")
    if not credentials_found(env):
        missing.append("no Kaggle API token: create one at https://www.kaggle.com/settings (API -> Create New Token) "
                       "and save it as ~/.kaggle/kaggle.json with `chmod 600`, or set KAGGLE_USERNAME and KAGGLE_KEY")
    return missing


def extract_archives(folder: Path, into: Path) -> None:
    """Unzip every .zip in `folder` into `into` (deleting each archive after it is extracted)."""
    archives = sorted(folder.glob("*.zip"))
    if not archives:
        raise DownloadError(f"kaggle reported success but wrote no .zip archive into {folder}")
    for archive in archives:
        try:
            with zipfile.ZipFile(archive) as z:
                z.extractall(into)
        except zipfile.BadZipFile as e:
            raise DownloadError(f"{archive.name} is not a valid zip archive ({e}); run the download again") from e
        archive.unlink()


def kaggle_into(kaggle_args: list[str], dest: Path, env: Mapping[str, str],
                place: Callable[[Path, Path], None]) -> None:
    """Run `kaggle <args> -p <temp>` in a hidden temp folder beside `dest`, extract, then `place(extracted, dest)`.

    The temp folder is always removed, and so are the folders this call created if the download failed.
    """
    created = [p for p in [dest.parent, *dest.parent.parents] if not p.exists()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    complete = False
    try:
        cmd = [shutil.which("kaggle", path=env.get("PATH")) or "kaggle", *kaggle_args, "-p", str(tmp / "archive")]
        print("running:", " ".join(cmd), flush=True)
        done = subprocess.run(cmd, env=dict(env))
        if done.returncode != 0:
            raise DownloadError(f"`kaggle {' '.join(kaggle_args)}` failed with exit status {done.returncode}: check "
                                f"the network, the API token, and that you accepted the rules of the competition "
                                f"(https://www.kaggle.com/competitions/{COMPETITION}/rules)")
        extract_archives(tmp / "archive", tmp / "data")
        place(tmp / "data", dest)
        complete = True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in [] if complete else created:  # folders this call made, deepest first, if still empty
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


def fetch(kaggle_args: list[str], dest: Path, env: Mapping[str, str]) -> None:
    """Download and extract into the new folder `dest` (moved into place whole)."""
    kaggle_into(kaggle_args, dest, env, lambda data, dest: os.replace(data, dest))


def merge_into(src: Path, dst: Path) -> int:
    """Move every file of `src` that `dst` lacks into `dst` (whole folders when absent); returns files kept back."""
    dst.mkdir(parents=True, exist_ok=True)
    kept = 0
    for entry in sorted(src.iterdir()):
        target = dst / entry.name
        if not target.exists():
            os.replace(entry, target)
        elif entry.is_dir() and target.is_dir():
            kept += merge_into(entry, target)
        else:
            kept += 1  # already there: the file in the datamount wins (idempotent re-runs)
    return kept


def place_team_dataset(data: Path, datamount: Path) -> None:
    """The original README's layout: everything into datamount/, supplemental_landmarks/* into train_landmarks_npy/."""
    kept = 0
    supplemental = data / SUPPLEMENTAL_FOLDER
    if supplemental.is_dir():
        kept += merge_into(supplemental, datamount / NPY_DIR)
        shutil.rmtree(supplemental)  # what is left are files the datamount already had
    kept += merge_into(data, datamount)
    if kept:
        print(f"download_data: kept {kept} files already in {datamount}")


def team_marker(slug: str, datamount: Path) -> Path:
    return datamount / MARKER_FOLDER / (dataset_folder_name(slug) + ".done")


def fetch_team_dataset(slug: str, datamount: Path, env: Mapping[str, str]) -> None:
    """Download one team data set into the datamount, once (a marker records that it is complete)."""
    marker = team_marker(slug, datamount)
    if marker.exists():
        print(f"download_data: {slug} is already in {datamount} ({marker}); skipped")
        return
    kaggle_into(["datasets", "download", "-d", slug], datamount / NPY_DIR, env,
                lambda data, _: place_team_dataset(data, datamount))
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(slug + "\n")


def read_url(url: str) -> bytes:
    """The bytes at `url` (DownloadError without network)."""
    try:
        with urllib.request.urlopen(url, timeout=URL_TIMEOUT_S) as response:
            return response.read()
    except (urllib.error.URLError, OSError) as e:
        raise DownloadError(f"cannot fetch {url} ({getattr(e, 'reason', e)}): check the network") from e


def fetch_team_csvs(datamount: Path, overwrite: bool = False, read: Callable[[str], bytes] = read_url,
                    expected: Mapping[str, str] = TEAM_CSVS) -> list[Path]:
    """Fetch the team's CSVs, verify every one against its git blob SHA-1, then write them (all or none).

    Files already identical to the team's are skipped; a different file in the way is an error unless `overwrite`.
    """
    pending = {}
    for name, sha in expected.items():
        dest = datamount / name
        if dest.is_file() and git_blob_sha1(dest.read_bytes()) == sha:
            print(f"download_data: {dest} is already the team's file; skipped")
            continue
        if dest.exists() and not overwrite:
            raise DownloadError(f"{dest} exists and is not the team's file; move it away or pass --overwrite")
        data = read(team_csv_url(name))
        got = git_blob_sha1(data)
        if got != sha:
            raise ChecksumError(f"{team_csv_url(name)}: git blob SHA-1 {got}, expected {sha}; nothing was written")
        pending[dest] = data
    for dest, data in pending.items():
        write_bytes_atomic(data, dest)
        print(f"download_data: {dest} ready (blob {expected[dest.name][:12]})")
    return list(pending)


def dataset_folder_name(slug: str) -> str:
    """`owner__name` for an `owner/name` slug; raises on a malformed slug."""
    parts = slug.split("/")
    if len(parts) != 2 or not all(parts):
        raise DownloadError(f"--team-datasets expects owner/dataset slugs, got {slug!r}")
    return "__".join(parts)


def check_plan(args: argparse.Namespace) -> None:
    """Raise when there is nothing to do, a slug is malformed, or the competition folder is in the way."""
    if args.no_competition and args.team_datasets is None and not args.team_csvs:
        raise DownloadError("nothing to download: --no-competition without --team-datasets or --team-csvs")
    for slug in args.team_datasets or []:
        dataset_folder_name(slug)
    if not args.no_competition and args.dest.exists():
        raise DownloadError(f"{args.dest} already exists; remove it first to download it again")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST,
                        help=f"competition data folder (default {DEFAULT_DEST})")
    parser.add_argument("--datamount", type=Path, default=DEFAULT_DATAMOUNT,
                        help=f"where the team's data sets and CSVs go (default {DEFAULT_DATAMOUNT})")
    parser.add_argument("--team-datasets", nargs="*", default=None, metavar="OWNER/NAME",
                        help="Kaggle data sets unpacked into the datamount; without names the original team's two: "
                             + ", ".join(TEAM_DATASETS))
    parser.add_argument("--team-csvs", action="store_true",
                        help="the team's train_folded.csv, supplemental_metadata_folded.csv, train_folded_oof_supp.csv")
    parser.add_argument("--overwrite", action="store_true", help="--team-csvs may replace other files of those names")
    parser.add_argument("--no-competition", action="store_true", help="skip the competition data")
    args = parser.parse_args(argv)
    if args.team_datasets == []:
        args.team_datasets = list(TEAM_DATASETS)
    return args


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args, env = parse_args(argv), dict(os.environ if env is None else env)
    uses_kaggle = not args.no_competition or bool(args.team_datasets)
    missing = missing_prerequisites(env) if uses_kaggle else []
    try:
        check_plan(args)
    except DownloadError as e:
        missing.append(str(e))
    if missing:
        print("download_data: cannot start:\n" + "\n".join(f"  - {m}" for m in missing), file=sys.stderr)
        return EXIT_NOT_READY
    try:
        if args.team_csvs:  # first: no Kaggle needed, and it fails fast without network
            fetch_team_csvs(args.datamount, args.overwrite)
        if not args.no_competition:
            fetch(["competitions", "download", "-c", COMPETITION], args.dest, env)
            print(f"download_data: {args.dest} ready")
        for slug in args.team_datasets or []:
            fetch_team_dataset(slug, args.datamount, env)
            print(f"download_data: {slug} ready in {args.datamount}")
    except ChecksumError as e:
        print(f"download_data: error: {e}", file=sys.stderr)
        return EXIT_CHECKSUM
    except DownloadError as e:
        print(f"download_data: error: {e}; nothing partial was left behind", file=sys.stderr)
        return EXIT_FAILED
    if not args.no_competition:
        print(f"next: python scripts/prepare_data.py --raw {args.dest} --datamount {args.dest.parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
