"""Exit codes of every entry point and the one-line error report (README "Errors and recovery").

Every command-line entry point (`train.py`, `scripts/*.py`) runs its work through `run_cli`: an error it expects
(a missing or invalid input, a bad option value, a locked run folder, an unwritable output) is printed as ONE line
`<prog>: error: <what> (<file/key/value>)` on stderr and turned into the exit code of the table below; anything
else is a bug and keeps its traceback. Entry points check their inputs before they write anything.
"""
from __future__ import annotations

import errno
import sys
import tokenize
from collections.abc import Callable
from enum import IntEnum


class ExitCode(IntEnum):
    """The one table of exit codes (README "Errors and recovery" repeats it)."""

    OK = 0
    PROBLEMS = 1  # finished, but some items were skipped; each is listed (prepare_data, predict)
    USAGE = 2  # bad command line: unknown option or config key, a value out of range (argparse's code too)
    MISSING_INPUT = 3  # an input file or folder does not exist
    BAD_INPUT = 4  # an input exists but is unreadable or invalid (corrupt, wrong shape/dtype/keys, non-finite)
    CONFLICT = 5  # the run folder is in use by another run, or --resume with a changed config
    DIVERGED = 6  # training stopped on a non-finite loss (the last good checkpoint is kept)
    WRITE_FAILED = 7  # an output could not be written (read-only folder, disk full); earlier outputs are intact
    CHECK_FAILED = 8  # export: the model exceeds the size limit or the parity check failed
    WORKER_DIED = 9  # a worker process was killed (e.g. out of memory); finished work is kept, re-run to finish
    DOWNLOAD_FAILED = 10  # download_data: the network or Kaggle refused; nothing partial is left


class UserError(Exception):
    """An expected failure with its exit code; the message names the file, key or value."""

    code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, code: ExitCode | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class UsageError(UserError):
    code = ExitCode.USAGE


class MissingInputError(UserError, FileNotFoundError):
    code = ExitCode.MISSING_INPUT


class BadInputError(UserError, ValueError):
    code = ExitCode.BAD_INPUT


class ConflictError(UserError):
    code = ExitCode.CONFLICT


class DivergedError(UserError):
    code = ExitCode.DIVERGED


class WriteError(UserError):
    code = ExitCode.WRITE_FAILED


class CheckFailedError(UserError, ValueError):
    code = ExitCode.CHECK_FAILED


WRITE_ERRNOS = frozenset({errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EACCES, errno.EPERM,
                          errno.ENOTDIR, errno.EISDIR, errno.EEXIST})


# What np.load / numpy's header parser raise on a corrupt .npy (a mangled header dict reaches ast and tokenize).
NPY_READ_ERRORS = (OSError, ValueError, EOFError, SyntaxError, MemoryError, tokenize.TokenError)


def exit_code_of(error: BaseException) -> ExitCode | None:
    """The exit code of an expected error, None for an unexpected one (a bug: keep the traceback)."""
    if isinstance(error, UserError):
        return error.code
    if isinstance(error, FileNotFoundError):
        return ExitCode.MISSING_INPUT
    if isinstance(error, OSError) and error.errno in WRITE_ERRNOS:
        return ExitCode.WRITE_FAILED
    if isinstance(error, ValueError):
        return ExitCode.BAD_INPUT
    return None


def one_line(error: BaseException) -> str:
    """The message of `error` on one line (an OSError without a message gets its strerror and file name)."""
    text = str(error)
    if isinstance(error, OSError) and error.filename is not None and str(error.filename) not in text:
        text = f"{error.filename}: {error.strerror or text}"
    return " ".join(text.split())


def run_cli(prog: str, main: Callable[[list[str] | None], int | None], argv: list[str] | None = None) -> int:
    """Run `main(argv)`; expected errors become one stderr line and their exit code (see the module docstring)."""
    try:
        code = main(argv)
    except Exception as e:  # noqa: BLE001 -- filtered by exit_code_of; the rest is re-raised
        code = exit_code_of(e)
        if code is None:
            raise
        print(f"{prog}: error: {one_line(e)}", file=sys.stderr)
        return int(code)
    return int(ExitCode.OK if code is None else code)
