"""Download the competition data with the kaggle CLI (and, optionally, Kaggle datasets by name).

    python scripts/download_data.py                                  # -> datamount/asl-fingerspelling/
    python scripts/download_data.py --team-datasets OWNER/NAME ...   # also these datasets -> datamount/team_datasets/

Needs what requirements.txt deliberately leaves out:
* the kaggle CLI: `pip install kaggle`;
* an API token: kaggle.com -> Settings -> API -> "Create New Token", saved as ~/.kaggle/kaggle.json
  (chmod 600), or the environment variables KAGGLE_USERNAME and KAGGLE_KEY (or KAGGLE_API_TOKEN);
* the competition rules accepted once in a browser (https://www.kaggle.com/competitions/asl-fingerspelling/rules),
  otherwise Kaggle answers 403;
* network access and disk space for the archive plus the extracted files (the archive is deleted
  after extraction).

Everything is downloaded and extracted into a hidden temp folder next to the destination and moved
into place only when complete: a failed or interrupted run leaves no partial files.

The original team trained on their own pre-processed npy Kaggle datasets; SPEC.md does not name
them, so `--team-datasets` takes the `owner/dataset` slugs you know. Each one lands in
datamount/team_datasets/<owner>__<dataset>/; the same npy layout is produced from the competition
data by scripts/prepare_data.py.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

COMPETITION = "asl-fingerspelling"
DEFAULT_DEST = Path("datamount") / COMPETITION
DEFAULT_TEAM_DEST = Path("datamount") / "team_datasets"
EXIT_FAILED = 1
EXIT_NOT_READY = 2
TOKEN_FILES = ("kaggle.json", "access_token")
TOKEN_ENV = (("KAGGLE_USERNAME", "KAGGLE_KEY"), ("KAGGLE_API_TOKEN",))


class DownloadError(RuntimeError):
    """The download could not be done; the message says what to do."""


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


def fetch(kaggle_args: list[str], dest: Path, env: Mapping[str, str]) -> None:
    """Run `kaggle <args> -p <temp>`, extract, then move the result to `dest`; nothing is left on failure."""
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
        os.replace(tmp / "data", dest)
        complete = True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in [] if complete else created:  # folders this call made, deepest first, if still empty
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


def dataset_folder(slug: str, team_dest: Path) -> Path:
    """datamount/team_datasets/<owner>__<name> for an `owner/name` slug; raises on a malformed slug."""
    parts = slug.split("/")
    if len(parts) != 2 or not all(parts):
        raise DownloadError(f"--team-datasets expects owner/dataset slugs, got {slug!r}")
    return team_dest / "__".join(parts)


def plan(args: argparse.Namespace) -> list[tuple[list[str], Path]]:
    """(kaggle arguments, destination) of every requested download; raises if a destination exists."""
    jobs = [] if args.no_competition else [(["competitions", "download", "-c", COMPETITION], args.dest)]
    jobs += [(["datasets", "download", "-d", s], dataset_folder(s, args.team_dest)) for s in args.team_datasets]
    for _, dest in jobs:
        if dest.exists():
            raise DownloadError(f"{dest} already exists; remove it first to download it again")
    if not jobs:
        raise DownloadError("nothing to download: --no-competition without --team-datasets")
    return jobs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST,
                        help=f"competition data folder (default {DEFAULT_DEST})")
    parser.add_argument("--team-datasets", nargs="+", default=[], metavar="OWNER/NAME",
                        help="Kaggle dataset slugs to fetch too (SPEC.md does not name the team's datasets)")
    parser.add_argument("--team-dest", type=Path, default=DEFAULT_TEAM_DEST, help=f"folder for --team-datasets ({DEFAULT_TEAM_DEST})")
    parser.add_argument("--no-competition", action="store_true", help="only the --team-datasets")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args, env = parse_args(argv), dict(os.environ if env is None else env)
    missing = missing_prerequisites(env)
    try:
        jobs = plan(args)
    except DownloadError as e:
        missing.append(str(e))
    if missing:
        print("download_data: cannot start:\n" + "\n".join(f"  - {m}" for m in missing), file=sys.stderr)
        return EXIT_NOT_READY
    try:
        for kaggle_args, dest in jobs:
            fetch(kaggle_args, dest, env)
            print(f"download_data: {dest} ready")
    except DownloadError as e:
        print(f"download_data: ERROR: {e}; nothing partial was left behind", file=sys.stderr)
        return EXIT_FAILED
    if not args.no_competition:
        print(f"next: python scripts/prepare_data.py --raw {args.dest} --datamount {args.dest.parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
