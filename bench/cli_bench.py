"""Command-line start-up side by side with MLflow's: ``jupyter mm --help`` against ``mlflow
runs list --help``, and ``jupyter mm runs`` against ``mlflow runs list`` on small stores
(20 runs with a param and a metric each, SQLite for both).

Each command runs in a fresh process (``python -m …`` with this interpreter), the four
alternated so that a load change on a shared machine hits every one alike; the figures are
medians of wall time, with the CPU time (user + system) of the same runs in the notes — on a
loaded machine the CPU time moves far less than the wall time. The MLflow rows need MLflow
importable by this interpreter (``pip install -e ".[bench]"``, or run with the bench
environment's python and ``PYTHONPATH`` pointing at this tree); without it they have no peer.
"""

from __future__ import annotations

import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import Result

RUNS = 20

OUR_STORE_SCRIPT = """
import jupyter_mm as mm
for i in range({runs}):
    with mm.start_run(f"run-{{i}}"):
        mm.log_param("lr", i / 100)
        mm.log_metric("acc", i / {runs})
"""

MLFLOW_STORE_SCRIPT = """
import mlflow
for i in range({runs}):
    with mlflow.start_run(run_name=f"run-{{i}}"):
        mlflow.log_param("lr", i / 100)
        mlflow.log_metric("acc", i / {runs})
"""


def _timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, env=env, cwd=cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.decode()[-500:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def _populate(script: str, env: dict[str, str], cwd: Path) -> None:
    command = [sys.executable, "-c", script.format(runs=RUNS)]
    subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True)


def _make_stores(tmp: Path, with_mlflow: bool) -> tuple[dict[str, str], dict[str, str]]:
    """The environments of our commands and MLflow's, each with a small store made."""
    ours = dict(os.environ, JUPYTER_MM_STORE=f"sqlite:///{tmp / 'mm' / 'mm.db'}")
    _populate(OUR_STORE_SCRIPT, ours, tmp)
    theirs = dict(
        os.environ,
        MLFLOW_TRACKING_URI=f"sqlite:///{tmp / 'mlflow.db'}",
        MLFLOW_ARTIFACT_URI=str(tmp / "mlartifacts"),
    )
    if with_mlflow:
        _populate(MLFLOW_STORE_SCRIPT, theirs, tmp)
    return ours, theirs


def _medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def measure(samples: int) -> dict[str, tuple[float, float] | None]:
    """Medians (wall, CPU) per command name; None for MLflow's when it is not installed."""
    with_mlflow = importlib.util.find_spec("mlflow") is not None
    commands = {
        "python": ["-c", "pass"],
        "mm --help": ["-m", "jupyter_mm.cli", "--help"],
        "mm runs": ["-m", "jupyter_mm.cli", "runs"],
        "mlflow --help": ["-m", "mlflow", "runs", "list", "--help"],
        "mlflow runs": ["-m", "mlflow", "runs", "list", "--experiment-id", "0"],
    }
    timings: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        ours, theirs = _make_stores(tmp, with_mlflow)
        for index in range(samples + 1):
            for label, args in commands.items():
                if label.startswith("mlflow") and not with_mlflow:
                    continue
                env = theirs if label.startswith("mlflow") else ours
                taken = _timed([sys.executable, *args], env, tmp)
                if index > 0:  # the first round only warms the page cache
                    timings[label].append(taken)
    return {label: _medians(runs) if runs else None for label, runs in timings.items()}


def run(quick: bool) -> list[Result]:
    samples = 3 if quick else 9
    started = time.perf_counter()
    found = measure(samples)
    print(f"  (command-line benchmarks took {time.perf_counter() - started:.0f} s)")
    python = found["python"] or (0.0, 0.0)
    rows = []
    for ours, theirs, target, ceiling in (
        ("mm --help", "mlflow --help", "`jupyter mm --help` wall time", 0.300),
        ("mm runs", "mlflow runs", f"`jupyter mm runs` wall time ({RUNS} runs, SQLite)", 0.500),
    ):
        wall, cpu = found[ours] or (0.0, 0.0)
        peer = found[theirs]
        note = (
            f"median of {samples} fresh processes; CPU {cpu * 1000:.0f} ms; `python -c pass` "
            f"takes {python[0] * 1000:.0f} ms here"
        )
        if peer is not None:
            note += f"; MLflow's CPU {peer[1] * 1000:.0f} ms (`mlflow runs list`)"
        rows.append(
            Result(
                target=target,
                ours=wall,
                peer=None if peer is None else peer[0],
                peer_name="mlflow runs list" + (" --help" if "help" in ours else ""),
                max_ours=ceiling,
                note=note,
            )
        )
    return rows


if __name__ == "__main__":  # pragma: no cover - convenience for a single group
    from _common import print_table

    print_table(run("--quick" in sys.argv))
