"""The one atomic-write helper: every checkpoint, npy, CSV, JSON, config and metrics file goes through it.

`atomic_path(path)` yields a temp path with a unique name in the target's folder; when the block succeeds the temp
file is fsynced and renamed onto `path` (then the folder is fsynced), when it fails the temp file is removed and
`path` is untouched. A reader therefore sees the old complete file or the new complete file, never a partial one,
also after a kill -9 or a full disk. Temp names are `.<name>.<pid>-<random>.tmp`; `remove_stale_temps` deletes
those whose process is gone (a killed writer's leftovers).
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from common.errors import WriteError

# .<name>.<pid>-<hex>.tmp (files, atomic_entries' folder), .<name>.<pid>-<hex>.old.tmp and .<name>.tmp<pid>
# (left by earlier versions)
TEMP_NAME = re.compile(r"^\..+\.(?:(?P<pid>\d+)-[0-9a-f]+(?:\.old)?\.tmp|tmp(?P<legacy_pid>\d+))$")


def temp_path_for(path: Path) -> Path:
    """A fresh, unique temp file next to `path` (created empty, mode 0666 minus umask)."""
    while True:
        tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue


def _fsync(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Write to the yielded temp path; on success it replaces `path` atomically, on failure it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(path)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent, directory=True)
    finally:
        tmp.unlink(missing_ok=True)  # a no-op once renamed


@contextmanager
def atomic_entries(folder: str | Path, names: tuple[str, ...]) -> Iterator[Path]:
    """Build the files and folders `names` of `folder` in the yielded temp folder; when the block succeeds they
    replace `folder`'s entries of those names together (in the order of `names`), and an entry of `names` the block
    did not build is removed (an old report never stays next to a new model); when it fails `folder` is untouched.

    Everything is written and fsynced before the first rename, and the renames follow each other with nothing in
    between, so a kill -9 leaves the old group or the new one, not a mix (short of a kill within those few system
    calls); the temp folder a kill leaves behind is removed by `remove_stale_temps`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staging = temp_path_for(folder / "export")
    staging.unlink()
    staging.mkdir()
    try:
        yield staging
        for path in (staging, *staging.rglob("*")):
            _fsync(path, directory=path.is_dir())
        replaced = staging / ".replaced"  # old entries go here, then away with the temp folder
        replaced.mkdir()
        for name in names:
            new, target = staging / name, folder / name
            if os.path.lexists(target) and not (new.is_file() and target.is_file() and not target.is_symlink()):
                os.replace(target, replaced / name)  # a folder cannot be renamed onto: move the old one away
            if new.exists():
                os.replace(new, target)
        _fsync(folder, directory=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_bytes_atomic(data: bytes, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(text: str, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(obj: Any, path: str | Path) -> None:
    """Indented JSON."""
    write_text_atomic(json.dumps(obj, indent=1), path)


def torch_save_atomic(obj: Any, path: str | Path) -> None:
    """torch.save (checkpoints, val_data, resume states); a failed write (disk full) raises WriteError."""
    import torch

    with atomic_path(path) as tmp:
        try:
            torch.save(obj, tmp)
        except RuntimeError as e:  # torch reports a short write (full disk, file size limit) as a RuntimeError
            raise WriteError(f"cannot write {path} (disk full?): {e}; the previous file is unchanged") from e


def pid_alive(pid: int) -> bool:
    """True when a process with this id exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Delete the temp files in `folder` left by writers that no longer run; returns what was removed."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return removed
    for entry in entries:
        match = TEMP_NAME.match(entry.name)
        if match and not pid_alive(int(match["pid"] or match["legacy_pid"])):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                Path(entry.path).unlink(missing_ok=True)
            removed.append(Path(entry.path))
    return removed
