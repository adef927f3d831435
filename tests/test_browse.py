"""``mm.browse()``: the in-notebook browser built from ipywidgets' standard widgets.

The widgets are driven as a user's clicks drive them (values set, buttons clicked) against
a real SQLite store; the last test does it inside a real kernel, where the widgets are
comms the frontend renders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import jupyter_mm as mm
from jupyter_mm import tracking
from jupyter_mm.browser import Browser
from jupyter_mm.errors import MMError
from jupyter_mm.store import open_store

REPO = Path(__file__).resolve().parents[1]
HOSTILE = "<img src=x onerror=alert(1)>\x1b]0;title\x07\u202e"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Three runs of one notebook, one of another, and a registered model with a gate."""
    from sklearn.linear_model import LogisticRegression

    config = tmp_path / "config"
    config.mkdir()
    (config / "jupyter_mm_config.json").write_text(
        json.dumps({"Registry": {"gates": {"production": ["metrics.acc >= 0.95"]}}})
    )
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(config))
    url = f"sqlite:///{tmp_path / 'store' / 'mm.db'}"
    monkeypatch.setenv("JUPYTER_MM_STORE", url)
    monkeypatch.chdir(tmp_path)
    notebook, other = str(tmp_path / "train.ipynb"), str(tmp_path / "other.ipynb")
    model = LogisticRegression().fit([[0.0], [1.0], [0.2], [0.9]], [0, 1, 0, 1])
    store = open_store(url)
    tracking.set_default_store(store)
    ids = []
    for index, (name, acc) in enumerate([("small", 0.90), (HOSTILE, 0.97), ("large", 0.93)]):
        with mm.start_run(name, notebook_path=notebook) as run:
            mm.log_param("C", index)
            for step in range(5):
                mm.log_metric("loss", 1 / (step + 1 + index), step=step)
            mm.log_metric("acc", acc)
            mm.log_model(model, "model")
            ids.append(run.id)
    with mm.start_run("elsewhere", notebook_path=other):
        mm.log_metric("acc", 0.99)
    for run_id in ids[:2]:
        mm.register_model(run_id, "model", "churn", store=store)
    yield store, notebook, ids
    tracking.set_default_store(None)


def test_listing_scope_search_and_metric_order(project) -> None:
    store, notebook, ids = project
    runs = Browser(store, notebook).runs
    assert [v for _label, v in runs.select.options] == ids[::-1]  # newest first
    assert "acc" in runs.metric_columns() and "loss" in runs.metric_columns()
    runs.order.value = "metric:acc:desc"
    assert [v for _label, v in runs.select.options] == [ids[1], ids[2], ids[0]]
    runs.select.value = (ids[0], ids[1])
    assert runs.compare.description == "Compare (2/2)" and not runs.compare.disabled
    runs.scope.value = "all"  # a scope change reloads and forgets the hidden selection
    assert runs.select.value == ()
    assert len(runs.select.options) == 4
    assert "elsewhere" in runs.table.value
    runs.search.value = "large"
    assert [v for _label, v in runs.select.options] == [ids[2]]
    runs.search.value = ""
    runs.status.value = "failed"
    assert runs.select.options == () and "0 runs" in runs.message.value


def test_stored_strings_are_text_never_markup(project) -> None:
    store, notebook, ids = project
    runs = Browser(store, notebook).runs
    label = dict((v, k) for k, v in runs.select.options)[ids[1]]
    assert "\x1b" not in label and "\u202e" not in label and "\\u001b" in label
    runs.select.value = (ids[1],)
    runs.details.click()
    page = runs.output.value + runs.table.value
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "\x1b" not in page and "\u202e" not in page


def test_detail_compare_and_restore(project, tmp_path: Path) -> None:
    store, notebook, ids = project
    runs = Browser(store, notebook).runs
    runs.select.value = (ids[0],)
    runs.details.click()
    assert "<polyline" in runs.output.value  # the loss curve, 5 points
    assert ">C<" in runs.output.value and "Params" in runs.output.value
    runs.select.value = (ids[2], ids[0])
    runs.compare.click()
    assert "Metrics" in runs.output.value and "0.9" in runs.output.value
    runs.select.value = (ids[0],)
    runs.restore.click()  # recorded outside a notebook: no checkpoint, one clear line
    assert "no notebook checkpoint" in runs.message.value


def test_registry_gate_refusal_promotion_and_audit_trail(project) -> None:
    store, notebook, _ids = project
    models = Browser(store, notebook).models
    assert models.model.value == "churn"
    assert models.rollback.disabled  # nothing was ever in production
    models.version.value = 1
    models.stage.value = "production"
    models.promote.click()  # the stage rules: staging comes first
    assert "not allowed" in models.message.value
    for version in (1, 2):
        models.version.value = version
        models.stage.value = "staging"
        models.promote.click()
        assert "is now staging" in models.message.value
    models.version.value = 1
    models.stage.value = "production"
    models.reason.value = "try"
    models.promote.click()  # acc 0.90 misses the gate
    assert "refused" in models.message.value and "acc" in models.message.value
    assert "transition_refused" in models.events.value
    models.version.value = 2
    models.promote.click()
    assert "is now production" in models.message.value
    assert [v.stage for v in store.list_versions("churn")] == ["staging", "production"]


def test_browse_without_a_store_says_so(tmp_path: Path, monkeypatch) -> None:
    tracking.set_default_store(None)
    monkeypatch.setenv("JUPYTER_MM_STORE", f"sqlite:///{tmp_path / 'missing' / 'x' / 'mm.db'}")
    (tmp_path / "missing").write_text("a file where a folder should be")
    with pytest.raises(MMError):
        mm.browse()


@pytest.mark.kernel
def test_browse_in_a_real_kernel_displays_standard_widgets(project, tmp_path: Path) -> None:
    """%mm browse in a kernel: the output is a widget view, and every widget it opens is
    one of ipywidgets' own models (no custom frontend code is needed to render it)."""
    _store, notebook, ids = project
    nbformat.write(nbformat.v4.new_notebook(), notebook)
    code = """
import json, jupyter_mm as mm
%load_ext jupyter_mm
%mm browse
b = mm.browse()
b.runs.order.value = "metric:acc:desc"
b.runs.select.value = tuple(v for _l, v in b.runs.select.options[:2])
b.runs.compare.click()
print("STATE " + json.dumps({"options": [v for _l, v in b.runs.select.options],
                             "compare": b.runs.compare.description,
                             "diff": "Metrics" in b.runs.output.value}))
"""
    script = tmp_path / "drive.py"
    script.write_text(
        "import json, os, sys\n"
        "from jupyter_client.manager import start_new_kernel\n"
        "km, kc = start_new_kernel(env=dict(os.environ), cwd=sys.argv[2])\n"
        "msgs = []\n"
        "reply = kc.execute_interactive(open(sys.argv[1]).read(), timeout=120,\n"
        "                               output_hook=msgs.append)\n"
        "kc.stop_channels(); km.shutdown_kernel(now=True)\n"
        "print(json.dumps({'status': reply['content']['status'], 'msgs': [\n"
        "    {'type': m['msg_type'], 'content': m['content']} for m in msgs]}, default=str))\n"
    )
    (tmp_path / "cell.py").write_text(code)
    env = dict(os.environ, JPY_SESSION_NAME=notebook)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "cell.py"), str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == "ok", result
    msgs = result["msgs"]
    views = [m for m in msgs if m["type"] == "display_data"]
    assert any("application/vnd.jupyter.widget-view+json" in m["content"]["data"] for m in views)
    modules = {
        m["content"]["data"]["state"]["_model_module"]
        for m in msgs
        if m["type"] == "comm_open" and m["content"]["target_name"] == "jupyter.widget"
    }
    assert modules <= {"@jupyter-widgets/controls", "@jupyter-widgets/base"}, modules
    printed = "".join(m["content"].get("text", "") for m in msgs if m["type"] == "stream")
    state = json.loads(printed.split("STATE ", 1)[1])
    assert state == {"options": [ids[1], ids[2], ids[0]], "compare": "Compare (2/2)", "diff": True}


def test_mm_runs_table_is_readable(project) -> None:
    from jupyter_mm.browser.listing import readable_runs

    _store, notebook, ids = project
    shown = readable_runs(mm.runs(notebook=notebook))
    assert list(shown["id"]) == [i[:10] for i in ids[::-1]]
    assert list(shown["notebook"]) == ["train.ipynb"] * 3  # relative to the working dir
    text = shown.to_string()
    assert "NaN" not in text and "nan" not in text and "+00:00" not in text
    assert all(len(s) == 19 for s in shown["start"])  # to the second
    assert "\x1b" not in text
    assert {"acc", "loss", "params.C"} <= set(shown.columns)
