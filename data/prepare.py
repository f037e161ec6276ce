"""Raw competition data -> datamount npy layout (SPEC §1.1-1.2).

    python scripts/prepare_data.py --raw datamount/asl-fingerspelling --datamount datamount --workers 8

Reads `train.csv` and (optional) `supplemental_metadata.csv` of a raw folder, converts every listed
sequence of `train_landmarks/*.parquet` / `supplemental_landmarks/*.parquet` into
`datamount/train_landmarks_npy/<file_id>/<sequence_id>.npy` (float32 (T, 390), the 130 x, then y,
then z columns of `SELECTED_COLUMNS`, NaN kept, frames in file order), and writes
`inference_args.json`, the static files and the converted metadata rows (`datamount/train.csv`,
`datamount/supplemental_metadata.csv`) that the folds step reads.

Problem policy:
* Structural problems abort before anything is written (`PrepareError`): the raw folder or its
  train.csv is missing, a CSV lacks a required column, `file_id`/`sequence_id` are not integers.
* Per-file / per-sequence problems are skipped with a report, the rest is converted: a missing or
  unreadable parquet file, a sequence listed in a CSV but absent from its parquet, a phrase that is
  empty or has a character outside the 59-character map, a (file_id, sequence_id) listed twice
  (the first listing, train before supplemental, is kept), a sequence with +-inf values (NaN is
  normal: an undetected landmark). Skipped rows are left out of the
  converted CSVs, every one of them is listed in `prepare_report.json` and in the printed summary,
  and the CLI exits with status 1 (0 with `--allow-problems`).

Idempotent: a parquet file whose sequences all have a complete npy (header and size checked) is not
read again (`overwrite=True` redoes it). Every npy is written atomically (common.atomic), so an
interrupted run never leaves a truncated file; temp files of killed workers are removed on the next
run. A worker process that dies (kill -9, the OOM killer) stops the run at once with
`WorkerDiedError`: the npy files already written are kept and a re-run converts the rest.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from common.atomic import atomic_path, remove_stale_temps, write_json_atomic
from common.errors import NPY_READ_ERRORS, BadInputError, ExitCode, UserError
from data.datamount import SUPPLEMENTAL_CSV, TRAIN_CSV, Datamount, write_csv_atomic, write_static_files
from data.landmarks import SELECTED_COLUMNS, write_inference_args
from data.preprocessing import N_COLUMNS
from data.raw_format import METADATA_COLUMNS, read_landmark_parquet
from data.tokenizer import CHAR_TO_ID

INTEGER_COLUMNS: tuple[str, ...] = ("file_id", "sequence_id")
MAX_IDS_SHOWN = 10  # sequence ids printed per problem in the summary (the report lists all)
INT64_RANGE = (-(2**63), 2**63 - 1)
NPY_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}

PROBLEM_KINDS: dict[str, str] = {
    "missing_parquet": "parquet file listed in a CSV does not exist",
    "unreadable_parquet": "parquet file is corrupt or lacks landmark columns",
    "sequence_not_in_parquet": "sequence listed in a CSV is absent from its parquet file",
    "out_of_vocabulary_phrase": "phrase is empty or has characters outside the 59-character map",
    "duplicate_sequence": "(file_id, sequence_id) listed more than once; the first listing is kept",
    "non_finite_values": "sequence holds +-inf values (NaN, an undetected landmark, is fine)",
}


class PrepareError(BadInputError):
    """A structural problem with the raw data: nothing is converted."""


class WorkerDiedError(UserError):
    """A worker process died (killed, out of memory): the npy files written so far are kept."""

    code = ExitCode.WORKER_DIED


@dataclass
class Problem:
    """One reported problem: its kind, where it was found, the sequences it concerns and why."""

    kind: str
    source: str
    sequence_ids: list[int]
    detail: str


@dataclass
class FileTask:
    """Work of one parquet file: the (file_id, sequence_id) pairs listed for it."""

    parquet: str
    keys: list[tuple[int, int]]
    npy_dir: str
    overwrite: bool


@dataclass
class FileResult:
    """Outcome of one parquet file."""

    parquet: str
    converted: list[tuple[int, int]] = field(default_factory=list)  # npy present after the run
    written: int = 0
    skipped_existing: int = 0
    frames: int = 0
    problems: list[Problem] = field(default_factory=list)


@dataclass
class PrepareReport:
    """Summary of a prepare run (written to prepare_report.json)."""

    raw_dir: str
    datamount: str
    rows_listed: dict[str, int]
    rows_converted: dict[str, int]
    files: int
    written: int
    skipped_existing: int
    frames_written: int
    seconds: float
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem_counts(self) -> dict[str, int]:
        """Number of affected sequences per problem kind (files for parquet problems count their rows)."""
        counts: dict[str, int] = {}
        for p in self.problems:
            counts[p.kind] = counts.get(p.kind, 0) + len(p.sequence_ids)
        return counts


def read_metadata(path: Path) -> pd.DataFrame:
    """Read a raw metadata CSV and check its columns and integer ids; raises PrepareError naming the file."""
    if not Path(path).is_file():
        raise PrepareError(f"{path} does not exist", ExitCode.MISSING_INPUT)
    try:
        # Phrases are read verbatim: pandas' default NA strings ('nan', 'null', 'n/a', ...) are valid phrases.
        df = pd.read_csv(path, dtype={"phrase": str}, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise PrepareError(f"{path}: cannot read metadata CSV ({e})") from e
    missing = [c for c in METADATA_COLUMNS if c not in df.columns]
    if missing:
        raise PrepareError(f"{path}: missing required column(s) {missing}; expected {METADATA_COLUMNS}")
    for col in INTEGER_COLUMNS:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = df.index[values.isna() | (values != values.round()) | ~values.between(*INT64_RANGE)]
        if len(bad):
            value = str(df[col][bad[0]])
            raise PrepareError(f"{path}: column {col!r} must hold 64-bit integers; bad value {value!r} "
                               f"in data row {bad[0] + 1} ({len(bad)} bad rows)")
        df[col] = values.astype(np.int64)
    return df


def phrase_problem(phrase: object) -> str | None:
    """Why a phrase cannot be tokenized, or None if it can."""
    if not isinstance(phrase, str) or not phrase:
        return f"empty or missing phrase {phrase!r}"
    bad = sorted({c for c in phrase if c not in CHAR_TO_ID})
    return f"{phrase!r} has characters outside the map: {bad}" if bad else None


def check_rows(df: pd.DataFrame, csv_name: str, seen: set[tuple[int, int]]) -> tuple[pd.DataFrame, list[Problem]]:
    """Drop (and report) rows with an untokenizable phrase or an already listed (file_id, sequence_id)."""
    problems, keep = [], np.ones(len(df), dtype=bool)
    for i, (fid, sid, phrase) in enumerate(zip(df["file_id"], df["sequence_id"], df["phrase"])):
        key = (int(fid), int(sid))
        why = phrase_problem(phrase)
        if why is not None:
            problems.append(Problem("out_of_vocabulary_phrase", csv_name, [key[1]], why))
            keep[i] = False
        elif key in seen:
            problems.append(Problem("duplicate_sequence", csv_name, [key[1]], f"file_id {key[0]} listed again"))
            keep[i] = False
        else:
            seen.add(key)
    return df[keep], problems


def save_npy_atomic(path: Path, array: np.ndarray) -> None:
    """np.save, atomically (never a truncated npy)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


def npy_frame_count(path: str | Path) -> int:
    """Number of frames T of a whole (T, 390) float32 npy, from its header; the file size is checked too."""
    with open(path, "rb") as f:
        try:
            version = np.lib.format.read_magic(f)
            if version not in NPY_HEADER_READERS:
                raise ValueError(f"unsupported npy format version {version}")
            shape, fortran, dtype = NPY_HEADER_READERS[version](f)
        except NPY_READ_ERRORS as e:
            raise ValueError(f"{path}: not an npy file ({e})") from e
        data_start, size = f.tell(), os.fstat(f.fileno()).st_size
    if len(shape) != 2 or shape[1] != N_COLUMNS or dtype != np.float32 or fortran:
        raise ValueError(f"{path}: expected a float32 (T, {N_COLUMNS}) array, got {dtype} {shape}")
    if size != data_start + dtype.itemsize * shape[0] * shape[1]:
        raise ValueError(f"{path}: truncated or padded: {size} bytes, its header says {shape} float32")
    return int(shape[0])


def npy_is_complete(path: Path) -> bool:
    """True when `path` is a whole float32 (T, 390) npy (header parses, file size matches)."""
    try:
        npy_frame_count(path)
    except NPY_READ_ERRORS:
        return False
    return True


def convert_file(task: FileTask) -> FileResult:
    """Convert the listed sequences of one parquet file (runs in a worker process)."""
    mount, result = Datamount(Path(task.npy_dir).parent), FileResult(task.parquet)
    for folder in {mount.npy_path(*k).parent for k in task.keys}:
        remove_stale_temps(folder)
    todo = [k for k in task.keys if task.overwrite or not npy_is_complete(mount.npy_path(*k))]
    result.skipped_existing = len(task.keys) - len(todo)
    pending = set(todo)
    result.converted = [k for k in task.keys if k not in pending]
    if not todo:
        return result
    if not Path(task.parquet).is_file():
        result.problems.append(Problem("missing_parquet", task.parquet, [k[1] for k in todo], "no such file"))
        return result
    try:
        sequences = read_landmark_parquet(task.parquet, SELECTED_COLUMNS)
    except ValueError as e:
        result.problems.append(Problem("unreadable_parquet", task.parquet, [k[1] for k in todo], str(e)))
        return result
    absent = [k[1] for k in todo if k[1] not in sequences]
    if absent:
        result.problems.append(Problem("sequence_not_in_parquet", task.parquet, absent,
                                       f"{len(absent)} of {len(todo)} listed sequences absent"))
    non_finite = {k[1]: int(np.isinf(sequences[k[1]]).sum()) for k in todo if k[1] in sequences}
    non_finite = {sid: n for sid, n in non_finite.items() if n}
    for sid, n in non_finite.items():
        result.problems.append(Problem("non_finite_values", task.parquet, [sid], f"{n} +-inf value(s)"))
    for key in (k for k in todo if k[1] in sequences and k[1] not in non_finite):
        path = mount.npy_path(*key)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_npy_atomic(path, np.ascontiguousarray(sequences[key[1]], dtype=np.float32))
        result.converted.append(key)
        result.written += 1
        result.frames += len(sequences[key[1]])
    return result


def build_tasks(frames: list[pd.DataFrame], raw_dir: Path, npy_dir: Path, overwrite: bool) -> list[FileTask]:
    """One task per parquet path (the CSV `path` column, relative to the raw folder), in first-listed order."""
    keys: dict[str, list[tuple[int, int]]] = {}
    for df in frames:
        for rel, fid, sid in zip(df["path"], df["file_id"], df["sequence_id"]):
            keys.setdefault(str(raw_dir / str(rel)), []).append((int(fid), int(sid)))
    return [FileTask(p, k, str(npy_dir), overwrite) for p, k in keys.items()]


def run_tasks(tasks: list[FileTask], workers: int, progress: bool = True,
              work=convert_file) -> Iterator[FileResult]:
    """Run `work` (convert_file) over tasks, in a spawn process pool when workers > 1, with a tqdm bar.

    A worker that dies raises WorkerDiedError at once (a multiprocessing.Pool would wait for its task forever).
    """
    bar = tqdm(total=len(tasks), unit="file", desc="prepare", disable=not progress)
    try:
        if workers <= 1 or len(tasks) <= 1:
            for r in map(work, tasks):
                bar.update()
                yield r
            return
        yield from _run_in_pool(tasks, min(workers, len(tasks)), work, bar)
    finally:
        bar.close()


def _run_in_pool(tasks: list[FileTask], workers: int, work, bar: tqdm) -> Iterator[FileResult]:
    """The pool part of run_tasks (spawn, not fork: the parent may hold pyarrow thread pools)."""
    pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"))
    pending: dict = {}
    try:
        for task in tasks:  # workers start lazily in submit(): one may die while the next is being spawned
            try:
                pending[pool.submit(work, task)] = task
            except (BrokenProcessPool, OSError):
                raise _worker_died(len(tasks), len(tasks), task) from None
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                task = pending.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    raise _worker_died(len(pending) + 1, len(tasks), task) from None
                bar.update()
                yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _worker_died(unfinished: int, total: int, task: FileTask) -> WorkerDiedError:
    return WorkerDiedError(f"a prepare worker process died (killed, or out of memory?); {unfinished} of {total} "
                           f"parquet files unfinished, e.g. {task.parquet}; the npy files written so far are kept: "
                           f"re-run to convert the rest (fewer --workers need less memory)")


def load_raw_metadata(raw_dir: Path) -> dict[str, pd.DataFrame]:
    """{csv name: frame} for train.csv (required) and supplemental_metadata.csv (if present)."""
    if not raw_dir.is_dir():
        raise PrepareError(f"raw data folder {raw_dir} does not exist (download it with scripts/download_data.py "
                           f"or build the synthetic set with scripts/make_synthetic_data.py)", ExitCode.MISSING_INPUT)
    if not (raw_dir / TRAIN_CSV).is_file():
        raise PrepareError(f"{raw_dir / TRAIN_CSV} not found: {raw_dir} is not a competition-format folder",
                           ExitCode.MISSING_INPUT)
    out = {TRAIN_CSV: read_metadata(raw_dir / TRAIN_CSV)}
    if (raw_dir / SUPPLEMENTAL_CSV).is_file():
        out[SUPPLEMENTAL_CSV] = read_metadata(raw_dir / SUPPLEMENTAL_CSV)
    return out


def prepare(raw_dir: str | Path, root: str | Path = "datamount", workers: int = 1, overwrite: bool = False,
            progress: bool = True) -> PrepareReport:
    """Convert a raw competition-format folder into the datamount layout; see the module docstring."""
    start, raw_dir, mount = time.perf_counter(), Path(raw_dir), Datamount(root)
    metadata = load_raw_metadata(raw_dir)
    seen: set[tuple[int, int]] = set()
    checked, problems = {}, []
    for name, df in metadata.items():
        checked[name], found = check_rows(df, name, seen)
        problems += found
    mount.npy_dir.mkdir(parents=True, exist_ok=True)
    write_static_files(mount.root)
    write_inference_args(mount.inference_args, SELECTED_COLUMNS)
    tasks = build_tasks(list(checked.values()), raw_dir, mount.npy_dir, overwrite)
    converted: set[tuple[int, int]] = set()
    totals = dict(written=0, skipped_existing=0, frames_written=0)
    for r in run_tasks(tasks, workers, progress):
        converted.update(r.converted)
        problems += r.problems
        totals["written"] += r.written
        totals["skipped_existing"] += r.skipped_existing
        totals["frames_written"] += r.frames
    rows_converted = write_converted_metadata(checked, converted, mount)
    report = PrepareReport(str(raw_dir), str(mount.root), {k: len(v) for k, v in metadata.items()}, rows_converted,
                           len(tasks), seconds=round(time.perf_counter() - start, 3), problems=problems, **totals)
    write_report(report, mount.prepare_report)
    return report


def write_converted_metadata(checked: dict[str, pd.DataFrame], converted: set[tuple[int, int]],
                             mount: Datamount) -> dict[str, int]:
    """Write the rows whose npy exists into datamount/<csv name> (raw columns and order); returns row counts."""
    counts = {}
    if SUPPLEMENTAL_CSV not in checked:
        mount.supplemental_csv.unlink(missing_ok=True)  # stale copy from an earlier raw folder
    for name, df in checked.items():
        present = [(int(f), int(s)) in converted for f, s in zip(df["file_id"], df["sequence_id"])]
        write_csv_atomic(df[np.array(present, dtype=bool)], mount.root / name)
        counts[name] = int(sum(present))
    return counts


def write_report(report: PrepareReport, path: Path) -> None:
    """prepare_report.json: the counts, the problem kinds explained, every problem with all its ids."""
    data = asdict(report)
    data["ok"] = report.ok
    data["problem_counts"] = report.problem_counts()
    data["problem_kinds"] = PROBLEM_KINDS
    write_json_atomic(data, path)


def summarize(report: PrepareReport) -> str:
    """Human-readable summary: counts, throughput and each problem with (the first) sequence ids."""
    rate = report.written / report.seconds if report.seconds > 0 else float("nan")
    lines = [f"prepare: {report.files} parquet files, rows listed {report.rows_listed}, "
             f"converted {report.rows_converted}; {report.written} npy written "
             f"({rate:.1f} sequences/s), {report.skipped_existing} already present, {report.seconds:.1f} s"]
    for kind, n in report.problem_counts().items():
        lines.append(f"PROBLEM {kind}: {n} sequence(s) skipped -- {PROBLEM_KINDS[kind]}")
    for p in report.problems:
        ids = ", ".join(map(str, p.sequence_ids[:MAX_IDS_SHOWN]))
        more = f" (+{len(p.sequence_ids) - MAX_IDS_SHOWN} more)" if len(p.sequence_ids) > MAX_IDS_SHOWN else ""
        lines.append(f"  {p.kind} in {p.source}: sequence_id {ids}{more}: {p.detail}")
    if report.problems:
        lines.append(f"every problem is listed in {Path(report.datamount) / 'prepare_report.json'}")
    return "\n".join(lines)
