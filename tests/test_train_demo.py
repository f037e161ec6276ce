"""scripts/run_demo.py: steps skip only when safe, later steps redo after an earlier one, failures stop the demo."""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from scripts import run_demo
from scripts.run_demo import Step


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setattr(run_demo, "ROOT", tmp_path)
    (tmp_path / "dep.txt").write_text("v1")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("x = 1")
    return tmp_path


def writer(name: str) -> list[str]:
    """A command that appends its name to runs.log and creates the file `name`."""
    code = f"open('runs.log', 'a').write('{name}\\n'); open('{name}', 'w').write('x'); print('did {name}')"
    return [sys.executable, "-c", code]


def steps() -> list[Step]:
    return [Step("one", "first", [writer("a")], ("dep.txt",), [Path("a")]),
            Step("two", "second", [writer("b"), writer("c")], ("pkg",), [Path("b"), Path("c")], parallel=True,
                 labels=["b", "c"])]


def runs(root: Path) -> list[str]:
    path = root / "runs.log"
    return sorted(path.read_text().split()) if path.exists() else []


def test_skip_and_redo_rules(root):
    times = run_demo.run_all(steps(), force=False, jobs=2)
    assert runs(root) == ["a", "b", "c"] and all(isinstance(t, float) for t in times.values())
    (root / "runs.log").unlink()
    assert run_demo.run_all(steps(), force=False, jobs=2) == {"one": "skipped", "two": "skipped"}
    assert runs(root) == []
    (root / "c").unlink()  # an output went missing: only that step reruns
    run_demo.run_all(steps(), force=False, jobs=1)
    assert runs(root) == ["b", "c"]
    (root / "runs.log").unlink()
    (root / "dep.txt").write_text("v2")  # an input changed: its step and every later step rerun
    run_demo.run_all(steps(), force=False, jobs=1)
    assert runs(root) == ["a", "b", "c"]
    (root / "runs.log").unlink()
    (root / "pkg" / "mod.py").write_text("x = 2")  # a source file below a folder dependency changed
    run_demo.run_all(steps(), force=False, jobs=1)
    assert runs(root) == ["b", "c"]
    (root / "runs.log").unlink()
    run_demo.run_all(steps(), force=True, jobs=1)
    assert runs(root) == ["a", "b", "c"]


def test_parallel_output_is_labelled(root, capsys):
    run_demo.run_all(steps()[1:], force=True, jobs=2)
    out = capsys.readouterr().out
    assert "[b] did b" in out and "[c] did c" in out


@pytest.mark.parametrize("jobs", [1, 2])
def test_failure_stops_the_demo(root, capsys, jobs):
    bad = Step("bad", "fails", [writer("a"), [sys.executable, "-c", "raise SystemExit(3)"]], (), [], parallel=True,
               labels=["a", "x"])
    with pytest.raises(SystemExit) as exc:
        run_demo.run_all([bad, steps()[1]], force=False, jobs=jobs)
    assert exc.value.code == 3
    assert "DEMO FAILED in step 'bad' (exit status 3)" in capsys.readouterr().err
    assert "bad" not in run_demo.load_state()  # never recorded as done
    assert not (root / "b").exists()  # later steps did not run


def test_missing_output_is_a_failure(root, capsys):
    step = Step("liar", "claims an output", [writer("a")], (), [Path("never")])
    with pytest.raises(SystemExit):
        run_demo.run_all([step], force=False, jobs=1)
    assert "did not write never" in capsys.readouterr().err


def test_missing_script_is_an_error_not_a_skip(root):
    with pytest.raises(FileNotFoundError, match="scripts/nope.py"):
        run_demo.script("scripts/nope.py")


def test_sigterm_stops_running_children(root):
    """`kill <demo pid>` during a parallel step: the demo exits 143 and no child outlives it.
    (Sequential commands go through subprocess.run, which kills its child on any exception.)"""
    sleeper = [sys.executable, "-c", "import os, time; open(f'pid{os.getpid()}', 'w'); time.sleep(60)"]
    step = Step("slow", "sleeps", [sleeper, sleeper], (), [], parallel=True, labels=["s1", "s2"])

    def kill_once_started():
        deadline = time.monotonic() + 30
        while len(list(root.glob("pid*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, run_demo.exit_on_signal)
    try:
        threading.Thread(target=kill_once_started, daemon=True).start()
        with pytest.raises(SystemExit) as exc:
            run_demo.run_all([step], force=True, jobs=2)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert exc.value.code == 128 + signal.SIGTERM
    pids = [int(p.name[3:]) for p in root.glob("pid*")]
    assert len(pids) == 2
    assert not any(alive(pid) for pid in pids), "a child still runs"


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False
