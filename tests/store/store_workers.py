"""Child-process bodies for the multi-process store tests (spawned, so importable)."""

from __future__ import annotations

import multiprocessing
import os
import time

from jupyter_mm import ids
from jupyter_mm.entities import Metric, Param, Run
from jupyter_mm.store import open_store

SPAWN = multiprocessing.get_context("spawn")


def write_runs(location, runs: int, barrier, results, worker: int) -> None:
    """Child process: open the store and record ``runs`` runs with params and metrics."""
    try:
        with open_store(location) as store:
            barrier.wait(timeout=60)
            for i in range(runs):
                run = store.create_run(
                    Run(id=ids.new_id(), name=f"w{worker}-{i}", start_time=time.time())
                )
                store.log_batch(
                    run.id,
                    params=[Param("worker", str(worker)), Param("i", str(i)), Param("lr", "0.1")],
                    metrics=[Metric("loss", 1 / (s + 1), s, time.time()) for s in range(10)],
                )
                run.status, run.end_time = "finished", time.time()
                store.update_run(run)
        results.put((worker, "ok"))
    except BaseException as exc:  # reported to the parent, which fails the test
        results.put((worker, f"{type(exc).__name__}: {exc}"))


def open_fresh(location, barrier, results, _index: int) -> None:
    """Child process: open a store that does not exist yet; report how often this process
    ran the Alembic upgrade."""
    try:
        import jupyter_mm.store.sql.engine as engine

        upgrades = []
        original = engine._upgrade

        def counting_upgrade(conn):
            upgrades.append(os.getpid())
            original(conn)

        engine._upgrade = counting_upgrade
        barrier.wait(timeout=60)
        with open_store(location) as store:
            version = store.schema_version()
        results.put(("ok", version, len(upgrades)))
    except BaseException as exc:
        results.put((f"{type(exc).__name__}: {exc}", None, 0))


def run_at_once(target, count: int, *args, timeout: float = 180) -> list:
    """Start ``count`` spawned processes running ``target(*args, barrier, results, index)``
    that pass a shared barrier together; return what each put on the results queue."""
    barrier, results = SPAWN.Barrier(count), SPAWN.Queue()
    procs = [
        SPAWN.Process(target=target, args=(*args, barrier, results, index))
        for index in range(count)
    ]
    for proc in procs:
        proc.start()
    try:
        return [results.get(timeout=timeout) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
