"""Real kernels for the ``%%track`` tests, driven the way JupyterLab drives them: execute
requests carry ``metadata.cellId``, live snapshots arrive on the ``jupyter_mm`` comm, and
every message the kernel sends back for a request is collected."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel

REPO = str(Path(__file__).resolve().parents[2])
RUN_MIME = "application/vnd.jupyter-mm.run+json"


@dataclass
class Execution:
    """Everything the kernel sent back for one execute request."""

    reply: dict[str, Any]
    stdout: str = ""
    stderr: str = ""
    results: list[dict[str, Any]] = field(default_factory=list)  # execute_result data
    displays: list[dict[str, Any]] = field(default_factory=list)  # display_data data
    errors: list[dict[str, Any]] = field(default_factory=list)  # error contents
    comm_msgs: list[dict[str, Any]] = field(default_factory=list)  # kernel -> frontend data
    order: list[str] = field(default_factory=list)  # iopub msg types in order

    @property
    def status(self) -> str:
        return str(self.reply["status"])

    @property
    def cards(self) -> list[dict[str, Any]]:
        return [d for d in self.displays if RUN_MIME in d]


def kernel_env(store_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO, env.get("PYTHONPATH")]))
    env["JUPYTER_MM_STORE"] = store_url
    for name in ("JPY_SESSION_NAME", "JUPYTER_MM_ARTIFACTS"):
        env.pop(name, None)
    return env


def start_kernel(store_url: str, cwd: str) -> tuple[Any, Any]:
    km, kc = start_new_kernel(kernel_name="python3", env=kernel_env(store_url), cwd=cwd)
    execute(kc, "%load_ext jupyter_mm")
    return km, kc


def execute(
    kc: Any,
    code: str,
    cell_id: str | None = None,
    timeout: float = 60,
    after_send: Callable[[], None] | None = None,
) -> Execution:
    """Send an execute request like JupyterLab (cellId in the metadata) and collect output;
    ``after_send`` runs once the request is sent (to interrupt the kernel, for example)."""
    msg = kc.session.msg(
        "execute_request",
        {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": False,
        },
        metadata={"cellId": cell_id} if cell_id else {},
    )
    kc.shell_channel.send(msg)
    if after_send is not None:
        after_send()
    msg_id = msg["header"]["msg_id"]
    result = Execution(reply={})
    while True:
        out = kc.get_iopub_msg(timeout=timeout)
        if out["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = out["msg_type"], out["content"]
        result.order.append(kind)
        if kind == "stream":
            if content["name"] == "stdout":
                result.stdout += content["text"]
            else:
                result.stderr += content["text"]
        elif kind == "execute_result":
            result.results.append(content["data"])
        elif kind == "display_data":
            result.displays.append(content["data"])
        elif kind == "error":
            result.errors.append(content)
        elif kind == "comm_msg":
            result.comm_msgs.append(content["data"])
        elif kind == "status" and content["execution_state"] == "idle":
            break
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            result.reply = reply["content"]
            return result


def send_shell(kc: Any, msg_type: str, content: dict[str, Any]) -> None:
    kc.shell_channel.send(kc.session.msg(msg_type, content))


def open_comm(kc: Any) -> str:
    comm_id = uuid.uuid4().hex
    send_shell(kc, "comm_open", {"comm_id": comm_id, "target_name": "jupyter_mm", "data": {}})
    return comm_id


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("track")


@pytest.fixture(scope="module")
def store_url(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'store' / 'mm.db'}"


@pytest.fixture(scope="module")
def kernel_pair(store_url: str, workdir: Path):
    """(KernelManager, BlockingKernelClient) of the module's kernel."""
    km, kc = start_kernel(store_url, str(workdir))
    try:
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def kernel(kernel_pair):
    return kernel_pair[1]


@pytest.fixture
def store(store_url: str):
    from jupyter_mm.store import open_store

    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()
