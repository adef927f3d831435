"""Metric logging throughput and reading runs into a DataFrame, against MLflow on SQLite.

Rows:
* ``log_metric`` in a training loop: N calls in one run through ``mm.log_metric``, timed
  until the run has ended (so buffered points are flushed), then every point is read back
  from the store and counted; MLflow's ``mlflow.log_metric`` loop is timed on fewer calls
  (each is its own SQLite transaction, 100k would take many minutes) and the per-call
  rates are compared;
* ``mm.runs()`` of 10k runs into a DataFrame against ``mlflow.search_runs`` of the same
  10k runs. Both sets are created through each tool's bulk path (our ``create_run`` +
  ``log_batch``, MLflow's ``MlflowClient().log_batch``) with 5 params and 3 metrics each.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from _common import Result, median_seconds

PARAMS_PER_RUN = 5
METRICS_PER_RUN = 3


def _use_store(url: str):
    """Point the process-wide default store at ``url`` (the bench opens several)."""
    from jupyter_mm.store import open_store
    from jupyter_mm.tracking import set_default_store

    store = open_store(url)
    set_default_store(store)
    return store


def ours_log_metric(calls: int) -> tuple[float, int]:
    """(seconds for ``calls`` log_metric calls including the run's end, points stored)."""
    import jupyter_mm as mm
    from jupyter_mm.tracking import set_default_store

    with tempfile.TemporaryDirectory() as tmp:
        store = _use_store(f"sqlite:///{tmp}/mm.db")
        try:
            start = time.perf_counter()
            with mm.start_run(name="metrics bench") as run:
                for step in range(calls):
                    mm.log_metric("loss", 1.0 / (step + 1), step=step)
            elapsed = time.perf_counter() - start
            stored = [m for m in store.get_run_detail(run.id).metrics if m.name == "loss"]
            steps = {m.step for m in stored}
            if len(stored) != calls or steps != set(range(calls)):
                raise RuntimeError(
                    f"metrics bench lost points: logged {calls}, the store holds "
                    f"{len(stored)} ({len(steps)} distinct steps)."
                )
        finally:
            set_default_store(None)
            store.close()
    return elapsed, len(stored)


def mlflow_log_metric(calls: int) -> float:
    """Seconds for ``calls`` ``mlflow.log_metric`` calls in one run, including end_run."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
        mlflow.set_experiment("bench-metrics")
        start = time.perf_counter()
        mlflow.start_run()
        for step in range(calls):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.end_run()
        return time.perf_counter() - start


def ours_runs_dataframe(total: int, repeat: int) -> float:
    """Median seconds of ``mm.runs(limit=total)`` over a store of ``total`` runs."""
    import jupyter_mm as mm
    from jupyter_mm.entities import Metric, Param, Run
    from jupyter_mm.ids import new_id
    from jupyter_mm.tracking import set_default_store

    with tempfile.TemporaryDirectory() as tmp:
        store = _use_store(f"sqlite:///{tmp}/mm.db")
        try:
            now = time.time()
            for i in range(total):
                run = store.create_run(
                    Run(
                        id=new_id(),
                        name=f"run {i}",
                        status="finished",
                        start_time=now + i,
                        end_time=now + i + 1,
                        notebook_path=f"/bench/nb{i % 10}.ipynb",
                    )
                )
                store.log_batch(
                    run.id,
                    params=[Param(f"p{k}", str(i * k)) for k in range(PARAMS_PER_RUN)],
                    metrics=[
                        Metric(f"m{k}", i * 0.1 + k, 0, now + i) for k in range(METRICS_PER_RUN)
                    ],
                )
            frame = mm.runs(limit=total)
            if len(frame) != total:
                raise RuntimeError(f"mm.runs() returned {len(frame)} rows, expected {total}.")
            return median_seconds(lambda: mm.runs(limit=total), repeat)
        finally:
            set_default_store(None)
            store.close()


def mlflow_search_runs(total: int, repeat: int) -> float:
    """Median seconds of ``mlflow.search_runs`` returning ``total`` runs as a DataFrame."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow
    from mlflow.entities import Metric as MlMetric
    from mlflow.entities import Param as MlParam
    from mlflow.tracking import MlflowClient

    with tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
        client = MlflowClient()
        experiment = client.create_experiment("bench-search")
        stamp = int(time.time() * 1000)
        for i in range(total):
            run = client.create_run(experiment, run_name=f"run {i}")
            client.log_batch(
                run.info.run_id,
                params=[MlParam(f"p{k}", str(i * k)) for k in range(PARAMS_PER_RUN)],
                metrics=[MlMetric(f"m{k}", i * 0.1 + k, stamp, 0) for k in range(METRICS_PER_RUN)],
            )
            client.set_terminated(run.info.run_id)

        def search() -> object:
            return mlflow.search_runs([experiment], max_results=total)

        frame = search()
        if len(frame) != total:
            raise RuntimeError(f"mlflow.search_runs returned {len(frame)} rows, not {total}.")
        return median_seconds(search, repeat, warmup=0)


def run(quick: bool) -> list[Result]:
    started = time.perf_counter()
    calls = 10_000 if quick else 100_000
    mlflow_calls = 100 if quick else 500
    total_runs = 1_000 if quick else 10_000
    repeat = 3 if quick else 5
    rows: list[Result] = []

    ours_seconds, stored = ours_log_metric(calls)
    ours_rate = calls / ours_seconds
    try:
        peer_rate: float | None = mlflow_calls / mlflow_log_metric(mlflow_calls)
        note = f"MLflow measured on {mlflow_calls} calls; "
    except ImportError:
        peer_rate, note = None, "mlflow not installed: pip install -e '.[bench]'; "
    # Result compares peer/ours with smaller-is-better units, so rows carry seconds per call.
    rows.append(
        Result(
            target=f"{calls:,} log_metric calls in one run (time per call)",
            ours=1 / ours_rate,
            peer=None if peer_rate is None else 1 / peer_rate,
            peer_name="mlflow.log_metric",
            unit="s/call",
            min_ratio=500.0,
            max_ours=1 / 100_000,
            note=note + f"ours {ours_rate:,.0f} points/s, all {stored:,} points read back "
            "from the store after the run ended",
        )
    )

    ours_frame = ours_runs_dataframe(total_runs, repeat)
    try:
        peer_frame: float | None = mlflow_search_runs(total_runs, repeat)
        note = ""
    except ImportError:
        peer_frame, note = None, "mlflow not installed: pip install -e '.[bench]'"
    rows.append(
        Result(
            target=f"mm.runs() of {total_runs:,} runs into a DataFrame",
            ours=ours_frame,
            peer=peer_frame,
            peer_name="mlflow.search_runs",
            min_ratio=10.0,
            note=note,
        )
    )
    print(f"  (metrics benchmarks took {time.perf_counter() - started:.0f} s)")
    return rows


if __name__ == "__main__":  # pragma: no cover - convenience for a single group
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import print_table

    print_table(run("--quick" in sys.argv))
