"""A running run whose process is gone is marked ``crashed`` when a store opens, where
"gone" includes a zombie (killed, not yet reaped by its parent) and a pid now used by
another process (recorded start time differs). Real child processes, real stores."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import insert, inspect

from jupyter_mm import ids
from jupyter_mm.entities import Run
from jupyter_mm.store import open_store, pid_alive
from jupyter_mm.store.processes import process_start_time
from jupyter_mm.store.sql import convert
from jupyter_mm.store.sql.engine import MIGRATIONS_DIR, SCHEMA_HEAD
from jupyter_mm.store.sql.models import RUNS
from jupyter_mm.tracking import new_run

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="zombies and pid start times via /proc"
)

HOST = socket.gethostname()


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
        raw = handle.read()
    return raw[raw.rfind(")") + 2 :].split()[0]


@contextmanager
def zombie() -> Iterator[tuple[int, str | None]]:
    """A child process SIGKILLed and not reaped: (pid, its start time taken while alive)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        started = process_start_time(child.pid)
        os.kill(child.pid, signal.SIGKILL)
        # the kernel makes it a zombie asynchronously; nothing reaps it (no wait() yet)
        for _ in range(1000):
            if _state(child.pid) == "Z":
                break
            time.sleep(0.01)
        assert _state(child.pid) == "Z"
        yield child.pid, started
    finally:
        child.kill()
        child.wait()


def _running(pid: int, started: str | None) -> Run:
    return Run(
        id=ids.new_id(), start_time=time.time(), host=HOST, pid=pid, process_start_time=started
    )


def test_a_zombie_run_is_crashed_when_the_store_opens(local_location) -> None:
    with zombie() as (pid, started):
        assert started is not None and started.startswith("linux:")
        # the premise: the pid still answers kill(pid, 0), as it did before this check
        os.kill(pid, 0)
        with open_store(local_location) as store:
            run = store.create_run(_running(pid, started))
            old_style = store.create_run(_running(pid, None))  # recorded before 0003
        with open_store(local_location) as store:
            assert store.get_run(run.id).status == "crashed"
            assert store.get_run(old_style.id).status == "crashed"
            assert "ended" in store.get_run(run.id).warnings[0]


def test_a_reused_pid_does_not_keep_a_dead_run_running(store) -> None:
    me = os.getpid()
    mine = process_start_time(me)
    assert mine is not None
    boot, ticks = mine.rsplit(":", 1)
    earlier = f"{boot}:{int(ticks) - 1}"  # another process that had this pid before
    reused = store.create_run(_running(me, earlier))
    live = store.create_run(_running(me, mine))
    unknown = store.create_run(_running(me, None))

    assert store.mark_crashed(HOST, pid_alive) == [reused.id]

    assert store.get_run(reused.id).status == "crashed"
    assert store.get_run(live.id).status == "running"
    assert store.get_run(unknown.id).status == "running"  # only the pid to go on
    assert not pid_alive(me, f"linux:another-boot:{ticks}")


def test_a_tracked_run_records_when_its_process_started(tmp_store) -> None:
    run = tmp_store.create_run(new_run("probe"))
    stored = tmp_store.get_run(run.id)
    assert stored.pid == os.getpid()
    assert stored.process_start_time == process_start_time(os.getpid())
    assert stored.process_start_time is not None


def _alembic_config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def test_a_0002_store_is_upgraded_and_its_dead_runs_crashed(local_location) -> None:
    with zombie() as (zombie_pid, _):
        with open_store(local_location) as store:
            with store._writer.begin() as conn:
                command.downgrade(_alembic_config(conn), "0002")
            with store._engine.connect() as conn:
                columns = {c["name"] for c in inspect(conn).get_columns("runs")}
                assert "process_start_time" not in columns
            rows = [
                _running(os.getpid(), None),  # alive: stays running
                _running(zombie_pid, None),  # a zombie: crashed on upgrade
            ]
            with store._writer.begin() as conn:
                conn.execute(
                    insert(RUNS),
                    [
                        {
                            k: v
                            for k, v in convert.run_values(r).items()
                            # the columns later revisions add
                            if k not in ("process_start_time", "outputs_digest")
                        }
                        for r in rows
                    ],
                )
        with open_store(local_location) as store:
            assert store.schema_version() == SCHEMA_HEAD
            assert store.check_integrity() == []
            alive, dead = (store.get_run(r.id) for r in rows)
            assert (alive.status, alive.process_start_time) == ("running", None)
            assert dead.status == "crashed"
            # new runs record their start time in the new column
            fresh = store.create_run(_running(os.getpid(), process_start_time(os.getpid())))
            assert store.get_run(fresh.id).process_start_time == fresh.process_start_time
