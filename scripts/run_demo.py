"""The whole recipe at demo scale on the synthetic data set, on a CPU (`make demo` runs this).

    python scripts/run_demo.py                 # every step; skips steps already done with the same inputs
    python scripts/run_demo.py --force         # redo everything
    python scripts/run_demo.py --no-export     # stop after round 2 (no TensorFlow needed)

Steps, each a subprocess with this Python, stopping the demo on the first failure:
  a. synthetic raw data      scripts/make_synthetic_data.py --preset demo --out datamount/synthetic
  b. prepare + folds         scripts/prepare_data.py --raw datamount/synthetic  (npy files, train_folded.csv, ...)
  c. round 1                 train.py -C demo_1 --fold k --seed 42   for k = 0..3
  d. OOF table               scripts/get_train_folded_oof_supp.py -C demo_1
  e. round 2                 train.py -C demo_2 --fold -1 --seed S   for S = 1, 2
  f. TFLite export           scripts/convert_cfg_2_to_tf_lite.py -C demo_2
  g. TFLite scoring          scripts/score_tflite.py -C demo_2
The training runs of c and e go `--jobs` at a time (default 2) with one torch thread each: on a small CPU two
single-threaded runs side by side are much faster than one run whose threads contend. Their output lines are
prefixed with [fold<k>] / [seed<S>].
A step is skipped only when the state file (datamount/demo_state.json) says it finished with the same commands and
the same inputs (the config and script files it depends on), all its outputs exist, and no earlier step was redone.
The summary (time per step, round-1 OOF score, round-2 validation scores against the dummy-phrase baseline, TFLite
score) is printed and written to datamount/demo_summary.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from common import run_layout as layout  # noqa: E402  (TensorFlow- and torch-free file names)
from common.atomic import write_json_atomic  # noqa: E402

DATAMOUNT = Path("datamount")
SYNTHETIC = DATAMOUNT / "synthetic"
STATE_FILE = DATAMOUNT / "demo_state.json"
SUMMARY_FILE = DATAMOUNT / "demo_summary.json"
ROUND1_SEED = 42
ROUND2_SEEDS = (1, 2)
N_FOLDS = 4
POLL_S = 0.5
TERMINATE_WAIT_S = 30
DATA_WORKERS = min(2, os.cpu_count() or 1)
# Inputs whose content decides whether a step's outputs are still valid (a folder = every *.py below it).
TRAIN_DEPS = ("train.py", "configs", "training", "models", "data", "metrics", "postprocess")


@dataclass
class Step:
    """One demo step: commands, files it reads (fingerprinted) and files it must leave behind.

    Commands of a `parallel` step are independent (e.g. the four folds) and may run side by side.
    """

    name: str
    title: str
    commands: list[list[str]]
    deps: tuple[str, ...] = ()
    outputs: list[Path] = field(default_factory=list)
    parallel: bool = False
    labels: list[str] = field(default_factory=list)

    def fingerprint(self) -> str:
        """Hash of the commands and of the content of every dependency (files, or *.py below folders)."""
        digest = hashlib.sha256(json.dumps(self.commands).encode())
        for dep in self.deps:
            path = ROOT / dep
            for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
                digest.update(str(file.relative_to(ROOT)).encode() + file.read_bytes())
        return digest.hexdigest()


def script(path: str, *args: str) -> list[str]:
    """A command running a repo script with this interpreter; a missing script is an error, never a skip."""
    if not (ROOT / path).exists():
        raise FileNotFoundError(f"demo step needs {path}, which does not exist in {ROOT}")
    return [sys.executable, str(ROOT / path), *args]


def weights(cfg_name: str, fold: int) -> Path:
    """Run folder of a demo training run (relative to the repo root)."""
    return layout.fold_dir(DATAMOUNT / "weights" / cfg_name, fold)


def training_steps() -> list[Step]:
    """Round 1 (4 folds), OOF, round 2 (2 seeds)."""
    folds = range(N_FOLDS)
    round1 = Step("round1", f"round 1: train.py -C demo_1 --fold k for k = 0..{N_FOLDS - 1}",
                  [script("train.py", "-C", "demo_1", "--fold", str(k), "--seed", str(ROUND1_SEED)) for k in folds],
                  TRAIN_DEPS,
                  [weights("demo_1", k) / name(ROUND1_SEED) for k in folds
                   for name in (layout.checkpoint_name, layout.val_data_name)],
                  parallel=True, labels=[f"fold{k}" for k in folds])
    oof = Step("oof", "OOF table: scripts/get_train_folded_oof_supp.py -C demo_1",
               [script("scripts/get_train_folded_oof_supp.py", "-C", "demo_1")],
               ("scripts/get_train_folded_oof_supp.py", "training/round2_table.py"),
               [DATAMOUNT / "train_folded_oof_supp.csv", DATAMOUNT / "train_folded_oof_supp_summary.json"])
    round2 = Step("round2", f"round 2: train.py -C demo_2 --fold -1 --seed S for S in {ROUND2_SEEDS}",
                  [script("train.py", "-C", "demo_2", "--fold", "-1", "--seed", str(s)) for s in ROUND2_SEEDS],
                  TRAIN_DEPS,
                  [weights("demo_2", layout.FULL_FIT_FOLD_NUMBER) / name(s) for s in ROUND2_SEEDS
                   for name in (layout.checkpoint_name, layout.metrics_name)],
                  parallel=True, labels=[f"seed{s}" for s in ROUND2_SEEDS])
    return [round1, oof, round2]


def export_steps() -> list[Step]:
    """TFLite conversion of both round-2 seeds (named explicitly: older checkpoints may share the folder) and its
    score on the validation fold."""
    run = weights("demo_2", layout.FULL_FIT_FOLD_NUMBER)
    checkpoints = [str(run / layout.checkpoint_name(s)) for s in ROUND2_SEEDS]
    return [
        Step("tflite_convert", "TFLite export: scripts/convert_cfg_2_to_tf_lite.py -C demo_2",
             [script("scripts/convert_cfg_2_to_tf_lite.py", "-C", "demo_2", "--checkpoints", *checkpoints)],
             ("scripts/convert_cfg_2_to_tf_lite.py", "export", "models"), [run / layout.TFLITE_NAME]),
        Step("tflite_score", "TFLite scoring: scripts/score_tflite.py -C demo_2",
             [script("scripts/score_tflite.py", "-C", "demo_2")], ("scripts/score_tflite.py", "export"),
             [run / layout.SCORE_JSON]),
    ]


def all_steps(with_export: bool) -> list[Step]:
    data = [
        Step("synthetic", "synthetic raw data: scripts/make_synthetic_data.py --preset demo",
             [script("scripts/make_synthetic_data.py", "--preset", "demo", "--out", str(SYNTHETIC), "--overwrite",
                     "--workers", str(DATA_WORKERS), "--quiet")],
             ("scripts/make_synthetic_data.py", "data/synthetic"),
             [SYNTHETIC / "train.csv", SYNTHETIC / "supplemental_metadata.csv"]),
        Step("prepare", "npy layout + folds: scripts/prepare_data.py",
             [script("scripts/prepare_data.py", "--raw", str(SYNTHETIC), "--datamount", str(DATAMOUNT), "--quiet",
                     "--overwrite")],
             ("scripts/prepare_data.py", "data/prepare.py", "data/folds.py", "data/raw_format.py"),
             [DATAMOUNT / "train_folded.csv", DATAMOUNT / "supplemental_metadata_folded.csv"]),
    ]
    return data + training_steps() + (export_steps() if with_export else [])


def fail(step: Step, command: list[str], status: int) -> None:
    print(f"\nDEMO FAILED in step '{step.name}' (exit status {status}): {' '.join(command)}", file=sys.stderr)
    sys.exit(status or 1)


def pump(stream, label: str) -> None:
    """Copy a child's output to ours, each line prefixed with its label."""
    for line in stream:
        print(f"[{label}] {line}", end="", flush=True)


class CommandFailed(RuntimeError):
    """A command of `run_jobs` exited non-zero (the others were stopped)."""

    def __init__(self, command: list[str], status: int) -> None:
        super().__init__(f"exit status {status}: {' '.join(command)}")
        self.command, self.status = command, status


def run_jobs(labelled: list[tuple[str, list[str]]], jobs: int, env: dict[str, str], poll_s: float = POLL_S) -> None:
    """Run (label, command) pairs `jobs` at a time from the repo root, output prefixed with the label.

    Raises CommandFailed on the first failure; a failure, Ctrl-C or SIGTERM stops every command still running.
    """
    pending = list(labelled)
    running: list[tuple[list[str], subprocess.Popen, threading.Thread]] = []
    try:
        while pending or running:
            while pending and len(running) < jobs:
                label, command = pending.pop(0)
                proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
                thread = threading.Thread(target=pump, args=(proc.stdout, label), daemon=True)
                thread.start()
                running.append((command, proc, thread))
            time.sleep(poll_s)
            for item in list(running):
                command, proc, thread = item
                if proc.poll() is None:
                    continue
                thread.join()
                running.remove(item)
                if proc.returncode != 0:
                    raise CommandFailed(command, proc.returncode)  # the finally block stops the others
    finally:  # no child outlives its caller
        for _, proc, _ in running:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=TERMINATE_WAIT_S)


def run_parallel(step: Step, jobs: int, env: dict[str, str]) -> None:
    """Run the step's commands `jobs` at a time; on a failure stop the others and exit."""
    try:
        run_jobs(list(zip(step.labels, step.commands)), jobs, env)
    except CommandFailed as e:
        fail(step, e.command, e.status)


def run_step(step: Step, jobs: int) -> float:
    """Run the step's commands (output streamed); exits the demo with the command's status on failure."""
    start = time.time()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if step.parallel and jobs > 1:
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // jobs)))  # no thread oversubscription
        run_parallel(step, jobs, env)
    else:
        for command in step.commands:
            result = subprocess.run(command, cwd=ROOT, env=env)
            if result.returncode != 0:
                fail(step, command, result.returncode)
    for path in step.outputs:
        if not (ROOT / path).exists():
            print(f"\nDEMO FAILED: step '{step.name}' did not write {path}", file=sys.stderr)
            sys.exit(1)
    return time.time() - start


def load_state() -> dict[str, str]:
    path = ROOT / STATE_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def save_state(state: dict[str, str]) -> None:
    write_json_atomic(state, ROOT / STATE_FILE)


def run_all(steps: list[Step], force: bool, jobs: int) -> dict[str, float | str]:
    """Run or skip every step in order; returns the wall time per step ('skipped' when skipped)."""
    state = {} if force else load_state()
    times: dict[str, float | str] = {}
    redo = force
    for i, step in enumerate(steps, 1):
        fingerprint = step.fingerprint()
        done = state.get(step.name) == fingerprint and all((ROOT / p).exists() for p in step.outputs)
        banner = f"[{i}/{len(steps)}] {step.title}"
        print(f"\n{'=' * 100}\n{banner}\n{'=' * 100}", flush=True)
        if done and not redo:
            print("already done with the same inputs: skipped (use --force to redo)", flush=True)
            times[step.name] = "skipped"
            continue
        redo = True  # every later step depends on this one
        state.pop(step.name, None)
        save_state(state)
        times[step.name] = run_step(step, jobs)
        state[step.name] = fingerprint
        save_state(state)
        print(f"--- {step.name}: {times[step.name]:.1f} s", flush=True)
    return times


def last_val_record(path: Path) -> dict:
    """The last validation record of a run's metrics JSONL."""
    from training.logger import read_metrics

    records = [r for r in read_metrics(path) if r["split"] == "val"]
    if not records:
        raise ValueError(f"{path}: no validation record")
    return records[-1]


def collect_summary(times: dict[str, float | str], wall: float) -> dict:
    """Scores of every stage, read back from the files the steps wrote."""
    summary: dict = {"wall_time_s": round(wall, 1), "step_time_s": {k: (round(v, 1) if isinstance(v, float) else v)
                                                                    for k, v in times.items()}}
    oof = ROOT / DATAMOUNT / "train_folded_oof_supp_summary.json"
    if oof.exists():
        summary["round1_oof"] = {k: v for k, v in json.loads(oof.read_text()).items() if k.startswith("score")}
    summary["round2_val"] = {}
    for seed in ROUND2_SEEDS:
        metrics = ROOT / weights("demo_2", layout.FULL_FIT_FOLD_NUMBER) / layout.metrics_name(seed)
        if metrics.exists():
            record = last_val_record(metrics)
            summary["round2_val"][f"seed{seed}"] = {k: v for k, v in record.items() if k.startswith("score")}
    tflite = ROOT / weights("demo_2", layout.FULL_FIT_FOLD_NUMBER) / layout.SCORE_JSON
    if tflite.exists():
        summary["tflite"] = json.loads(tflite.read_text())
    return summary


def print_summary(summary: dict) -> None:
    print(f"\n{'=' * 100}\nDEMO SUMMARY (total {summary['wall_time_s']:.0f} s)\n{'=' * 100}")
    for name, t in summary["step_time_s"].items():
        print(f"  {name:<18} {t if isinstance(t, str) else f'{t:8.1f} s'}")
    rows = [("round 1 OOF", summary.get("round1_oof", {}))]
    rows += [(f"round 2 {seed}", scores) for seed, scores in summary["round2_val"].items()]
    if "tflite" in summary:
        rows.append(("TFLite", summary["tflite"]))
    print(f"\n  {'':<16} {'score_lev':>10} {'score_dl':>10} {'lev_pp':>10} {'dummy_lev':>10} {'dummy_dl':>10}")
    for label, s in rows:
        cells = [s.get(k) for k in ("score_lev", "score_dl", "score_lev_pp", "score_lev_dummy", "score_dl_dummy")]
        print(f"  {label:<16} " + " ".join(f"{c:>10.4f}" if isinstance(c, float) else f"{'-':>10}" for c in cells))
    print("\nscore_lev = official competition metric (normalised Levenshtein); score_dl = the original's local "
          "Damerau-Levenshtein metric; _pp = after the dummy-phrase fallback; dummy = every prediction "
          "'2 a-e -aroe'.")


def exit_on_signal(signum: int, frame) -> None:
    """Turn SIGTERM into SystemExit so that running steps are stopped (subprocess.run kills its child on any
    exception, run_parallel terminates its children in a finally block)."""
    print(f"\nrun_demo: stopped by signal {signum}", file=sys.stderr)
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="redo every step")
    parser.add_argument("--no-export", action="store_true", help="skip the TFLite steps f and g")
    parser.add_argument("--until", default=None, help="stop after the step of this name (e.g. prepare, round1)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="training runs side by side in rounds 1 and 2 (default: 2, or 1 on a 1-CPU machine)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_signal)  # `kill <demo pid>` stops the step's children too
    start = time.time()
    try:
        steps = all_steps(with_export=not args.no_export)
    except FileNotFoundError as e:
        print(f"run_demo: ERROR: {e}", file=sys.stderr)
        return 1
    names = [step.name for step in steps]
    if args.until is not None:
        if args.until not in names:
            parser.error(f"--until {args.until}: no such step; the steps are {', '.join(names)}")
        steps = steps[:names.index(args.until) + 1]
    times = run_all(steps, args.force, max(1, args.jobs))
    summary = collect_summary(times, time.time() - start)
    write_json_atomic(summary, ROOT / SUMMARY_FILE)
    print_summary(summary)
    print(f"\nwritten: {SUMMARY_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
