"""Four eyes in a real JupyterLab: alice (through the Python API, as a notebook of hers
would) asks for production; the person logged into the lab is notified, opens the review —
gates, metrics beside the production version, the run diff with nbdime's notebook diff —
and approves with a reason. The lab user's own request cannot be approved by them.

Runs are recorded with `jupyter mm run` (real kernels). Production needs approval through a
`jupyter_mm_config.py` in the lab's root_dir, removed when the module ends. The tests share
one page and run in file order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from jupyter_mm import registry
from jupyter_mm.registry import approvals
from jupyter_mm.store import open_store

from .harness import Lab, new_lab_page, run_command, screenshot
from .test_browser_registry import _record

pytestmark = pytest.mark.browser

FOLDER = "approval-views"
MODEL = "fraud"
GATE = "metrics.accuracy >= 0.8"
CONFIG = f"c.Registry.require_approval = ['production']\nc.Registry.gates = {{'production': [{GATE!r}]}}\n"


@dataclass
class Review:
    lab: Lab
    page: Any
    base: str
    candidate: str
    request_id: int


def _versions(lab: Lab, base: str, candidate: str) -> int:
    """fraud v1 (base) in production, v2 and v3 (candidate) in staging; alice asks for v2."""
    rules = registry.Registry(require_approval=["production"], gates={"production": [GATE]})
    free = registry.Registry()
    with open_store(lab.store_url) as store:
        for run in (base, candidate, candidate):
            registry.register_model(run, "model.txt", MODEL, store=store, actor="alice")
        registry.transition(MODEL, 1, "staging", "eval", store=store, registry=free, actor="alice")
        registry.transition(MODEL, 1, "production", "v1", store=store, registry=free, actor="ada")
        for version in (2, 3):
            registry.transition(MODEL, version, "staging", "retrained", store=store, actor="alice")
        made = approvals.request_transition(
            MODEL,
            2,
            "production",
            "better recall on new fraud",
            store=store,
            registry=rules,
            actor="alice",
        )
    return made.id


@pytest.fixture(scope="module")
def review(browser: Any, lab: Lab) -> Iterator[Review]:
    folder = lab.root_dir / FOLDER
    folder.mkdir()
    known = {run["id"] for run in lab.api_json("/runs?limit=200")["runs"]}
    base = _record(lab, folder, "base", 0.9, known)
    candidate = _record(lab, folder, "candidate", 0.85, known)
    request_id = _versions(lab, base, candidate)
    config = lab.root_dir / "jupyter_mm_config.py"
    config.write_text(CONFIG)
    page = new_lab_page(browser, lab)
    try:
        yield Review(lab, page, base, candidate, request_id)
    finally:
        page.context.close()
        config.unlink()
        _close_pending(lab)


def _close_pending(lab: Lab) -> None:
    """Later modules' pages (new users) must not be notified of this module's requests."""
    with open_store(lab.store_url) as store:
        for pending in approvals.requests(status="pending", store=store):
            approvals.reject(pending.id, "the test is over", store=store, actor="bob")


@pytest.fixture(scope="module")
def expect() -> Any:
    from playwright.sync_api import expect

    return expect


def review_tab(r: Review, request_id: int) -> Any:
    return r.page.locator(f'.jp-mm-Approval[data-request="{request_id}"]')


def test_the_approver_is_notified_and_sees_what_changes(review: Review, expect: Any) -> None:
    toast = review.page.locator(".Toastify__toast", has_text=f"alice asks to move {MODEL} v2")
    expect(toast).to_be_visible()
    toast.get_by_role("button", name="Review").click()
    tab = review_tab(review, review.request_id)
    expect(tab).to_be_visible()
    expect(tab.locator("h2")).to_contain_text(f"Request #{review.request_id}: {MODEL} v2")
    expect(tab).to_contain_text("better recall on new fraud")
    gates = tab.locator('[data-testid="mm-approval-gates"]')
    expect(gates.locator("tbody tr")).to_have_count(1)
    expect(gates.locator('td[data-passed="yes"]')).to_have_count(2)
    accuracy = tab.locator('[data-testid="mm-approval-metrics"] tr[data-metric="accuracy"]')
    expect(accuracy).to_contain_text("0.85")
    expect(accuracy).to_contain_text("0.9")
    # the run diff of production (A) and the candidate (B), nbdime's notebook diff included
    diff = tab.locator(
        f'.jp-mm-RunDiff[data-run-a="{review.base}"][data-run-b="{review.candidate}"]'
    )
    expect(diff.locator(".jp-mm-RunDiff-notebook .jp-Notebook-diff")).to_be_attached()
    expect(diff.locator(".jp-mm-DiffRow-changed", has_text="accuracy").first).to_be_attached()
    expect(tab.locator('[data-testid="mm-approve"]')).to_be_enabled()
    screenshot(review.page, "approval-review")


def test_approve_with_a_reason_moves_the_version(review: Review, expect: Any) -> None:
    tab = review_tab(review, review.request_id)
    tab.locator('[data-testid="mm-approve"]').click()
    dialog = review.page.locator(".jp-Dialog")
    dialog.locator('[data-testid="mm-dialog-reason"]').fill("diff and gates reviewed")
    dialog.locator(".jp-mod-accept").click()
    decision = tab.locator('[data-testid="mm-approval-decision"]')
    expect(decision).to_contain_text("approved")
    expect(decision).to_contain_text("diff and gates reviewed")
    expect(tab.locator('[data-testid="mm-approve"]')).to_be_disabled()
    detail = review.lab.api_json(f"/models/{MODEL}")
    stages = {v["version"]: v["stage"] for v in detail["versions"]}
    assert (stages[1], stages[2]) == ("archived", "production")
    who = {e["action"]: e["user"] for e in detail["events"]}
    # the lab's user (the server's IdentityProvider names it), not the server's OS user
    me = review.page.evaluate("() => window.jupyterapp.serviceManager.user.identity.username")
    assert who["transition_requested"] == "alice"
    assert who["transition_approved"] == me != "alice"


def test_my_own_request_is_for_someone_else(review: Review, expect: Any) -> None:
    run_command(review.page, "jupyter-mm:open-model", {"name": MODEL})
    model = review.page.locator(f'.jp-mm-Model[data-model="{MODEL}"]')
    row = model.locator('[data-testid="mm-version-row"][data-version="3"]')
    expect(row.locator('[data-testid="mm-registrant"]')).to_have_text("alice")
    row.locator('[data-testid="mm-request"][data-stage="production"]').click()
    dialog = review.page.locator(".jp-Dialog")
    dialog.locator('[data-testid="mm-dialog-reason"]').fill("same model, more data")
    dialog.locator(".jp-mod-accept").click()
    mine = review.page.locator(".jp-mm-Approval:visible")
    expect(mine).to_contain_text("same model, more data")
    expect(mine.locator('[data-testid="mm-approve"]')).to_be_disabled()
    expect(mine.locator('[data-testid="mm-approval-why"]')).to_contain_text(
        "someone else has to approve"
    )
    # the model's tab lists both requests, the Models panel the team's
    requests = model.locator('[data-testid="mm-approval-row"]')
    expect(requests).to_have_count(2)
    panel = review.page.locator('[data-testid="mm-models"] [data-testid="mm-approval-row"]')
    expect(panel.first).to_be_attached()
