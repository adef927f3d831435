"""What the shared store costs a tracked run: SQLite + local blobs vs PostgreSQL + S3.

Each row tracks N runs through the Python API (``mm.start_run``: 10 params, 50 metric
points, a 64 KB artifact and a small scikit-learn model), in this process, and reports the
median milliseconds per run over the runs after a warm-up one. Backends: SQLite with a
local ``objects/`` directory (the default store), PostgreSQL with local blobs, and
PostgreSQL with an ``s3://`` artifact root on moto's S3 server on 127.0.0.1 (no network
latency: the row shows the protocol's cost, not a real S3's round trips).

    python bench/team_store_bench.py [--quick]

Needs Debian's PostgreSQL binaries (JUPYTER_MM_PG_BIN, default /usr/lib/postgresql/15/bin)
and the test extra (moto[server], s3fs). Run by hand; never in CI.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Result, print_table

PG_BIN = Path(os.environ.get("JUPYTER_MM_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster (fsync on: a real server's write path)."""
    base = Path(tempfile.mkdtemp(prefix="mm-bench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    data, port = base / "data", _free_port()
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust"]), **run)
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1"
    pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w"]
    subprocess.run(_as_postgres([*pg_ctl, "-o", options, "start"]), **run)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres([*pg_ctl, "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def s3_bucket() -> Iterator[str]:
    """A bucket on moto's S3 server; the AWS variables point at it."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench-secret",
        AWS_DEFAULT_REGION="us-east-1",
    )
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="mm-bench")
    try:
        yield "s3://mm-bench/mm"
    finally:
        server.stop()


def _track(runs: int, workdir: Path) -> list[float]:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    import jupyter_mm as mm

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 8))
    model = LogisticRegression().fit(X, X[:, 0] > 0)
    artifact = workdir / "features.bin"
    times = []
    for index in range(runs):
        artifact.write_bytes(rng.bytes(64 * 1024))
        start = time.perf_counter()
        with mm.start_run(f"bench-{index}"):
            mm.log_params({f"p{i}": i * index for i in range(10)})
            for step in range(50):
                mm.log_metric("loss", 1.0 / (step + 1), step=step)
            mm.log_artifact(str(artifact))
            mm.log_model(model, "clf")
        times.append(time.perf_counter() - start)
    return times[1:]


def _row(label: str, url: str, artifacts: str, runs: int, workdir: Path) -> float:
    from jupyter_mm import tracking

    os.environ["JUPYTER_MM_STORE"] = url
    os.environ["JUPYTER_MM_ARTIFACTS"] = artifacts
    tracking.set_default_store(None)
    try:
        per_run = statistics.median(_track(runs, workdir))
    finally:
        tracking.default_store().close()
        tracking.set_default_store(None)
    print(f"  {label}: {per_run * 1000:.1f} ms per run", file=sys.stderr)
    return per_run


def bench(quick: bool) -> list[Result]:
    runs = 6 if quick else 30
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto logs every request
    workdir = Path(tempfile.mkdtemp(prefix="mm-bench-team-"))
    os.chdir(workdir)
    os.environ["XDG_CACHE_HOME"] = str(workdir / "cache")
    try:
        local = _row("sqlite+local", f"sqlite:///{workdir}/mm.db", "", runs, workdir)
        with postgres() as url, s3_bucket() as root:
            pg_local = _row("postgresql+local", url, str(workdir / "pg-objects"), runs, workdir)
            pg_s3 = _row("postgresql+s3", url, root, runs, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    note = f"median of {runs - 1} runs per backend (moto on 127.0.0.1)"
    return [
        Result("tracked run, PostgreSQL + local blobs", pg_local, local, "SQLite+local", note=note),
        Result("tracked run, PostgreSQL + S3 (moto)", pg_s3, local, "SQLite+local", note=note),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 runs per backend instead of 30")
    args = parser.parse_args(argv)
    print_table(bench(args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
