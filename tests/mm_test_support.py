"""Small helpers shared by the suite's fixtures and harnesses (a real PostgreSQL, S3, a
Jupyter server, JupyterHub, ``jupyter mm serve``).

A module of its own, importable from every test directory because ``tests/`` is on
``sys.path`` (``tests/conftest.py`` puts it there); not ``conftest``, which names a
different module in each directory once several are collected.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

import pytest

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[Any], timeout: float) -> None:
    """Ask ``process`` to stop (SIGTERM) and wait up to ``timeout`` seconds; kill it if it
    does not, and reap it."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


def unavailable(reason: str, *, ci_must: str) -> NoReturn:
    """Skip on a developer machine where a component the test needs is missing, fail in CI
    (``CI`` set): a broken CI image must never silently drop part of the suite.
    ``ci_must`` completes "CI must …" in the failure."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must {ci_must}.")
    pytest.skip(reason)


def run_cli(
    *args: str, store: str, cwd: Path, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """``jupyter mm ARGS`` in a subprocess working in ``cwd``, on the store URL ``store``
    (no artifact root from the caller's environment), importing this source tree whether
    or not the package is pip-installed."""
    env = dict(os.environ, JUPYTER_MM_STORE=store)
    env.pop("JUPYTER_MM_ARTIFACTS", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "jupyter_mm.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
