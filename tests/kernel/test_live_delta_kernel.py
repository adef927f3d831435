"""Delta live snapshots (issue #5) in a real ipykernel with ``%load_ext jupyter_mm``, sent the
way the lab extension sends them: a full snapshot first on a new comm, then only the changed
cells. Checked: the delta run's checkpoint is the one a full snapshot gives, a delta the
kernel cannot rebuild is answered with a resync and the run falls back to the saved file
with one warning, a snapshot whose cell was interrupted still advances the base, and
closing the comm drops the base."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from .conftest import RUN_MIME, execute, open_comm, send_shell

pytestmark = pytest.mark.kernel

TRACKED = "%%track -q\ndelta_value = 6 * 7\ndelta_value"


def make_notebook() -> dict:
    nb = new_notebook(cells=[new_code_cell(f"setup_{i} = {i}") for i in range(5)])
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"setup-{i}"
    tracked = new_code_cell(TRACKED)
    tracked["id"] = "tracked"
    nb.cells.append(tracked)
    return json.loads(json.dumps(nb))


def snapshot(nb: dict, seq: int | None, base: int | None = None, changed=()) -> dict:
    cells = nb["cells"]
    if base is not None:
        cells = [cell if cell["id"] in changed else cell["id"] for cell in cells]
    return {
        "type": "snapshot",
        "cell_id": "tracked",
        "path": "/work/delta.ipynb",
        "seq": seq,
        "base": base,
        "notebook": {**nb, "cells": cells},
    }


def send_snapshot(kc: Any, comm_id: str, data: Any) -> list[dict]:
    """Send one comm message; return what the kernel answered on the comm while handling it."""
    msg = kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
    kc.shell_channel.send(msg)
    answers = []
    while True:
        out = kc.get_iopub_msg(timeout=30)
        if out["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
            continue
        if out["msg_type"] == "comm_msg":
            answers.append(out["content"]["data"])
        elif out["msg_type"] == "status" and out["content"]["execution_state"] == "idle":
            return answers


def base_seq(kc: Any, comm_id: str) -> Any:
    code = (
        "print(get_ipython().magics_manager.registry['TrackMagics']"
        f".channel.live.base_seq({comm_id!r}))"
    )
    return execute(kc, code).stdout.strip()


def tracked_run(kc: Any, store: Any) -> tuple[Any, Any]:
    result = execute(kc, TRACKED, cell_id="tracked")
    assert result.status == "ok", result.errors
    assert result.results[0]["text/plain"] == "42", "the cell's own result is intact"
    assert not any(RUN_MIME in d for d in result.displays), "-q: no run card"
    run_id = execute(
        kc, "print(get_ipython().magics_manager.registry['TrackMagics'].last_run.run.id)"
    ).stdout.strip()
    return result, store.get_run(run_id)


def as_run_by_lab(nb: dict, count: int) -> dict:
    """``nb`` after JupyterLab ran the tracked cell: its count and output are in the model."""
    ran = copy.deepcopy(nb)
    ran["cells"][-1]["execution_count"] = count
    ran["cells"][-1]["outputs"] = [
        json.loads(
            json.dumps(new_output("execute_result", {"text/plain": "42"}, execution_count=count))
        )
    ]
    return ran


def test_a_delta_run_checkpoints_what_a_full_snapshot_would(kernel, store):
    from jupyter_mm.capture.checkpoint import load_checkpoint

    nb = make_notebook()
    comm_id = open_comm(kernel)
    assert send_snapshot(kernel, comm_id, snapshot(nb, seq=1)) == []
    _, first = tracked_run(kernel, store)
    edited = as_run_by_lab(nb, 7)
    edited["cells"][1]["source"] = "setup_1 = 'unsaved edit'"
    assert send_snapshot(kernel, comm_id, snapshot(edited, 2, 1, {"tracked", "setup-1"})) == []
    _, second = tracked_run(kernel, store)
    assert base_seq(kernel, comm_id) == "2"

    other = open_comm(kernel)  # a fresh comm: the full snapshot of the same notebook
    assert send_snapshot(kernel, other, snapshot(edited, seq=1)) == []
    _, third = tracked_run(kernel, store)

    assert [r.checkpoint_source for r in (first, second, third)] == ["live"] * 3
    assert second.warnings == [] and second.cell_id == "tracked"
    assert second.checkpoint_digest == third.checkpoint_digest != first.checkpoint_digest
    saved = load_checkpoint(store.blobs, second.checkpoint_digest)
    assert saved.cells[1].source == "setup_1 = 'unsaved edit'"
    # the tracked cell as it starts: the previous run's count and output are not this run's
    assert (saved.cells[-1].execution_count, saved.cells[-1].outputs) == (None, [])


def test_rerunning_an_unchanged_tracked_cell_stores_no_new_blob(kernel, store):
    """JupyterLab's snapshot holds the tracked cell with the previous run's count and output;
    the checkpoint clears them, so a re-run of the same notebook reuses every blob."""
    nb = make_notebook()
    comm_id = open_comm(kernel)
    assert send_snapshot(kernel, comm_id, snapshot(nb, seq=1)) == []
    _, first = tracked_run(kernel, store)
    blobs_after_first = set(store.blobs.iter_digests())
    for seq, count in ((2, 11), (3, 12)):
        ran = as_run_by_lab(nb, count)
        assert send_snapshot(kernel, comm_id, snapshot(ran, seq, seq - 1, {"tracked"})) == []
        _, again = tracked_run(kernel, store)
        assert again.checkpoint_source == "live" and again.warnings == []
        assert again.checkpoint_digest == first.checkpoint_digest
    assert set(store.blobs.iter_digests()) == blobs_after_first


def test_a_frontend_with_nothing_new_sends_nothing_and_its_base_serves(kernel_pair, store):
    """Re-running the tracked cell of an unchanged notebook: no comm message; the kernel
    checkpoints the base of the comm whose messages share the request's client session.
    A request from another client (another session) gets no live checkpoint from it."""
    km, kc = kernel_pair
    counter = (
        "print(get_ipython().magics_manager.registry['TrackMagics'].channel.live.bases_reused)"
    )
    nb = make_notebook()
    nb["cells"][2]["source"] = "setup_2 = 'only on screen'"
    comm_id = open_comm(kc)
    assert send_snapshot(kc, comm_id, snapshot(nb, seq=1)) == []
    _, sent = tracked_run(kc, store)
    reused = int(execute(kc, counter).stdout)
    _, unsent = tracked_run(kc, store)  # nothing sent for this run
    assert int(execute(kc, counter).stdout) == reused + 1
    assert (unsent.checkpoint_source, unsent.warnings) == ("live", [])
    assert unsent.checkpoint_digest == sent.checkpoint_digest

    from jupyter_client.session import Session

    other = km.client()  # another frontend connection: its own client session
    other.session = Session(key=kc.session.key, signature_scheme=kc.session.signature_scheme)
    assert other.session.session != kc.session.session
    other.start_channels()
    try:
        other.wait_for_ready(timeout=30)
        _, foreign = tracked_run(other, store)
    finally:
        other.stop_channels()
    assert foreign.checkpoint_source != "live"
    assert int(execute(kc, counter).stdout) == reused + 1
    send_shell(kc, "comm_close", {"comm_id": comm_id, "data": {}})


def test_a_base_mismatch_resyncs_and_the_run_falls_back_to_the_file(kernel, store, workdir):
    nb = make_notebook()
    path = workdir / "delta-saved.ipynb"
    nbformat.write(nbformat.from_dict(nb), path)
    comm_id = open_comm(kernel)
    assert send_snapshot(kernel, comm_id, snapshot(nb, seq=1)) == []
    execute(kernel, f"import os; os.environ['JPY_SESSION_NAME'] = {str(path)!r}")
    try:
        answers = send_snapshot(kernel, comm_id, snapshot(nb, 5, 4, {"tracked"}))
        _, run = tracked_run(kernel, store)
    finally:
        execute(kernel, "os.environ.pop('JPY_SESSION_NAME', None)")
    assert [a["type"] for a in answers] == ["resync"]
    assert "holds 1" in answers[0]["message"]
    assert (run.checkpoint_source, run.notebook_path) == ("file", str(path))
    assert len(run.warnings) == 1 and "sent by the frontend was unusable" in run.warnings[0]
    assert base_seq(kernel, comm_id) == "None"
    # what the frontend does on a resync: the whole notebook again, then deltas
    assert send_snapshot(kernel, comm_id, snapshot(nb, seq=6)) == []
    assert send_snapshot(kernel, comm_id, snapshot(nb, 7, 6, {"tracked"})) == []
    _, run = tracked_run(kernel, store)
    assert run.checkpoint_source == "live" and run.warnings == []


def test_a_snapshot_for_an_interrupted_cell_still_advances_the_base(kernel_pair, store):
    km, kc = kernel_pair
    nb = make_notebook()
    comm_id = open_comm(kc)
    sleeper = kc.execute(
        "import time\nprint('sleeping', flush=True)\ntime.sleep(60)", stop_on_error=True
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the sleeper sleeps: what follows waits in the queue
        out = kc.get_iopub_msg(timeout=30)
        # its own output, not execute_input: that comes before the cell's pre-run hooks, and
        # an interrupt sent then would land before the sleep it is meant to stop
        if out["parent_header"].get("msg_id") == sleeper and out["msg_type"] == "stream":
            break
    send_shell(kc, "comm_msg", {"comm_id": comm_id, "data": snapshot(nb, seq=1)})
    queued = kc.execute(TRACKED, stop_on_error=True)
    km.interrupt_kernel()
    replies = {}
    while len(replies) < 2:
        reply = kc.get_shell_msg(timeout=30)
        replies[reply["parent_header"].get("msg_id")] = reply["content"]
    assert replies[sleeper]["ename"] == "KeyboardInterrupt"
    assert replies[queued]["status"] == "aborted", "the tracked cell never ran"
    assert base_seq(kc, comm_id) == "1"
    ran = as_run_by_lab(nb, 3)
    assert send_snapshot(kc, comm_id, snapshot(ran, 2, 1, {"tracked"})) == []
    _, run = tracked_run(kc, store)
    assert run.checkpoint_source == "live" and run.warnings == []


def test_closing_the_comm_drops_its_base(kernel):
    comm_id = open_comm(kernel)
    assert send_snapshot(kernel, comm_id, snapshot(make_notebook(), seq=3)) == []
    assert base_seq(kernel, comm_id) == "3"
    send_shell(kernel, "comm_close", {"comm_id": comm_id, "data": {}})
    assert base_seq(kernel, comm_id) == "None"


@pytest.mark.parametrize(
    ("change", "answer"),
    [
        ({"cells": ["setup-0", "no-such-cell"]}, "resync"),
        ({"cells": ["setup-0", 12]}, "error"),
        ({"cells": ["setup-0", "setup-0"]}, "error"),
        ({"seq": 10**30}, "error"),
        ({"base": -3}, "error"),
    ],
    ids=["unknown-id", "non-string-entry", "duplicate-ids", "huge-seq", "negative-base"],
)
def test_hostile_deltas_are_answered_and_the_cell_still_runs(kernel, store, change, answer):
    nb = make_notebook()
    comm_id = open_comm(kernel)
    assert send_snapshot(kernel, comm_id, snapshot(nb, seq=1)) == []
    message = snapshot(nb, 2, 1, {"tracked"})
    if "cells" in change:
        message["notebook"]["cells"] = change["cells"]
    else:
        message.update(change)
    answers = send_snapshot(kernel, comm_id, message)
    assert [a["type"] for a in answers] == [answer]
    assert answers[0]["message"].endswith(".")
    _, run = tracked_run(kernel, store)  # no session file here: the history checkpoint
    assert run.checkpoint_source == "history"
    assert len(run.warnings) == 1 and "unusable" in run.warnings[0]
