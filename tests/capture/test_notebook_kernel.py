"""The comm protocol and the execution log against a real ipykernel, as JupyterLab drives it:
a snapshot on the ``jupyter_mm`` comm, then an execute request carrying ``metadata.cellId``."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel
from kernel.conftest import execute, send_shell  # tests/kernel/conftest.py
from nbformat.v4 import new_code_cell, new_notebook

REPO = str(Path(__file__).resolve().parents[2])

SETUP = """
from comm import get_comm_manager
from jupyter_mm.capture.execution import ExecutionRecorder
from jupyter_mm.capture.notebook import COMM_TARGET, LiveSnapshots, capture_notebook
live = LiveSnapshots()
get_comm_manager().register_target(COMM_TARGET, live.comm_opened)
recorder = ExecutionRecorder(get_ipython())
recorder.register()
"""


@pytest.fixture(scope="module")
def kernel():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO, env.get("PYTHONPATH")]))
    env.pop("JPY_SESSION_NAME", None)
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    try:
        reply = kc.execute_interactive(SETUP, timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def run(kc, code: str, cell_id: str | None = None) -> str:
    """Execute like JupyterLab does (cellId in the request metadata); return what the cell
    printed, failing on an error."""
    result = execute(kc, code, cell_id, timeout=30)
    if result.errors:
        raise AssertionError("\n".join(result.errors[0]["traceback"]))
    return result.stdout + result.stderr


def test_snapshot_on_the_comm_reaches_the_tracked_cell(kernel):
    notebook = new_notebook(cells=[new_code_cell("a = 1"), new_code_cell("print('tracked')")])
    notebook.cells[0]["id"], notebook.cells[1]["id"] = "first", "second"
    comm_id = uuid.uuid4().hex
    send_shell(kernel, "comm_open", {"comm_id": comm_id, "target_name": "jupyter_mm", "data": {}})
    send_shell(
        kernel,
        "comm_msg",
        {
            "comm_id": comm_id,
            "data": {
                "type": "snapshot",
                "cell_id": "second",
                "path": "/x/a.ipynb",
                "notebook": notebook,
            },
        },
    )
    code = (
        "snap = capture_notebook(get_ipython(), "
        "cell_id=get_ipython().kernel.get_parent()['metadata'].get('cellId'), "
        "raw_cell=\"print('tracked')\", live=live)\n"
        "import json; print(json.dumps([snap.source, snap.path, snap.cell_id, "
        "[c.source for c in snap.notebook.cells]]))"
    )
    result = json.loads(run(kernel, code, cell_id="second"))
    assert result == ["live", "/x/a.ipynb", "second", ["a = 1", "print('tracked')"]]

    # A malformed message is answered on the comm and changes nothing in the kernel.
    send_shell(kernel, "comm_msg", {"comm_id": comm_id, "data": {"type": "snapshot"}})
    while True:
        reply = kernel.get_iopub_msg(timeout=30)
        if reply["msg_type"] == "comm_msg":
            break
    assert reply["content"]["comm_id"] == comm_id
    assert reply["content"]["data"]["type"] == "error"
    assert "nbformat v4" in reply["content"]["data"]["message"]
    assert run(kernel, "print(len(live))").strip() == "0"


def test_recorder_sees_jupyterlab_cell_ids(kernel):
    run(kernel, "import json")
    run(kernel, "x = 1", cell_id="cell-a")
    run(kernel, "y = x + 1", cell_id="cell-b")
    run(kernel, "z = 3")  # nbclient-style request without a cell id
    out = run(kernel, "print(json.dumps([(e.count, e.cell_id) for e in recorder.entries()][-4:]))")
    entries = json.loads(out)
    counts = [c for c, _ in entries]
    assert [i for _, i in entries] == ["cell-a", "cell-b", None, None]
    assert counts == sorted(counts) and len(set(counts)) == 4


def test_comm_opened_answers_a_stale_delta_with_resync_and_forgets_on_close(kernel):
    notebook = new_notebook(cells=[new_code_cell("a = 1")])
    notebook.cells[0]["id"] = "only"
    comm_id = uuid.uuid4().hex
    send_shell(kernel, "comm_open", {"comm_id": comm_id, "target_name": "jupyter_mm", "data": {}})
    snapshot = {"type": "snapshot", "cell_id": "only", "path": None, "notebook": notebook}
    send_shell(kernel, "comm_msg", {"comm_id": comm_id, "data": {**snapshot, "seq": 1}})
    assert run(kernel, f"print(live.base_seq({comm_id!r}))").strip() == "1"
    delta = {**snapshot, "seq": 3, "base": 2, "notebook": {**notebook, "cells": ["only"]}}
    send_shell(kernel, "comm_msg", {"comm_id": comm_id, "data": delta})
    while True:
        reply = kernel.get_iopub_msg(timeout=30)
        if reply["msg_type"] == "comm_msg":
            break
    assert reply["content"]["data"]["type"] == "resync"
    # the refused delta left its reason for the tracked cell, which the magic reports
    assert "must send the whole notebook" in run(
        kernel, "try:\n    live.take('only')\nexcept Exception as exc:\n    print(exc)"
    )
    send_shell(kernel, "comm_msg", {"comm_id": comm_id, "data": {**snapshot, "seq": 4}})
    assert run(kernel, f"print(live.base_seq({comm_id!r}))").strip() == "4"
    send_shell(kernel, "comm_close", {"comm_id": comm_id, "data": {}})
    assert run(kernel, f"print(live.base_seq({comm_id!r}))").strip() == "None"
    # the last full snapshot (it superseded the first) is still waiting: consume it
    drain = "print(len(live)); live.take(None); print(len(live))"
    assert run(kernel, drain).split() == ["1", "0"]
