"""A tracked cell's own outputs are kept with its run: printed text, display data, the
inline matplotlib figure, the result and the error, while the user sees exactly what they
would see without tracking."""

from __future__ import annotations

import base64
import subprocess
import sys

from .conftest import execute

GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"

REPORT_CELL = f"""%%track -q --name report
from IPython.display import HTML, display
import matplotlib.pyplot as plt
print("accuracy 0.93")
print("token {GITHUB}")
display(HTML("<b>confusion matrix</b>"))
plt.plot([1, 2, 3], [3, 1, 2])
{{"acc": 0.93}}"""


def _png(data: dict) -> bytes:
    return base64.b64decode(data["image/png"])


def test_print_display_figure_and_result_are_kept_with_the_run(kernel, store, store_url, tmp_path):
    execute(kernel, "%matplotlib inline")
    seen = execute(kernel, REPORT_CELL, cell_id="report")
    assert seen.status == "ok", seen.reply
    # what the user sees is unchanged: the text, the HTML, the figure, the result
    assert seen.stdout == f"accuracy 0.93\ntoken {GITHUB}\n"
    assert any("text/html" in d for d in seen.displays)
    figures = [d for d in seen.displays if "image/png" in d]
    assert len(figures) == 1 and seen.results[0]["text/plain"] == "{'acc': 0.93}"

    run = store.resolve_run("latest")
    outputs = store.get_run_detail(run.id).outputs
    kinds = [o["output_type"] for o in outputs]
    assert kinds == ["stream", "display_data", "display_data", "execute_result"], outputs
    stream, html, figure, result = outputs
    assert stream["name"] == "stdout" and stream["text"].startswith("accuracy 0.93\ntoken ")
    assert GITHUB not in stream["text"] and "‹redacted:" in stream["text"]
    assert html["data"]["text/html"] == "<b>confusion matrix</b>"
    assert _png(figure["data"]) == _png(figures[0])  # the bytes the notebook got
    assert result["data"]["text/plain"] == "{'acc': 0.93}"
    assert any(flag.kind == "redacted_output" for flag in run.flags)
    # the figure is a large output: its own blob, linked to the run
    assert run.outputs_digest is not None

    shown = subprocess.run(
        [sys.executable, "-m", "jupyter_mm.cli", "--store", store_url, "show", run.id],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Outputs" in shown and "accuracy 0.93" in shown and "image/png" in shown

    target = tmp_path / "restored.ipynb"
    cli = [sys.executable, "-m", "jupyter_mm.cli", "--store", store_url]
    subprocess.run(
        [*cli, "checkout", run.id, "-o", str(target)],
        check=True,
        capture_output=True,
    )
    import nbformat

    restored = nbformat.read(target, as_version=4)
    tracked = next(c for c in restored.cells if c.get("id") == run.cell_id)
    assert [o["output_type"] for o in tracked.outputs] == kinds
    assert tracked.execution_count == run.execution_log[-1].count is not None
    assert tracked.outputs[-1]["execution_count"] == tracked.execution_count


def test_a_failing_cell_keeps_what_it_printed_and_its_error(kernel, store):
    seen = execute(
        kernel, '%%track -q\nprint("epoch 1 done")\nraise ValueError("lr too high")', cell_id="bad"
    )
    assert seen.status == "error" and seen.errors[0]["ename"] == "ValueError"
    run = store.resolve_run("latest")
    assert run.status == "failed"
    outputs = store.get_run_detail(run.id).outputs
    assert [o["output_type"] for o in outputs] == ["stream", "error"]
    assert outputs[0]["text"] == "epoch 1 done\n"
    assert outputs[1]["ename"] == "ValueError" and outputs[1]["evalue"] == "lr too high"
    assert any("lr too high" in line for line in outputs[1]["traceback"])


def test_a_cell_that_shows_nothing_stores_no_outputs(kernel, store):
    seen = execute(kernel, "%%track -q\nquiet = 1", cell_id="quiet")
    assert seen.status == "ok"
    run = store.resolve_run("latest")
    assert run.outputs_digest is None and store.get_run_detail(run.id).outputs == []


def test_display_updates_and_clear_output_are_kept_as_the_notebook_shows_them(kernel, store):
    cell = """%%track -q
from IPython.display import clear_output, display, update_display
display({"text/plain": "epoch 1"}, raw=True, display_id="progress")
update_display({"text/plain": "epoch 2"}, raw=True, display_id="progress")
display({"text/plain": "stale"}, raw=True)
clear_output(wait=True)
display({"text/plain": "final"}, raw=True)
print("done")"""
    assert execute(kernel, cell, cell_id="progress").status == "ok"
    outputs = store.get_run_detail(store.resolve_run("latest").id).outputs
    assert [o.get("text") or o["data"]["text/plain"] for o in outputs] == ["final", "done\n"]
