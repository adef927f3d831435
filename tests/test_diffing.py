"""Run diffs on a real SQLite store, with runs written through the store API and real nbdime."""

from __future__ import annotations

import json
import math
import time

import nbdime
import nbformat
import pytest
from nbdime.diff_utils import to_diffentry_dicts
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

import jupyter_mm
from jupyter_mm.capture.checkpoint import store_checkpoint
from jupyter_mm.diffing import RunDiff, diff, diff_runs
from jupyter_mm.entities import DataRef, Environment, Metric, Param, Run
from jupyter_mm.errors import AmbiguousReference, NotFound
from jupyter_mm.ids import new_id


def notebook(lr: str, loss_output: str) -> nbformat.NotebookNode:
    load = new_code_cell("df = load('train.csv')", execution_count=1)
    load["id"] = "load"
    train = new_code_cell(f"%%track\nlr = {lr}\nfit(df, lr)", execution_count=2)
    train["id"] = "train"
    train.outputs = [new_output("stream", name="stdout", text=loss_output)]
    intro = new_markdown_cell("# Training")
    intro["id"] = "intro"
    return new_notebook(cells=[intro, load, train])


def environment(packages: dict[str, str]) -> Environment:
    return Environment(
        id="env-" + "-".join(f"{k}{v}" for k, v in sorted(packages.items())),
        python="3.11.9",
        platform="Linux-x86_64",
        packages=packages,
    )


def record_run(
    store,
    name: str,
    *,
    nb: nbformat.NotebookNode | None,
    params: dict[str, str],
    metrics: list[Metric],
    data: list[DataRef],
    env: Environment | None,
) -> Run:
    """Write a run the way tracking does: row, checkpoint blobs, records, environment."""
    run = store.create_run(Run(id=new_id(), name=name, start_time=time.time()))
    if nb is not None:
        digest, digests, _ = store_checkpoint(store.blobs, nb)
        store.link_blobs(run.id, digests)
        run.checkpoint_digest, run.checkpoint_source = digest, "live"
    if env is not None:
        run.environment_id = store.put_environment(env)
    run.status, run.end_time = "finished", time.time()
    store.update_run(run)
    store.log_batch(
        run.id,
        params=[Param(k, v) for k, v in params.items()],
        metrics=metrics,
        data=data,
    )
    return run


def ref(name: str, role: str, digest: str) -> DataRef:
    return DataRef(name, role, "file", 10, "blake3", digest)


@pytest.fixture
def two_runs(tmp_store):
    return _two_runs(tmp_store)


def _two_runs(store):
    a = record_run(
        store,
        "baseline",
        nb=notebook("0.1", "loss 0.5\n"),
        params={"lr": "0.1", "epochs": "10", "seed": "1"},
        metrics=[Metric("acc", 0.70, 0, 1.0), Metric("acc", 0.80, 1, 2.0), Metric("loss", 0.5)],
        data=[
            ref("/d/train.csv", "input", "aa" * 32),
            ref("/d/test.csv", "input", "bb" * 32),
            ref("/d/model.pkl", "output", "cc" * 32),
        ],
        env=environment({"numpy": "1.26.4", "pandas": "2.2.0", "scipy": "1.13.0"}),
    )
    b = record_run(
        store,
        "tuned",
        nb=notebook("0.01", "loss 0.3\n"),
        params={"lr": "0.01", "epochs": "10", "batch": "64"},
        metrics=[Metric("acc", 0.90, 0, 1.0), Metric("acc", 0.85, 3, 2.0), Metric("f1", 0.7)],
        data=[
            ref("/d/train.csv", "input", "dd" * 32),
            ref("/d/test.csv", "input", "bb" * 32),
            ref("/d/extra.csv", "input", "ee" * 32),
        ],
        env=environment({"numpy": "2.0.0", "pandas": "2.2.0", "torch": "2.3.0"}),
    )
    return store, a, b


def rows(table: list[dict], *keys: str) -> dict[str, tuple]:
    return {r["name"]: tuple(r[k] for k in keys) for r in table}


def test_tables_side_by_side(two_runs):
    store, a, b = two_runs
    result = diff_runs(store, a.id, b.id)
    assert isinstance(result, RunDiff)
    assert (result.a.id, result.b.id) == (a.id, b.id)
    assert rows(result.params, "a", "b", "change") == {
        "batch": (None, "64", "added"),
        "epochs": ("10", "10", "same"),
        "lr": ("0.1", "0.01", "changed"),
        "seed": ("1", None, "removed"),
    }
    metrics = rows(result.metrics, "a", "b", "change")
    assert metrics == {
        "acc": (0.80, 0.85, "changed"),  # the value at the highest step, not the last logged
        "f1": (None, 0.7, "added"),
        "loss": (0.5, None, "removed"),
    }
    acc = next(r for r in result.metrics if r["name"] == "acc")
    assert acc["delta"] == pytest.approx(0.05)
    data = {(r["name"], r["role"]): (r["change"], r["a"], r["b"]) for r in result.data}
    assert data[("/d/train.csv", "input")] == (
        "changed",
        "blake3:" + "aa" * 32,
        "blake3:" + "dd" * 32,
    )
    assert data[("/d/test.csv", "input")][0] == "same"
    assert data[("/d/model.pkl", "output")][0] == "removed"
    assert data[("/d/extra.csv", "input")][0] == "added"
    assert rows(result.packages, "a", "b", "change") == {
        "numpy": ("1.26.4", "2.0.0", "changed"),
        "scipy": ("1.13.0", None, "removed"),
        "torch": (None, "2.3.0", "added"),
    }
    assert result.warnings == []


def test_notebook_diff_is_nbdimes_and_patches_a_into_b(two_runs):
    store, a, b = two_runs
    result = diff_runs(store, a.id, b.id)
    nb_b = notebook("0.01", "loss 0.3\n")
    assert nbdime.patch(result.base, result.notebook_diff) == nb_b
    assert result.base == notebook("0.1", "loss 0.5\n")


def test_ignore_outputs_diffs_sources_only(tmp_store):
    common = dict(params={}, metrics=[], data=[], env=None)
    a = record_run(tmp_store, "a", nb=notebook("0.1", "loss 0.5\n"), **common)
    b = record_run(tmp_store, "b", nb=notebook("0.1", "loss 0.4\n"), **common)
    assert diff_runs(tmp_store, a.id, b.id).notebook_diff, "outputs differ"
    result = diff_runs(tmp_store, a.id, b.id, ignore_outputs=True)
    assert result.notebook_diff == []
    assert result.ignore_outputs and all(
        c.get("outputs", []) == [] for c in result.base.cells if c.cell_type == "code"
    )
    assert "no changes" in result.to_text()


def test_to_dict_is_the_served_json(two_runs):
    store, a, b = two_runs
    payload = diff_runs(store, a.id, b.id).to_dict()
    assert {"a", "b", "notebook", "params", "metrics", "data", "packages"} <= set(payload)
    assert set(payload["notebook"]) == {"base", "diff"}
    assert payload["a"]["id"] == a.id and payload["b"]["name"] == "tuned"
    # strict JSON (no NaN), and what the frontend gets back patches like the original
    decoded = json.loads(json.dumps(payload, allow_nan=False))
    served_diff = to_diffentry_dicts(decoded["notebook"]["diff"])
    assert nbdime.patch(decoded["notebook"]["base"], served_diff) == notebook("0.01", "loss 0.3\n")


def test_non_finite_metrics_stay_strict_json(tmp_store):
    common = dict(nb=None, params={}, data=[], env=None)
    a = record_run(tmp_store, "a", metrics=[Metric("loss", math.nan)], **common)
    b = record_run(tmp_store, "b", metrics=[Metric("loss", math.inf)], **common)
    result = diff_runs(tmp_store, a.id, b.id)
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert payload["metrics"][0]["a"] == "nan" and payload["metrics"][0]["b"] == "inf"
    same = diff_runs(tmp_store, a.id, a.id)
    assert same.metrics[0]["change"] == "same"


def test_run_without_checkpoint_diffs_against_an_empty_notebook(tmp_store):
    common = dict(params={}, metrics=[], data=[], env=None)
    a = record_run(tmp_store, "plain-python", nb=None, **common)
    b = record_run(tmp_store, "notebook", nb=notebook("1", "x\n"), **common)
    result = diff_runs(tmp_store, a.id, b.id)
    assert result.base.cells == []
    assert nbdime.patch(result.base, result.notebook_diff) == notebook("1", "x\n")
    assert any("Run A has no notebook checkpoint" in w for w in result.warnings)
    assert any("No environment was recorded for either run" in w for w in result.warnings)


def test_a_damaged_checkpoint_is_a_warning_not_a_crash(tmp_store):
    common = dict(params={"p": "1"}, metrics=[], data=[], env=None)
    a = record_run(tmp_store, "a", nb=notebook("1", "x\n"), **common)
    b = record_run(tmp_store, "b", nb=notebook("2", "y\n"), **common)
    cell_digest = json.loads(tmp_store.blobs.get_bytes(a.checkpoint_digest))["cells"][1]
    tmp_store.blobs.delete(cell_digest)
    result = diff_runs(tmp_store, a.id, b.id)
    assert any(
        "Run A's checkpoint cannot be loaded" in w and "missing" in w for w in result.warnings
    )
    assert result.params[0]["change"] == "same", "the tables are still there"


def test_references_resolve_like_everywhere_else(two_runs):
    store, a, b = two_runs
    result = diff_runs(store, a.id[:10].lower(), "latest")
    assert (result.a.id, result.b.id) == (a.id, b.id)
    assert diff_runs(store, a, b).b.id == b.id, "Run objects are accepted too"
    with pytest.raises(NotFound):
        diff_runs(store, "ZZZZZZZZ", b.id)
    with pytest.raises(AmbiguousReference):
        diff_runs(store, a.id[:4], b.id)  # both ids share their millisecond prefix


def test_to_text_renders_nbdime_and_aligned_tables(two_runs):
    store, a, b = two_runs
    text = diff_runs(store, a.id, b.id).to_text()
    assert text.startswith(f"A: {a.id} baseline [finished]\nB: {b.id} tuned [finished]\n")
    # nbdime's rendering of the source and output changes
    assert "## modified /cells/2/source:" in text
    assert "-  lr = 0.1\n+  lr = 0.01" in text
    assert "-  loss 0.5\n+  loss 0.3" in text
    params = text.split("== Params\n")[1].split("\n\n")[0].splitlines()
    assert params[0].split() == ["name", "A", "B"]
    assert params[1:4] == [
        "+  batch  —    64",
        "~  lr     0.1  0.01",
        "-  seed   1    —",
    ]
    assert params[4] == "1 unchanged"
    assert "~  acc   0.8  0.85  +0.05" in text
    assert "\x1b[" not in text, "no colour unless asked"
    assert "\x1b[" in diff_runs(store, a.id, b.id).to_text(color=True)


def test_html_for_notebooks(two_runs):
    store, a, b = two_runs
    page = diff_runs(store, a.id, b.id)._repr_html_()
    assert page.count("<table>") == 4
    assert "<td>lr</td><td>0.1</td><td>0.01</td>" in page
    assert "lr = 0.01" in page


def test_public_diff_uses_the_default_store(two_runs, tmp_path, monkeypatch):
    store, a, b = two_runs
    monkeypatch.setenv("JUPYTER_MM_STORE", store.url)
    monkeypatch.chdir(tmp_path)
    result = jupyter_mm.diff(a.id, b.id)
    assert result.b.name == "tuned" and result.params
    assert diff(a.id, b.id, store=store).to_dict() == result.to_dict()


def test_same_diff_on_sqlite_and_postgresql(store):
    """The diff only uses the store API, so both backends must give the same answer."""
    store, a, b = _two_runs(store)
    payload = diff_runs(store, a.id, b.id).to_dict()
    assert [r["change"] for r in payload["params"]] == ["added", "same", "changed", "removed"]
    assert [r["name"] for r in payload["packages"]] == ["numpy", "scipy", "torch"]
    assert nbdime.patch(diff_runs(store, a.id, b.id).base, payload["notebook"]["diff"]) == (
        notebook("0.01", "loss 0.3\n")
    )


def test_package_names_match_across_spellings(tmp_store):
    common = dict(nb=None, params={}, metrics=[], data=[])
    a = record_run(
        tmp_store, "a", env=environment({"scikit_learn": "1.4.0", "Pillow": "10"}), **common
    )
    b = record_run(
        tmp_store, "b", env=environment({"scikit-learn": "1.5.0", "pillow": "10"}), **common
    )
    result = diff_runs(tmp_store, a.id, b.id)
    assert result.packages == [
        {"name": "scikit-learn", "a": "1.4.0", "b": "1.5.0", "change": "changed"}
    ]
    assert diff_runs(tmp_store, a.id, a.id).packages == []


def test_terminal_diff_shows_run_cards_as_text_and_tells_long_paths_apart(tmp_store) -> None:
    """Run cards in the checkpoints are summarized, not dumped as their JSON bundle (which
    names the store); data paths show relative to the notebook and keep their distinct ends."""
    from jupyter_mm.runner import RUN_MIME

    def with_card(run_id: str, acc: str) -> nbformat.NotebookNode:
        nb = notebook("0.1", "loss 0.5\n")
        card = new_output(
            "display_data",
            data={
                RUN_MIME: {"id": run_id, "store_url": "sqlite:////srv/secret-place/mm.db"},
                "text/plain": f"run {run_id} finished · acc {acc}",
            },
        )
        nb.cells[2].outputs.append(card)
        return nb

    folder = "/srv/projects/churn-model/notebooks"
    deep = f"{folder}/data/very/long/partition/path/that/goes/on/and/on"
    data_a = [ref(f"{deep}/year=2024/part-0001.parquet", "input", "a" * 64)]
    data_b = [ref(f"{deep}/year=2025/part-0001.parquet", "input", "b" * 64)]
    runs = []
    for name, acc, data in (("a", "0.91", data_a), ("b", "0.93", data_b)):
        run = record_run(
            tmp_store, name, nb=with_card(name, acc), params={}, metrics=[], data=data, env=None
        )
        runs.append(run)
    diffed = diff_runs(tmp_store, runs[0].id, runs[1].id)
    diffed.a.notebook_path = diffed.b.notebook_path = f"{folder}/train.ipynb"
    text = diffed.to_text()
    assert RUN_MIME not in text and "secret-place" not in text
    assert "acc 0.93" in text  # the summary's change is still shown
    rows = [line for line in text.splitlines() if "part-0001" in line]
    assert len(rows) == 2 and rows[0].split()[1] != rows[1].split()[1]
    assert all(not row.split()[1].startswith("/") for row in rows)
    assert any("2024" in row for row in rows) or any("…" in row for row in rows)
