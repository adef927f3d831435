"""Hostile stored strings in a real JupyterLab: every newer free-text field written with
the suite's corpus (tests/hostile_strings.py: OWASP XSS filter-evasion forms, javascript:
links, Markdown, terminal sequences, a 64 KiB host name) is shown as text in the model view
(descriptions, audit trail, approval requests, serving endpoints) and the approval review;
no markup from the store is ever parsed, no link from it ever runs.

A lab of its own: the corpus's pending request, open alert and live endpoint would
otherwise reach every later module's pages.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
from hostile_strings import BIDI_CONTROLS, MARKUP, fill_registry, tag

from jupyter_mm.store import open_store

from .harness import Lab, new_lab_page, run_command, running_lab, screenshot

pytestmark = pytest.mark.browser

#: what the store's markup would leave behind if any of it were ever parsed as HTML
PARSED = "script:not([src]):not([type]), img[src='x'], iframe, a[href*='javascript' i], svg[onload]"


@pytest.fixture(scope="module")
def hostile_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with running_lab(tmp_path_factory.mktemp("hostile-lab")) as lab:
        with open_store(lab.store_url) as store:
            fill_registry(store)
        yield lab


@pytest.fixture(scope="module")
def page(browser: Any, hostile_lab: Lab) -> Iterator[Any]:
    page = new_lab_page(browser, hostile_lab)
    try:
        yield page
    finally:
        page.context.close()


#: the text nodes under a node that hold an explicit bidi control: "class | text"
BIDI_LEAKS = """node => {
    const found = [];
    const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const text = walker.currentNode.textContent;
        if (/[\\u202a-\\u202e\\u2066-\\u2069]/.test(text)) {
            found.push(walker.currentNode.parentElement.className + ' | ' + text.slice(0, 80));
        }
    }
    return found;
}"""


def _text_of(locator: Any) -> str:
    return str(locator.evaluate("node => node.textContent"))


def shown(stored: str) -> str:
    """How the lab shows a stored string: as it is, but for explicit bidi controls, which
    are shown as escapes (``\\u202e``) so that no name reads backwards."""
    return "".join(
        f"\\u{ord(char):04x}" if unicodedata.bidirectional(char) in BIDI_CONTROLS else char
        for char in stored
    )


def _nothing_parsed(page: Any, view: Any) -> None:
    found = view.locator(PARSED).evaluate_all("nodes => nodes.map(n => n.outerHTML.slice(0, 300))")
    assert found == []
    assert page.evaluate("() => document.body.dataset.mmOwned") is None


def test_the_model_view_shows_every_field_as_text(page: Any) -> None:
    from playwright.sync_api import expect

    run_command(page, "jupyter-mm:open-model", {"name": "churn"})
    view = page.locator('.jp-mm-Model[data-model="churn"]')
    expect(view.locator('[data-testid="mm-approval-row"]')).to_have_count(2)
    text = _text_of(view)
    for field in ("version description", "moved"):
        assert shown(tag(field)) in text, field
    for form in MARKUP.values():
        assert form in text  # shown as the characters that were stored
    # nothing in it can reorder how the text around it reads
    # nothing in it can reorder how the text around it reads; a leak names its element
    leaks = view.evaluate(BIDI_LEAKS)
    assert leaks == []
    assert "abc\\u202etxt.exe" in text
    _nothing_parsed(page, view)
    screenshot(page, "hostile-model")


def test_the_approval_review_shows_the_reasons_as_text(page: Any, hostile_lab: Lab) -> None:
    from playwright.sync_api import expect

    with open_store(hostile_lab.store_url) as store:
        pending = [r for r in store.list_approval_requests() if r.status == "pending"]
    (request,) = pending
    run_command(page, "jupyter-mm:open-approval", {"id": request.id})
    view = page.locator(f'.jp-mm-Approval[data-request="{request.id}"]')
    expect(view.locator("h2")).to_contain_text(f"Request #{request.id}")
    text = _text_of(view)
    assert shown(tag("request reason")) in text and shown(tag("requester")) in text
    assert view.evaluate(BIDI_LEAKS) == []
    _nothing_parsed(page, view)
    # the Models panel (its approval rows) and the notifications (the alert) too
    _nothing_parsed(page, page.locator("#jupyter-mm-models, .Toastify"))
    screenshot(page, "hostile-approval")
