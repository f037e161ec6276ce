"""kill -9 at a random moment of each long-running step, re-run, and the outputs equal an uninterrupted run's
(bit-identical weights for training). The moment is drawn at random and printed (`KILL_SEED` replays one)."""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch

import train
from tests.raw_helpers import make_raw
from tests.train_helpers import make_datamount, tiny_overrides

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "NEPTUNE_MODE": "debug"}
pytestmark = pytest.mark.slow


def kill_rng() -> random.Random:
    seed = int(os.environ.get("KILL_SEED", random.SystemRandom().randrange(10**6)))
    print(f"KILL_SEED={seed}")
    return random.Random(seed)


def run_and_kill(cmd: list[str], delay: float, ready=lambda: True, timeout: float = 300) -> int | None:
    """Start `cmd`; once ready() holds, wait `delay` s and SIGKILL it and all its children. Returns the exit code
    when it finished first, else None."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + timeout
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        return proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        return None


def run(cmd: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)
    assert out.returncode in (0, 1), out.stderr[-3000:]
    return out


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (relative name -> bytes), without the timing-dependent report."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "prepare_report.json"}


def prepare_cmd(raw: Path, out: Path) -> list[str]:
    return [sys.executable, "scripts/prepare_data.py", "--raw", str(raw), "--datamount", str(out), "--workers", "2",
            "--quiet", "--n-folds", "2"]


def test_kill_prepare_and_rerun(tmp_path):
    rng = kill_rng()
    make_raw(tmp_path / "raw")
    run(prepare_cmd(tmp_path / "raw", tmp_path / "straight"))
    for attempt in range(2):
        out = tmp_path / f"killed{attempt}"
        run_and_kill(prepare_cmd(tmp_path / "raw", out), rng.uniform(0.0, 3.0))
        run(prepare_cmd(tmp_path / "raw", out))
        assert tree(out) == tree(tmp_path / "straight")
        assert not [p for p in out.rglob(".*tmp*")]


def test_kill_one_prepare_worker_never_hangs(tmp_path):
    """What the OOM killer does: one worker dies; the parent stops at once (exit 9) or had finished (0)."""
    make_raw(tmp_path / "raw")
    proc = subprocess.Popen(prepare_cmd(tmp_path / "raw", tmp_path / "dm"), cwd=ROOT, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        workers = [c for c in parent.children(recursive=True) if "spawn_main" in " ".join(c.cmdline())]
        if workers:
            workers[0].kill()
            break
        time.sleep(0.01)
    code = proc.wait(timeout=60)  # a multiprocessing.Pool used to wait here forever
    assert code in (0, 9), proc.stderr.read()[-2000:]
    run(prepare_cmd(tmp_path / "raw", tmp_path / "dm"))


def train_cmd(mount, out: Path, *more: str) -> list[str]:
    return [sys.executable, "train.py", "-C", "demo_2", "--fold", "-1",
            *tiny_overrides(mount, out, train_df=mount.oof_supp, epochs=4, eval_epochs=2, ckpt_every_epochs=1,
                            batch_size=5, grad_accumulation=4), *more]


def test_kill_training_and_resume_is_bit_identical(tmp_path):
    rng = kill_rng()
    mount = make_datamount(tmp_path / "dm")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train.main(train_cmd(mount, tmp_path / "straight")[2:])
    finally:
        torch.set_num_threads(threads)
    run_dir = tmp_path / "killed" / "fold-1"
    resume = run_dir / "resume_seed3.pth"
    run_and_kill(train_cmd(mount, tmp_path / "killed"), rng.uniform(0.0, 2.0), ready=resume.exists)
    if not (run_dir / "checkpoint_last_seed3.pth").exists():
        run(train_cmd(mount, tmp_path / "killed", *(["--resume"] if resume.exists() else [])))
    a = torch.load(tmp_path / "straight" / "fold-1" / "checkpoint_last_seed3.pth", weights_only=True)["model"]
    b = torch.load(run_dir / "checkpoint_last_seed3.pth", weights_only=True)["model"]
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def test_kill_oof_and_rerun(tmp_path):
    from tests.round2_helpers import PREDS, make_mount

    rng = kill_rng()
    root = make_mount(tmp_path / "dm", PREDS)
    cmd = [sys.executable, "scripts/get_train_folded_oof_supp.py", "--datamount", str(root)]
    run(cmd + ["--out", str(tmp_path / "straight.csv")])
    run_and_kill(cmd, rng.uniform(0.0, 4.0))
    run(cmd)
    assert (root / "train_folded_oof_supp.csv").read_bytes() == (tmp_path / "straight.csv").read_bytes()


def export_tree(folder: Path) -> dict[str, bytes]:
    """The export files visible in `folder` (relative name -> bytes; hidden temp entries left out).
    saved_model/fingerprint.pb is only checked to be there: it holds a random UUID, different in every run."""
    files = [p for p in sorted(folder.rglob("*")) if p.is_file()
             and not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    return {str(p.relative_to(folder)): b"" if p.name == "fingerprint.pb" else p.read_bytes() for p in files}


@pytest.mark.tf
def test_convert_killed_and_rerun_keeps_one_whole_export(tmp_path):
    """kill -9 of the converter next to an older export: the folder holds the older or the new export, never a mix;
    the re-run's export equals an uninterrupted run's, byte for byte (the conversion is deterministic: two
    uninterrupted runs give the same model.tflite, inference_args.json, parity_report.json and saved_model/)."""
    from configs import load_config
    from tests.export_helpers import convert_argv, random_net, save_checkpoint

    rng = kill_rng()
    checkpoint = save_checkpoint(random_net(load_config("demo_2"), 1), tmp_path / "checkpoint_last_seed1.pth")
    (tmp_path / "dm").mkdir()  # no train_folded.csv: the parity report skips the (slow) validation-fold check

    def convert(out: Path) -> list[str]:
        return [sys.executable, "scripts/convert_cfg_2_to_tf_lite.py",
                *convert_argv([checkpoint], out, tmp_path / "dm")]

    start = time.monotonic()
    run(convert(tmp_path / "straight"))
    seconds = time.monotonic() - start
    new = export_tree(tmp_path / "straight")
    assert {"model.tflite", "inference_args.json", "parity_report.json", "saved_model/saved_model.pb"} <= set(new)

    # an older complete export: the same files, each one byte longer, so that any mix of old and new shows
    out = tmp_path / "killed"
    shutil.copytree(tmp_path / "straight", out)
    for path in out.rglob("*"):
        if path.is_file():
            path.write_bytes(path.read_bytes() + b"\n")
    older = export_tree(out)

    # the moment: from the export's first temp entry (TensorFlow imported, weights ported; about half-way) to about the
    # end (a draw past it lets the conversion finish)
    started = lambda: any(p.name.startswith(".") for p in out.iterdir())
    delay = rng.uniform(0.0, 0.55 * seconds)
    code = run_and_kill(convert(out), delay, ready=started)
    after = export_tree(out)
    print(f"{delay:.1f} s after the first temp entry: {'finished' if code == 0 else 'killed'}, "
          f"{'the older' if after == older else 'the new' if after == new else 'a mixed'} export")
    assert code in (None, 0)
    assert after in ((older, new) if code is None else (new,)), f"after the kill: {mixed(after, older, new)}"

    run(convert(out))
    assert export_tree(out) == new
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "temp entries left after the re-run"


def mixed(after: dict[str, bytes], older: dict[str, bytes], new: dict[str, bytes]) -> dict[str, str]:
    """Which export each file of `after` comes from (old, new, neither, or missing)."""
    names = sorted(set(after) | set(older) | set(new))
    return {n: "missing" if n not in after else "old" if after[n] == older.get(n) else "new"
            if after[n] == new.get(n) else "neither" for n in names}
