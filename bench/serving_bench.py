"""Serving: `jupyter mm serve` against `mlflow models serve --env-manager local`, the same
scikit-learn model (the quickstart's: scaled logistic regression on the breast-cancer data),
the same load generator and concurrency, in one run. Also the prediction log's cost and
throughput, and swaps under load.

    pip install -e ".[bench]"       # MLflow
    python bench/run.py --only serving

Targets: throughput >= 2x MLflow's requests/s and p99 <= 1/2 of MLflow's, with prediction
logging on (also measured with two worker processes each, ``--workers 2``); logging adds <= 0.3 ms to p50; mm.log_predictions >= 20 000 rows/s; bytes per
logged prediction of a 20-feature model (10M predictions <= 1 GB means <= 100 B each);
0 failed requests across 20 swaps at full load.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import Result

REPO = Path(__file__).resolve().parents[1]
CONCURRENCY = 8


def _port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(port: int, path: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = process.stderr.read().decode(errors="replace")[-2000:] if process.stderr else ""
            raise RuntimeError(f"server exited with {process.returncode}: {said}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        time.sleep(0.3)
    raise TimeoutError(f"no answer on port {port}")


def load(port: int, body: bytes, seconds: float) -> dict[str, float]:
    """CONCURRENCY keep-alive clients for ``seconds``: requests/s, p50, p99 (ms), failures."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                conn.request("POST", "/invocations", body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            if ok:
                mine.append(time.perf_counter() - started)
            else:
                with lock:
                    failures[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return summary(latencies, seconds, failures[0])


def summary(latencies: list[float], seconds: float, failures: int) -> dict[str, float]:
    latencies = sorted(latencies)
    return {
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "failures": failures,
        "latencies": latencies,  # type: ignore[dict-item]
    }


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of ``pid`` and its descendants so far (Linux /proc), or None
    where there is no /proc: a server's workers, and uvicorn under ``mlflow models serve``,
    are child processes."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        stats = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError):
                    with open(f"/proc/{entry}/stat") as handle:
                        fields = handle.read().rsplit(")", 1)[1].split()
                    stats[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    except OSError:
        return None
    tree, total, frontier = {pid}, 0, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, _ticks) in stats.items():
            if ppid == parent and child not in tree:
                tree.add(child)
                frontier.append(child)
    total = sum(stats[p][1] for p in tree if p in stats)
    return total / tick


def interleaved(
    ports: dict[str, int], pids: dict[str, int], body: bytes, seconds: float, rounds: int
) -> dict:
    """Load each server in turn, ``rounds`` times, ``seconds / rounds`` each, and pool the
    results: on a shared machine the load changes by the minute, and measuring the servers
    one after another would hand that change to whichever ran in the quiet minute. Each
    result has ``cpu_ms``: the server's CPU time (all its processes) per answered request,
    which the other work on the machine changes much less than wall-clock rates."""
    pooled: dict[str, list[float]] = {name: [] for name in ports}
    failures = dict.fromkeys(ports, 0)
    cpu = dict.fromkeys(ports, 0.0)
    for _ in range(rounds):
        for name, port in ports.items():
            before = cpu_seconds(pids[name])
            outcome = load(port, body, seconds / rounds)
            after = cpu_seconds(pids[name])
            pooled[name] += outcome["latencies"]
            failures[name] += outcome["failures"]
            if before is not None and after is not None:
                cpu[name] += after - before
    results = {name: summary(pooled[name], seconds, failures[name]) for name in ports}
    for name, result in results.items():
        result["cpu_ms"] = cpu[name] * 1000 / max(len(pooled[name]), 1)
    return results


def _model():
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer(as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    return model.fit(data.data, data.target), data.data


def _commands(version: int, mlflow_model: Path) -> dict[str, list[str]]:
    """The servers compared: ours with and without the log, MLflow; then both with two
    worker processes (``--workers 2``)."""
    ours = [sys.executable, "-m", "jupyter_mm.cli", "serve", f"bench/{version}"]
    mlflow = [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(mlflow_model),
              "--env-manager", "local", "-h", "127.0.0.1"]  # fmt: skip
    return {
        "ours": ours,
        "ours-nolog": [*ours, "--no-log"],
        "mlflow": mlflow,
        "ours-w2": [*ours, "--workers", "2"],
        "mlflow-w2": [*mlflow, "--workers", "2"],
    }


def _compare(servers: dict[str, list[str]], work: Path, env: dict, body: bytes, quick: bool):
    seconds = 5.0 if quick else 20.0
    processes: dict[str, subprocess.Popen] = {}
    ports = {name: _port() for name in servers}
    try:
        for name, command in servers.items():
            with (work / f"{name}.log").open("wb") as log:  # a pipe nobody reads fills up
                processes[name] = subprocess.Popen(
                    [*command, "--port", str(ports[name])],
                    env=env, stdout=subprocess.DEVNULL, stderr=log,
                )  # fmt: skip
        for name in servers:
            _wait(ports[name], "/ping", processes[name])
            load(ports[name], body, 2.0)  # warm-up
        pids = {name: process.pid for name, process in processes.items()}
        return interleaved(ports, pids, body, seconds, rounds=2 if quick else 5)
    finally:
        for process in processes.values():
            process.terminate()
            process.wait(timeout=60)


def _comparison_rows(results: dict, served: list) -> list[Result]:
    served_rows = sum(b.rows for b in served)
    ours, nolog, peer = results["ours"], results["ours-nolog"], results["mlflow"]
    ours2, peer2 = results["ours-w2"], results["mlflow-w2"]
    ms = 1 / 1000  # Result takes seconds for "ms" rows
    return [
        Result("15 serve req/s (1 row, 8 clients)", 1 / ours["rps"], 1 / peer["rps"],
               "mlflow models serve", unit="ms", min_ratio=2.0,
               note=f"time per request; {ours['rps']:.0f} vs {peer['rps']:.0f} req/s"),
        Result("15 serve p99 latency", ours["p99"] * ms, peer["p99"] * ms,
               "mlflow models serve", min_ratio=2.0),
        Result("15 serve p50 latency", ours["p50"] * ms, peer["p50"] * ms,
               "mlflow models serve"),
        Result("15 serve CPU time per request (all server processes)", ours["cpu_ms"] * ms,
               peer["cpu_ms"] * ms, "mlflow models serve"),
        Result("15 serve req/s, --workers 2 each", 1 / ours2["rps"], 1 / peer2["rps"],
               "mlflow --workers 2", unit="ms", min_ratio=2.0,
               note=f"time per request; {ours2['rps']:.0f} vs {peer2['rps']:.0f} req/s; CPU "
               f"{ours2['cpu_ms']:.2f} vs {peer2['cpu_ms']:.2f} ms per request"),
        Result("15 serve p99 latency, --workers 2 each", ours2["p99"] * ms, peer2["p99"] * ms,
               "mlflow --workers 2", min_ratio=2.0),
        Result("15 prediction log added to p50", max(0.0, ours["p50"] - nolog["p50"]) * ms,
               None, "", max_ours=0.3 * ms,
               note=f"{ours['p50']:.3f} vs {nolog['p50']:.3f} ms (--no-log), "
               f"{nolog['rps']:.0f} req/s without the log"),
        Result("15 bytes per served prediction (30 float64 features)",
               sum(b.size for b in served) / max(served_rows, 1), None, "", unit="B",
               note=f"{served_rows:,} logged while serving, {len(served)} batches, "
               "with class scores, latency and time"),
    ]  # fmt: skip


def run(quick: bool) -> list[Result]:
    import mlflow.sklearn

    import jupyter_mm as mm
    from jupyter_mm import tracking
    from jupyter_mm.store import open_store

    work = Path(tempfile.mkdtemp(prefix="mm-serve-bench-"))
    url = f"sqlite:///{work / 'store' / 'mm.db'}"
    env = dict(os.environ, JUPYTER_MM_STORE=url)
    store = open_store(url)
    tracking.set_default_store(store)
    model, X = _model()
    with mm.start_run("bench") as run:
        mm.log_model(model, "model", input_example=X.head(5))
    version = mm.register_model(run.id, "model", "bench", store=store)
    body = json.dumps(
        {"dataframe_split": {"columns": list(X.columns), "data": X.head(1).values.tolist()}}
    ).encode()
    mlflow.sklearn.save_model(model, str(work / "mlflow-model"))
    results = _compare(_commands(version.version, work / "mlflow-model"), work, env, body, quick)
    rows = _comparison_rows(results, store.prediction_batches("bench", version=version.version))
    rows.append(_log_cost(store, model, X, version))
    rows += _batch_rows(store, quick)
    rows.append(_swaps(url, env, body, version, store, quick))
    tracking.set_default_store(None)
    store.close()
    shutil.rmtree(work, ignore_errors=True)
    return rows


def _log_cost(store, model, X, version) -> Result:
    """What logging one request costs the interpreter, measured in-process: the append on
    the request path plus the writer's whole flush (stacking, class scores, Parquet, blob,
    index row) divided by the requests it wrote. The serving process has one interpreter, so
    this bounds what the log can add to a request's latency; the p50 difference between
    the two servers above is within the machine's noise."""
    import warnings

    import numpy as np

    from jupyter_mm.serving.deployment import LoadedModel, accepts_array
    from jupyter_mm.serving.predlog import PredictionLogWriter

    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    # flushes of the size a 1-second interval sees at a few hundred requests per second
    flushes, per_flush = 10, 500
    requests = flushes * per_flush
    served = LoadedModel(version, model, tuple(X.columns), accepts_array(model, version.signature))
    rows = X.head(1).to_numpy()
    predictions = served.predict(rows)
    writer = PredictionLogWriter(store, interval=3600.0, source="bench")
    added = flushed = 0.0
    try:
        for flush in range(flushes):
            started = time.perf_counter()
            for n in range(per_flush):
                request_id = f"{flush * per_flush + n:032x}"
                writer.add(served, "champion", (request_id, time.time(), 1.0, rows, predictions))
            added += time.perf_counter() - started
            started = time.perf_counter()
            writer.flush()
            flushed += time.perf_counter() - started
    finally:
        writer.close()
    assert writer.written_rows == requests and not writer.failures, writer.failures
    per_request = (added + flushed) / requests
    return Result("15 prediction log interpreter time per request", per_request, None, "",
                  max_ours=0.3e-3, note=f"append {added / requests * 1e6:.1f} µs + flush "
                  f"{flushed / requests * 1e6:.1f} µs per request ({flushes} flushes of {per_flush} "
                  f"1-row requests, {np.shape(rows)[1]} features, class scores included)")  # fmt: skip


def _batch_rows(store, quick: bool) -> list[Result]:
    """mm.log_predictions of large frames of a 20-feature model: rows/s and bytes/row, up
    to 10M predictions (1M-row frames, each drawn afresh)."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import jupyter_mm as mm

    rows, frames = (100_000, 1) if quick else (1_000_000, 10)
    rng = np.random.default_rng(0)
    columns = [f"f{i}" for i in range(20)]
    X = pd.DataFrame(rng.normal(size=(rows, 20)).astype("float32"), columns=columns)
    model = LogisticRegression().fit(X.head(5000), (X["f0"].head(5000) > 0).astype(int))
    with mm.start_run("bench-20") as run:
        mm.log_model(model, "model", input_example=X.head(5))
    version = mm.register_model(run.id, "model", "bench20", store=store)
    took = []
    for frame in range(frames):
        if frame:
            X = pd.DataFrame(rng.normal(size=(rows, 20)).astype("float32"), columns=columns)
        y = model.predict(X)
        started = time.perf_counter()
        mm.log_predictions(f"bench20/{version.version}", X, y, store=store)
        took.append(time.perf_counter() - started)
    total = rows * frames
    size = sum(b.size for b in store.prediction_batches("bench20"))
    return [
        Result("15 mm.log_predictions rows/s", statistics.median(took) / rows * 1e6, None, "",
               unit="µs/row", max_ours=50.0,
               note=f"{rows / statistics.median(took):,.0f} rows/s, {rows:,}-row frames"),
        Result(f"15 bytes per logged prediction (20 features, {total:,} rows)", size / total,
               None, "", unit="B", max_ours=100.0,
               note=f"float32 features, random (incompressible mantissas); {total:,} rows = "
               f"{size / 1e9:.3f} GB, 10M rows ~ {size / total * 1e7 / 1e9:.2f} GB"),
    ]  # fmt: skip


def _swaps(url, env, body, version, store, quick: bool) -> Result:
    """20 promotions back and forth at full load: failed requests."""
    import jupyter_mm as mm

    second = mm.register_model(version.run_id, "model", "bench", store=store)
    mm.transition("bench", version.version, "staging", store=store)
    mm.transition("bench", version.version, "production", store=store)
    mm.transition("bench", second.version, "staging", store=store)
    port = _port()
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_mm.cli", "serve", "bench@production", "--port",
         str(port), "--poll", "0.2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    swaps = 6 if quick else 20
    outcome: dict[str, float] = {}
    try:
        _wait(port, "/ping", process)
        loader = threading.Thread(target=lambda: outcome.update(load(port, body, swaps * 1.0 + 2)))
        loader.start()
        for index in range(swaps):
            time.sleep(1.0)
            if index % 2 == 0:
                if store.get_version("bench", second.version).stage != "staging":
                    mm.transition("bench", second.version, "staging", store=store)
                mm.transition("bench", second.version, "production", store=store)
            else:
                mm.rollback("bench", store=store)
        loader.join()
    finally:
        process.terminate()
        process.wait(timeout=60)
    return Result(f"15 failed requests across {swaps} swaps at full load", outcome["failures"],
                  None, "", unit="requests", max_ours=0,
                  note=f"{outcome['rps']:.0f} req/s during the swaps")  # fmt: skip
