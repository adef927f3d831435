"""Listing runs through the REST API from a store of 100k runs.

A SQLite store is filled with 100,000 runs over 100 notebooks (each with three metric
points and an execution log like a real session's) through the store's own row conversion,
one bulk insert of runs per batch and the store's own write of metric points (which keeps
``latest_metrics`` up to date): creating them one transaction at a time through
``create_run`` would measure the bench's set-up, not the listing. Then a real
``jupyter server`` subprocess with the jupyter_mm extension serves the store, and the
listing the sidebar makes is timed over a kept-alive HTTP connection:

* the first page of 50 (all notebooks), newest first, with metric columns;
* the first page of one notebook's runs (the sidebar's default) by root-relative path;
* a page 90,000 runs deep (keyset paging: should cost what the first page costs);
* the first page filtered by a common and by a rarer status;
* the first page filtered by a metric threshold (one matching 20% of the runs, one matching
  the oldest 1%), ordered by a metric (best ``acc`` first, with 2,000-run ties), ordered by
  one metric and filtered by another, and a page 50,000 runs deep in a metric order;
* informational: a text search (a LIKE scan over every run) and the metric names.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from _common import Result, median_seconds

from jupyter_mm.config import DB_FILE, OBJECTS_DIR, STORE_DIR_NAME, StoreLocation, ensure_store_dir
from jupyter_mm.entities import ExecutionEntry, Metric, MetricOrder, ReproFlag, Run
from jupyter_mm.ids import new_id
from jupyter_mm.store import open_store
from jupyter_mm.store.sql import convert
from jupyter_mm.store.sql.paging import encode_token
from jupyter_mm.store.sql.run_listing import _encode_metric_token
from jupyter_mm.store.sql.store import ARTIFACTS, DATA, METRICS, PARAMS, RUNS

RUNS_TOTAL = 100_000
NOTEBOOKS = 100
BATCH = 5_000
T0 = 1_700_000_000.0


INFO_NOTES = {
    "text search over 100k runs (REST)": "a LIKE scan over every run: grows with the store",
}


def acc_of(i: int) -> float:
    """The bench's ``acc`` of run ``i``: 50 distinct values, each shared by 2% of the runs."""
    return 0.5 + (i % 50) / 100


def build_store(root: Path, total: int) -> list[tuple[float, str]]:
    """Fill ``root/.jupyter_mm`` with ``total`` runs; return their (start_time, id), oldest
    first (run ``i`` is the i-th)."""
    directory = ensure_store_dir(root / STORE_DIR_NAME)
    location = StoreLocation(
        url=f"sqlite:///{directory / DB_FILE}",
        artifact_root=str(directory / OBJECTS_DIR),
        directory=directory,
    )
    keys: list[tuple[float, str]] = []
    statuses = ("finished",) * 8 + ("failed", "crashed")
    log = [ExecutionEntry(i, f"cell-{i}", f"{i:064x}") for i in range(1, 21)]
    with open_store(location) as store:
        engine = store._writer  # the bench's one-off bulk path, through the write engine
        for start in range(0, total, BATCH):
            run_rows, metric_rows = [], []
            for i in range(start, min(start + BATCH, total)):
                start_time = T0 + i * 0.5
                run = Run(
                    id=new_id(),
                    name=f"run {i}",
                    status=statuses[i % len(statuses)],
                    start_time=start_time,
                    end_time=start_time + 3.0,
                    notebook_path=str(root / f"project/nb{i % NOTEBOOKS:03d}.ipynb"),
                    cell_id="train",
                    user="bench",
                    host="bench-host",
                    checkpoint_source="live",
                    execution_log=log,
                    flags=[ReproFlag("out_of_order", "Cell 3 ran after cell 5.")] if i % 7 else [],
                    warnings=[],
                )
                keys.append((start_time, run.id))
                run_rows.append(convert.run_values(run))
                metric_rows += convert.metric_rows(
                    run.id,
                    [
                        Metric("loss", 1.0 / (i + 1), 0, start_time),
                        Metric("acc", acc_of(i), 0, start_time),
                        Metric("f1", 0.4, 0, start_time),
                    ],
                )
            with engine.begin() as conn:
                conn.execute(RUNS.insert(), run_rows)
                # what log_batch writes: the points and their latest_metrics rows
                records = {PARAMS: [], METRICS: metric_rows, DATA: [], ARTIFACTS: []}
                store._write_records(conn, records)
    return keys


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A real ``jupyter server`` with jupyter_mm, its root and store in ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        runtime = root / "runtime"
        env = dict(
            os.environ,
            JUPYTER_MM_STORE=f"sqlite:///{root / STORE_DIR_NAME / DB_FILE}",
            JUPYTER_MM_ARTIFACTS=str(root / STORE_DIR_NAME / OBJECTS_DIR),
            JUPYTER_RUNTIME_DIR=str(runtime),
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                "--no-browser",
                f"--port={self.port}",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={root}",
                "--ServerApp.jpserver_extensions={'jupyter_mm': True}",
                "--ServerApp.log_level=WARN",
                "--allow-root",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.get("info")
                return
            except (OSError, http.client.HTTPException):
                self.conn.close()
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.close()
                    raise RuntimeError("jupyter server did not start") from None
                time.sleep(0.2)

    def get(self, endpoint: str, **params: str) -> dict:
        query = f"?{urlencode(params)}" if params else ""
        self.conn.request(
            "GET",
            f"/jupyter-mm/api/{endpoint}{query}",
            headers={"Authorization": f"token {self.token}"},
        )
        response = self.conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {endpoint}: {response.status} {body[:300]!r}")
        return json.loads(body)

    def close(self) -> None:
        self.conn.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def run(quick: bool) -> list[Result]:
    repeat = 15 if quick else 61
    rows: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        keys = build_store(root, RUNS_TOTAL)
        print(f"  (100k-run store built in {time.perf_counter() - started:.0f} s)")
        by_acc = sorted(((acc_of(i), run_id) for i, (_, run_id) in enumerate(keys)), reverse=True)
        keys.sort(reverse=True)  # newest first, as the listing
        deep_time, deep_id = keys[90_000 - 1]
        deep_token = encode_token("newest", deep_time, deep_id)
        deep_acc_token = _encode_metric_token(MetricOrder("acc"), *by_acc[50_000 - 1])
        server = Server(root)
        try:
            first = server.get("runs", limit="50")
            assert len(first["runs"]) == 50 and first["runs"][0]["id"] == keys[0][1]
            deep = server.get("runs", limit="50", page_token=deep_token)
            assert deep["runs"][0]["id"] == keys[90_000][1]
            best = server.get("runs", limit="50", order="metric:acc:desc")
            assert [r["id"] for r in best["runs"]] == [run_id for _, run_id in by_acc[:50]]
            deep_acc = server.get(
                "runs", limit="50", order="metric:acc:desc", page_token=deep_acc_token
            )
            assert deep_acc["runs"][0]["id"] == by_acc[50_000][1]
            oldest = server.get("runs", limit="50", metric_filter="loss>=0.001")
            # loss = 1/(i+1) >= 0.001 holds for the 1,000 oldest runs: the newest of them first
            assert [r["id"] for r in oldest["runs"]] == [k[1] for k in keys[99_000:99_050]]
            cases = [
                ("first page of 50 of 100k runs (REST)", {"limit": "50"}, 0.050),
                (
                    "first page of one notebook's runs (REST)",
                    {"limit": "50", "notebook": "project/nb042.ipynb", "metrics": "loss,acc"},
                    0.050,
                ),
                ("page 90,000 runs deep (REST)", {"limit": "50", "page_token": deep_token}, 0.050),
                (
                    "status filter, 80% of 100k runs (REST)",
                    {"limit": "50", "status": "finished"},
                    0.050,
                ),
                (
                    "status filter, 10% of 100k runs (REST)",
                    {"limit": "50", "status": "crashed"},
                    0.050,
                ),
                (
                    "metric filter acc>=0.9, 20% of 100k runs (REST)",
                    {"limit": "50", "metric_filter": "acc>=0.9"},
                    0.050,
                ),
                (
                    "metric filter matching the oldest 1% of 100k runs (REST)",
                    {"limit": "50", "metric_filter": "loss>=0.001"},
                    0.050,
                ),
                (
                    "sorted by a metric, 100k runs (REST)",
                    {"limit": "50", "order": "metric:acc:desc", "metrics": "acc,loss"},
                    0.050,
                ),
                (
                    "sorted by a metric, filtered by another (REST)",
                    {"limit": "50", "order": "metric:loss:asc", "metric_filter": "acc>=0.9"},
                    0.050,
                ),
                (
                    "page 50,000 runs deep, sorted by a metric (REST)",
                    {"limit": "50", "order": "metric:acc:desc", "page_token": deep_acc_token},
                    0.050,
                ),
                ("text search over 100k runs (REST)", {"limit": "50", "q": "run 9999"}, None),
            ]
            for target, params, ceiling in cases:
                seconds = median_seconds(lambda p=params: server.get("runs", **p), repeat)
                rows.append(
                    Result(
                        target=target,
                        ours=seconds,
                        peer=None,
                        peer_name="",
                        max_ours=ceiling,
                        note="median over a kept-alive connection, real jupyter server"
                        if ceiling
                        else "informational: " + INFO_NOTES[target],
                    )
                )
            seconds = median_seconds(
                lambda: server.get("runs/metric-names", notebook="project/nb042.ipynb"), repeat
            )
            rows.append(
                Result(
                    target="metric names of one notebook (REST)",
                    ours=seconds,
                    peer=None,
                    peer_name="",
                )
            )
        finally:
            server.close()
    return rows


if __name__ == "__main__":
    from _common import print_table

    print_table(run("--quick" in sys.argv))
