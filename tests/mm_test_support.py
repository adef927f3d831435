"""Small helpers shared by the suite's fixtures and harnesses (a real PostgreSQL, S3, a
Jupyter server, JupyterHub, ``jupyter mm serve``).

A module of its own, importable from every test directory because ``tests/`` is on
``sys.path`` (``tests/conftest.py`` puts it there); not ``conftest``, which names a
different module in each directory once several are collected.
"""

from __future__ import annotations

import os
import socket
from typing import NoReturn

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unavailable(reason: str, *, ci_must: str) -> NoReturn:
    """Skip on a developer machine where a component the test needs is missing, fail in CI
    (``CI`` set): a broken CI image must never silently drop part of the suite.
    ``ci_must`` completes "CI must …" in the failure."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must {ci_must}.")
    pytest.skip(reason)
