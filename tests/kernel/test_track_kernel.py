"""``%%track`` in a real ipykernel: what a user sees in the notebook and what the store holds.

One kernel serves the whole module (starting one costs about a second); tests that change
the kernel's environment restore it before they finish.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from .conftest import RUN_MIME, execute, open_comm, send_shell

pytestmark = pytest.mark.kernel


def card_of(result) -> dict:
    cards = result.cards
    assert len(cards) == 1, (result.displays, result.stderr, result.errors)
    return cards[0][RUN_MIME]


def run_count(store) -> int:
    return len(store.search_runs(limit=1000).runs)


def test_tracked_cell_records_params_metrics_data_and_shows_result(kernel, store, workdir):
    (workdir / "train.csv").write_text("x,y\n1,2\n3,4\n5,6\n")
    code = """%%track --name baseline -p batch -m acc -t team=fraud --note first
import pandas as pd
import jupyter_mm as mm
lr = 0.1
epochs = 3
sizes = [64, 32]
batch = 16 * 2
frame = pd.read_csv("train.csv")
for step in range(3):
    mm.log_metric("loss", 1.0 / (step + 1))
acc = 0.75
frame.to_csv("predictions.csv", index=False)
print("trained on", len(frame), "rows")
acc * 100
"""
    result = execute(kernel, code, cell_id="cell-train")
    assert result.status == "ok", result.errors
    assert "trained on 3 rows" in result.stdout
    # the trailing expression is the cell's result, shown exactly once
    assert [r["text/plain"] for r in result.results] == ["75.0"]
    assert result.stderr == ""
    card = card_of(result)
    bundle = result.cards[0]
    assert bundle["text/plain"].startswith("jupyter-mm run 'baseline'")
    assert "<table" in bundle["text/html"]
    # the card comes after the cell's own output and result
    assert result.order.index("execute_result") < result.order.index("display_data")

    detail = store.get_run_detail(card["run_id"])
    run = detail.run
    assert (run.name, run.status, run.note, run.tags) == (
        "baseline",
        "finished",
        "first",
        {"team": "fraud"},
    )
    assert run.end_time is not None and run.end_time >= run.start_time
    assert run.checkpoint_source == "history" and run.checkpoint_digest
    params = {p.name: p.value for p in detail.params}
    assert params == {"lr": "0.1", "epochs": "3", "sizes": "[64, 32]", "batch": "32"}
    points = [(m.name, m.step, m.value) for m in detail.metrics]
    assert ("acc", 0, 0.75) in points
    assert [p for p in points if p[0] == "loss"] == [
        ("loss", 0, 1.0),
        ("loss", 1, 0.5),
        ("loss", 2, pytest.approx(1 / 3)),
    ]
    data = {(Path(d.name).name, d.role) for d in detail.data}
    assert ("train.csv", "input") in data
    assert ("predictions.csv", "output") in data
    # only the user's files: not the time zone database pandas reads on its first import
    assert {role for _, role in data} == {"input", "output"} and len(data) == 2
    # the environment includes what the cell itself imported
    assert detail.environment is not None and run.environment_id == detail.environment.id
    assert "pandas" in detail.environment.modules
    assert card["params"]["lr"] == "0.1" and card["metrics"]["acc"] == 0.75
    assert card["data"]["inputs"] >= 1 and card["data"]["outputs"] == 1


def test_checkpoint_comes_from_the_saved_notebook_file(kernel, store, workdir):
    source = "%%track -n from-file\nfile_value = 41 + 1\nfile_value"
    notebook = new_notebook(cells=[new_code_cell("import os"), new_code_cell(source)])
    path = workdir / "saved.ipynb"
    nbformat.write(notebook, path)
    execute(kernel, f"import os; os.environ['JPY_SESSION_NAME'] = {str(path)!r}")
    try:
        result = execute(kernel, source)
    finally:
        execute(kernel, "os.environ.pop('JPY_SESSION_NAME', None)")
    assert result.status == "ok" and result.results[0]["text/plain"] == "42"
    run = store.get_run(card_of(result)["run_id"])
    assert run.checkpoint_source == "file"
    assert run.notebook_path == str(path)
    assert run.cell_id == notebook.cells[1]["id"]


def test_live_snapshot_on_the_comm_is_the_checkpoint(kernel, store):
    from jupyter_mm.capture.checkpoint import load_checkpoint

    source = "%%track -n live\nlive_value = 'unsaved edit'"
    notebook = new_notebook(cells=[new_code_cell("setup = 1"), new_code_cell(source)])
    notebook.cells[0]["id"], notebook.cells[1]["id"] = "live-setup", "live-tracked"
    comm_id = open_comm(kernel)
    send_shell(
        kernel,
        "comm_msg",
        {
            "comm_id": comm_id,
            "data": {
                "type": "snapshot",
                "cell_id": "live-tracked",
                "path": "/work/live.ipynb",
                "notebook": notebook,
            },
        },
    )
    result = execute(kernel, source, cell_id="live-tracked")
    assert result.status == "ok", result.errors
    run_id = card_of(result)["run_id"]
    run = store.get_run(run_id)
    assert (run.checkpoint_source, run.cell_id) == ("live", "live-tracked")
    assert run.notebook_path == "/work/live.ipynb"
    saved = load_checkpoint(store.blobs, run.checkpoint_digest)
    assert [c.source for c in saved.cells] == ["setup = 1", source]
    # the sidebar is told about the run on the open comm
    assert {"type": "run", "run_id": run_id, "status": "finished"} in result.comm_msgs


def test_garbage_on_the_comm_is_ignored(kernel):
    comm_id = open_comm(kernel)
    for data in ({"type": "snapshot", "notebook": "nope"}, "text", {"type": "unknown"}):
        send_shell(kernel, "comm_msg", {"comm_id": comm_id, "data": data})
    result = execute(kernel, "%%track -q\nafter_garbage = 1\nafter_garbage")
    assert result.status == "ok" and result.results[0]["text/plain"] == "1"


def test_time_composes_with_track(kernel, store):
    result = execute(kernel, "%%track -n timed\n%%time\ntimed = 2\ntimed * 3")
    assert result.status == "ok", result.errors
    assert "Wall time" in result.stdout
    assert [r["text/plain"] for r in result.results] == ["6"]
    assert store.get_run(card_of(result)["run_id"]).status == "finished"


def test_magics_inside_the_tracked_cell_work(kernel):
    result = execute(
        kernel, "%%track -q\n%env MM_TEST_VAR=on\nimport os\nos.environ['MM_TEST_VAR']"
    )
    assert result.status == "ok", result.errors
    assert result.results[0]["text/plain"] == "'on'"


def test_raising_cell_is_a_failed_run_and_the_user_sees_their_exception(kernel, store):
    code = "%%track -n boom\ndef train():\n    return 1 / 0\nbefore_error = 1\ntrain()"
    result = execute(kernel, code)
    assert result.status == "error"
    assert result.reply["ename"] == "ZeroDivisionError"
    traceback = "\n".join(result.errors[0]["traceback"])
    assert "return 1 / 0" in traceback  # the user's own code is shown
    assert "jupyter_mm" not in traceback  # and none of ours
    run = store.get_run(card_of(result)["run_id"])
    assert run.status == "failed"
    assert run.error.startswith("ZeroDivisionError: division by zero")
    assert execute(kernel, "before_error").results[0]["text/plain"] == "1"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--bogus", "unrecognized arguments: --bogus"),
        ("-t novalue", "--tag takes KEY=VALUE"),
        ("-p nowhere_defined", "--param nowhere_defined is neither a variable"),
        ("-d missing.csv", "--data missing.csv is neither an existing path nor a variable"),
        ("-p 'a b'", "--param takes comma-separated names"),
        ("--name 'unbalanced", "cannot parse the options"),
        ("-m", "expected one argument"),
    ],
)
def test_malformed_magic_line_is_one_line_and_runs_nothing(kernel, store, line, message):
    before = run_count(store)
    result = execute(kernel, f"%%track {line}\nside_effect = 'ran'")
    assert result.status == "error"
    assert result.reply["ename"] == "UsageError"
    assert message in result.reply["evalue"]
    assert "\n" not in result.reply["evalue"]
    assert result.cards == []
    assert run_count(store) == before
    check = execute(kernel, "'side_effect' in globals()")
    assert check.results[0]["text/plain"] == "False"


def test_syntax_error_runs_nothing(kernel, store):
    before = run_count(store)
    result = execute(kernel, "%%track\nsyntax_side = 1\nif True print(2)")
    assert result.reply["ename"] == "SyntaxError"
    assert run_count(store) == before
    assert execute(kernel, "'syntax_side' in globals()").results[0]["text/plain"] == "False"


def test_data_flag_takes_a_variable_and_a_path(kernel, store, workdir):
    (workdir / "labels.txt").write_text("a\nb\n")
    code = (
        "%%track -d labels.txt -d features\nimport numpy as np\nfeatures = np.arange(6.0)\n"
        "features.sum()"
    )
    result = execute(kernel, code)
    assert result.status == "ok", result.errors
    detail = store.get_run_detail(card_of(result)["run_id"])
    refs = {(Path(d.name).name, d.kind, d.role) for d in detail.data}
    assert ("labels.txt", "file", "input") in refs
    assert ("features", "object", "input") in refs


def _unusable_store(kernel, url: str) -> None:
    execute(
        kernel,
        "import os, jupyter_mm.tracking as _t\n"
        f"os.environ['JUPYTER_MM_STORE'] = {url!r}\n"
        "_t.set_default_store(None)",
    )


@pytest.mark.parametrize("kind", ["under-a-file", "not-sqlite"])
def test_unusable_store_keeps_the_result_and_warns_once(kernel, store_url, workdir, kind):
    if kind == "under-a-file":
        blocker = workdir / "blocker"
        blocker.write_text("a regular file, so no directory can be created below it")
        url = f"sqlite:///{blocker / 'store' / 'mm.db'}"
    else:
        bogus = workdir / "bogus-store"
        bogus.mkdir(exist_ok=True)
        (bogus / "mm.db").write_bytes(b"this is not a SQLite database" * 100)
        url = f"sqlite:///{bogus / 'mm.db'}"
    _unusable_store(kernel, url)
    try:
        result = execute(kernel, "%%track -m score\nscore = 0.5\nprint('still works')\nscore * 2")
    finally:
        _unusable_store(kernel, store_url)
    assert result.status == "ok", result.errors
    assert result.stdout == "still works\n"
    assert result.results[0]["text/plain"] == "1.0"
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("jupyter-mm: run not recorded: ")
    assert "Traceback" not in result.stderr and result.cards == []


def test_out_of_order_execution_is_flagged(kernel, store):
    cells = [
        new_code_cell("order_a = 1"),
        new_code_cell("order_b = order_a + 1"),
        new_code_cell("%%track -n ordered\norder_b"),
    ]
    for cell, cell_id in zip(cells, ("ord-a", "ord-b", "ord-c"), strict=True):
        cell["id"] = cell_id
    execute(kernel, "order_a = 1", cell_id="ord-a")
    execute(kernel, "order_b = order_a + 1", cell_id="ord-b")
    execute(kernel, "order_a = 1", cell_id="ord-a")  # re-run above after the cell below
    comm_id = open_comm(kernel)
    snapshot = {"type": "snapshot", "cell_id": "ord-c", "path": None}
    snapshot["notebook"] = new_notebook(cells=cells)
    send_shell(kernel, "comm_msg", {"comm_id": comm_id, "data": snapshot})
    result = execute(kernel, cells[2].source, cell_id="ord-c")
    card = card_of(result)
    run = store.get_run(card["run_id"])
    kinds = {(f.kind, f.cell_id) for f in run.flags}
    assert ("out_of_order", "ord-a") in kinds
    assert run.execution_log[-1].cell_id == "ord-c"
    assert any(f["kind"] == "out_of_order" for f in card["flags"])


def test_nested_start_run_inside_a_tracked_cell(kernel, store):
    code = (
        "%%track -n outer\nimport jupyter_mm as mm\n"
        "with mm.start_run('inner') as inner:\n    mm.log_param('depth', 2)\n"
        "inner.id"
    )
    result = execute(kernel, code)
    inner_id = json.loads(result.results[0]["text/plain"].replace("'", '"'))
    inner = store.get_run(inner_id)
    assert inner.parent_id == card_of(result)["run_id"]
    assert store.params_of([inner_id]) == {inner_id: {"depth": "2"}}


def test_mm_runs_lists_recent_runs(kernel):
    result = execute(kernel, "%mm runs --all -n 3")
    assert result.status == "ok", result.errors
    html = result.displays[0]["text/html"]
    assert html.count("<tr") >= 3 and "status" in html
    bad = execute(kernel, "%mm frobnicate")
    assert bad.reply["ename"] == "UsageError"


def test_mm_show_displays_a_recorded_run(kernel):
    recorded = execute(kernel, "%%track -n shown -q\nshown_value = 3")
    assert recorded.cards == []  # -q: no card
    result = execute(kernel, "%mm show latest")
    assert result.status == "ok", result.errors
    card = card_of(result)
    assert (card["name"], card["status"]) == ("shown", "finished")
    assert card["params"] == {"shown_value": "3"}
    missing = execute(kernel, "%mm show ZZZZZZZZ")
    assert missing.reply["ename"] == "UsageError" and "ZZZZZZZZ" in missing.reply["evalue"]


def test_interrupted_cell_is_a_failed_run(kernel_pair, store):
    import time

    km, kc = kernel_pair
    before = {r.id for r in store.search_runs(limit=1000).runs}
    msg_id = kc.execute("%%track -n interrupted\nimport time\ntime.sleep(60)")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if {r.id for r in store.search_runs(status="running").runs} - before:
            break
        time.sleep(0.1)
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=30)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=30)
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    (run,) = [r for r in store.search_runs(limit=1000).runs if r.id not in before]
    assert (run.name, run.status, run.error) == ("interrupted", "failed", "KeyboardInterrupt")
    assert execute(kc, "1 + 1").results[0]["text/plain"] == "2"  # the kernel goes on
