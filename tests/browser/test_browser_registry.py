"""The model registry in a real JupyterLab: register from the run detail, promote, a gate
refusal, rollback, the audit trail and lineage down to the notebook checkpoint.

Two runs of a tracked notebook are recorded with `jupyter mm run`: one with accuracy 0.9
(passes the production gate) and one with 0.4 (refused). The gate is a
`jupyter_mm_config.py` in the lab's working directory (its root_dir), which the server
reads on every registry write, so the shared lab needs no restart; it is removed when this
module ends. The tests share one page and run in file order.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_mm import registry
from jupyter_mm.config import ENV_STORE
from jupyter_mm.store import open_store

from .harness import Lab, new_lab_page, run_command, screenshot

pytestmark = pytest.mark.browser

FOLDER = "registry-views"
MODEL = "churn"
GATE = "metrics.accuracy >= 0.8"

TRACKED_CELL = """\
%%track --name train-{label}
accuracy = {accuracy}
mm.log_metric("accuracy", accuracy)
with open("model.txt", "w") as handle:
    handle.write("weights {label}")
mm.log_artifact("model.txt")
"""


@dataclass
class Registry:
    lab: Lab
    page: Any
    good: str
    bad: str
    console_errors: list[str] = field(default_factory=list)


def _record(lab: Lab, folder: Path, label: str, accuracy: float, known: set[str]) -> str:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext jupyter_mm\nimport jupyter_mm as mm"),
        nbformat.v4.new_code_cell(TRACKED_CELL.format(label=label, accuracy=accuracy)),
    ]
    nbformat.write(notebook, str(folder / f"{label}.ipynb"))
    command = [sys.executable, "-m", "jupyter_mm.cli", "run", f"{label}.ipynb"]
    env = dict(os.environ, **{ENV_STORE: lab.store_url})
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    runs = lab.api_json("/runs?limit=50")["runs"]
    (run_id,) = [run["id"] for run in runs if run["id"] not in known][:1]
    known.add(run_id)
    return run_id


@pytest.fixture(scope="module")
def reg(browser: Any, lab: Lab) -> Iterator[Registry]:
    folder = lab.root_dir / FOLDER
    folder.mkdir()
    known = {run["id"] for run in lab.api_json("/runs?limit=200")["runs"]}
    good = _record(lab, folder, "good", 0.9, known)
    bad = _record(lab, folder, "bad", 0.4, known)
    config = lab.root_dir / "jupyter_mm_config.py"
    config.write_text(f"c.Registry.gates = {{'production': [{GATE!r}]}}\n")
    page = new_lab_page(browser, lab)
    state = Registry(lab, page, good, bad)
    page.on("console", lambda m: state.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: state.console_errors.append(str(error)))
    try:
        yield state
    finally:
        page.context.close()
        config.unlink()


@pytest.fixture(scope="module")
def expect() -> Any:
    from playwright.sync_api import expect

    return expect


def model_view(reg: Registry) -> Any:
    return reg.page.locator(f'.jp-mm-Model[data-model="{MODEL}"]')


def version_row(reg: Registry, version: int) -> Any:
    return model_view(reg).locator(f'[data-testid="mm-version-row"][data-version="{version}"]')


def answer_dialog(reg: Registry, field: str, text: str) -> None:
    dialog = reg.page.locator(".jp-Dialog")
    dialog.locator(f'[data-testid="{field}"]').fill(text)
    dialog.locator(".jp-mod-accept").click()


def move(reg: Registry, version: int, stage: str, reason: str) -> None:
    version_row(reg, version).locator(f'[data-testid="mm-promote"][data-stage="{stage}"]').click()
    answer_dialog(reg, "mm-dialog-reason", reason)


def stage_of(reg: Registry, version: int) -> Any:
    return version_row(reg, version).locator(".jp-mm-StageBadge")


def clean_screenshot(reg: Registry, name: str) -> None:
    """A screenshot without the notifications that earlier steps left on the page."""
    for close in reg.page.locator(".Toastify__close-button").all():
        if close.is_visible():
            close.click()
    reg.page.locator(".Toastify__toast").first.wait_for(state="detached")
    screenshot(reg.page, name)


def test_register_an_artifact_from_the_run_detail(reg: Registry, expect: Any) -> None:
    run_command(reg.page, "jupyter-mm:open-run", {"id": reg.good})
    detail = reg.page.locator(f'.jp-mm-RunDetail[data-run-id="{reg.good}"]')
    detail.locator('[data-testid="mm-register-artifact"][data-artifact="model.txt"]').click()
    name = reg.page.locator('.jp-Dialog [data-testid="mm-dialog-model-name"]')
    expect(name).to_have_value("model")  # guessed from the artifact's name
    answer_dialog(reg, "mm-dialog-model-name", MODEL)
    expect(version_row(reg, 1)).to_be_visible()
    expect(stage_of(reg, 1)).to_have_attribute("data-stage", "none")
    expect(version_row(reg, 1)).to_contain_text("0.9")  # the run's accuracy
    panel = reg.page.locator('[data-testid="mm-models"]')
    expect(panel.locator(f'[data-testid="mm-model-row"][data-model="{MODEL}"]')).to_be_visible()
    # the same run's artifact again (v2) and the weak run's (v3) through the Python API
    store = open_store(reg.lab.store_url)
    try:
        registry.register_model(reg.good, "model.txt", MODEL, store=store)
        registry.register_model(reg.bad, "model.txt", MODEL, store=store)
    finally:
        store.close()
    # writes made elsewhere show after the view's reload button
    tab = reg.page.locator(f'.jp-MainAreaWidget:has(> .jp-mm-Model[data-model="{MODEL}"])')
    tab.locator('[data-jp-item-name="refresh"] button').click()
    expect(version_row(reg, 3)).to_be_visible()


def test_promote_to_staging_and_production(reg: Registry, expect: Any) -> None:
    # the Models panel's row opens (here: focuses) the model's tab
    run_command(reg.page, "jupyter-mm:open-models")
    reg.page.locator(f'[data-testid="mm-model-row"][data-model="{MODEL}"]').click()
    expect(model_view(reg)).to_be_visible()
    move(reg, 1, "staging", "offline eval looks fine")
    expect(stage_of(reg, 1)).to_have_attribute("data-stage", "staging")
    move(reg, 1, "production", "first release")
    expect(stage_of(reg, 1)).to_have_attribute("data-stage", "production")
    move(reg, 2, "staging", "retrained on the same data")
    move(reg, 2, "production", "second release")
    expect(stage_of(reg, 2)).to_have_attribute("data-stage", "production")
    # one production version per model: the first was archived
    expect(stage_of(reg, 1)).to_have_attribute("data-stage", "archived")
    row = reg.page.locator(f'[data-testid="mm-model-row"][data-model="{MODEL}"]')
    expect(row.locator('.jp-mm-StageBadge[data-stage="production"]')).to_have_text("production v2")


def test_a_gate_refusal_is_shown_and_recorded(reg: Registry, expect: Any) -> None:
    move(reg, 3, "staging", "candidate")
    expect(stage_of(reg, 3)).to_have_attribute("data-stage", "staging")
    move(reg, 3, "production", "ship it anyway")
    refusal = model_view(reg).locator('[data-testid="mm-refusal"]')
    expect(refusal).to_contain_text("accuracy")
    expect(reg.page.locator(".Toastify__toast", has_text="accuracy").first).to_be_visible()
    expect(stage_of(reg, 3)).to_have_attribute("data-stage", "staging")
    events = model_view(reg).locator('[data-testid="mm-events"]')
    refused = events.locator('tr[data-action="transition_refused"]')
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("ship it anyway")
    # the server recorded it too, not only the page
    detail = reg.lab.api_json(f"/models/{MODEL}")
    assert [e["action"] for e in detail["events"]].count("transition_refused") == 1


def test_roll_back_production(reg: Registry, expect: Any) -> None:
    model_view(reg).locator('[data-testid="mm-rollback"]').click()
    answer_dialog(reg, "mm-dialog-reason", "v2 drifts on new customers")
    expect(stage_of(reg, 1)).to_have_attribute("data-stage", "production")
    expect(stage_of(reg, 2)).to_have_attribute("data-stage", "archived")
    # a successful write clears the earlier refusal
    expect(model_view(reg).locator('[data-testid="mm-refusal"]')).to_have_count(0)
    events = model_view(reg).locator('[data-testid="mm-events"]')
    # one event per version the rollback moved, both carrying the reason
    rollbacks = events.locator('tr[data-action="rollback"]')
    expect(rollbacks).to_have_count(2)
    expect(rollbacks.filter(has_text="v1 archived → production")).to_contain_text(
        "v2 drifts on new customers"
    )
    run_command(reg.page, "jupyter-mm:open-models")
    # scripts/screenshots.py copies it into docs/images/ for the README
    clean_screenshot(reg, "models")


def test_set_and_remove_an_alias(reg: Registry, expect: Any) -> None:
    version_row(reg, 1).locator('[data-testid="mm-set-alias"]').click()
    answer_dialog(reg, "mm-dialog-alias", "champion")
    chip = version_row(reg, 1).locator('.jp-mm-Alias[data-alias="champion"]')
    expect(chip).to_be_visible()
    panel_row = reg.page.locator(f'[data-testid="mm-model-row"][data-model="{MODEL}"]')
    expect(panel_row).to_contain_text("@champion→v1")
    # an alias starts with a letter ("churn@9..." reads as a version): the server's sentence
    # is shown and nothing changes
    version_row(reg, 3).locator('[data-testid="mm-set-alias"]').click()
    answer_dialog(reg, "mm-dialog-alias", "9lives")
    expect(reg.page.locator(".Toastify__toast", has_text="9lives").first).to_be_visible()
    expect(version_row(reg, 3).locator(".jp-mm-Alias")).to_have_count(0)
    chip.locator('[data-testid="mm-remove-alias"]').click()
    expect(chip).to_have_count(0)
    expect(panel_row).not_to_contain_text("champion")
    actions = [e["action"] for e in reg.lab.api_json(f"/models/{MODEL}")["events"]]
    assert actions[-2:] == ["alias", "unalias"], actions


def test_lineage_leads_to_the_run_and_its_checkpoint(reg: Registry, expect: Any) -> None:
    version_row(reg, 1).locator('[data-testid="mm-lineage"]').click()
    lineage = reg.page.locator(f'.jp-mm-Lineage[data-model="{MODEL}"][data-version="1"]')
    expect(lineage).to_be_visible()
    expect(lineage.locator('[data-testid="mm-lineage-checkpoint"]')).to_have_text(
        f"{FOLDER}/good.ipynb"
    )
    clean_screenshot(reg, "lineage")
    lineage.locator('[data-testid="mm-lineage-run"]').click()
    expect(reg.page.locator(f'.jp-mm-RunDetail[data-run-id="{reg.good}"]')).to_be_visible()
    run_command(reg.page, "jupyter-mm:open-lineage", {"name": MODEL, "version": 1})
    lineage.locator('[data-testid="mm-lineage-checkpoint"]').click()
    checkpoint = reg.page.locator(f'.jp-mm-Checkpoint[data-run-id="{reg.good}"]')
    expect(checkpoint).to_be_visible()
    expect(checkpoint).to_contain_text("accuracy = 0.9")


def test_no_console_errors(reg: Registry) -> None:
    # a refused write answers 409 and the bad alias 400, which the browser logs as failed
    # requests: expected
    unexpected = [e for e in reg.console_errors if "409" not in e and "400" not in e]
    assert unexpected == []


def test_model_and_lineage_tabs_survive_a_reload(reg: Registry, expect: Any) -> None:
    # let JupyterLab write its workspace, then load the page again
    reg.page.wait_for_timeout(500)
    reg.page.goto(reg.page.url.split("?")[0])
    reg.page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started")
    expect(model_view(reg)).to_be_attached()
    expect(stage_of(reg, 1)).to_have_attribute("data-stage", "production")
    lineage = reg.page.locator(f'.jp-mm-Lineage[data-model="{MODEL}"][data-version="1"]')
    expect(lineage.locator('[data-testid="mm-lineage-run"]')).to_be_attached()
