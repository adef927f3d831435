"""The webhook outbox against real local HTTP receivers: the registry write returns while
the receiver hangs, a hanging attempt is cut off at the timeout and retried, the backoff
schedule, a lease that runs out, and rows left by a process that stopped delivered by the
next process."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from traitlets.config import Config

from jupyter_mm.alerts.outbox import deliver_due, drain
from jupyter_mm.alerts.webhooks import Webhooks

from .conftest import register_production


class HangingReceiver:
    """Answers 200, but only once ``release`` is set; counts what it got."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.received: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received.append(self.headers["X-MM-Delivery"])
                receiver.release.wait(120)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the sender gave up on this attempt
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def hanging() -> Iterator[HangingReceiver]:
    found = HangingReceiver()
    thread = threading.Thread(target=found.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        found.release.set()
        found.server.shutdown()
        found.server.server_close()


def hooks_config(url: str, **settings: Any) -> str:
    hook = {"url": url, "secret_env": "MM_HOOK_SECRET", "name": "ops"}
    lines = [f"c.Webhooks.hooks = [{hook!r}]"]
    lines += [f"c.Webhooks.{key} = {value!r}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def test_the_write_returns_while_the_receiver_hangs(mm_store, hanging, write_config) -> None:
    write_config(hooks_config(hanging.url, timeout=60.0, backoff=0.01))
    version = register_production(mm_store, "fraud")
    # registered, staged and promoted, each queued: not one attempt has finished
    assert mm_store.get_version("fraud", version.version).stage == "production"
    assert mm_store.list_deliveries() == []
    queued = mm_store.list_outbox()
    assert sorted(r.event for r in queued) == ["promoted", "registered", "transitioned"]
    assert {r.state for r in queued} == {"pending"}
    hanging.release.set()
    assert drain(mm_store, timeout=60)
    assert {r.state for r in mm_store.list_outbox()} == {"delivered"}
    assert {d.outcome for d in mm_store.list_deliveries()} == {"delivered"}
    assert sorted(hanging.received) == sorted(r.delivery for r in queued)


def test_a_hanging_attempt_is_cut_off_and_retried(mm_store, hanging, write_config) -> None:
    write_config(hooks_config(hanging.url, timeout=0.5, backoff=0.01, max_attempts=20))
    mm_store.enqueue_deliveries([])  # an empty batch is a no-op
    register_production(mm_store, "fraud")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(
        d.outcome == "retrying" for d in mm_store.list_deliveries(limit=100)
    ):
        time.sleep(0.1)
    retrying = [d for d in mm_store.list_deliveries(limit=100) if d.outcome == "retrying"]
    assert retrying and all("timed out" in str(d.error).lower() for d in retrying)
    seen = {d.delivery for d in retrying}
    hanging.release.set()
    assert drain(mm_store, timeout=120)
    outbox = {r.delivery: r for r in mm_store.list_outbox()}
    assert all(outbox[d].state == "delivered" and outbox[d].attempts >= 2 for d in seen)


def test_backoff_schedule_and_refusals(mm_store, receiver) -> None:
    register_production(mm_store, "fraud")
    config = Config()
    config.Webhooks.hooks = [{"url": receiver.url, "secret_env": "MM_HOOK_SECRET", "name": "r"}]
    config.Webhooks.max_attempts = 5
    config.Webhooks.backoff = 0.25
    hooks = Webhooks(config=config)
    events = [e for e in mm_store.model_events("fraud") if e.action == "register"]
    receiver.script = [500, 503, 502]
    now = time.time() + 1000.0  # a clock of the test's own: the deliverer thread never gets there
    clock = [now]
    (row,) = mm_store.enqueue_deliveries([_row(publish_events_payload(events[0]), hooks, now)])
    due = []
    for _ in range(4):
        done = deliver_due(mm_store, hooks, clock=lambda: clock[0])
        assert len(done) == 1
        (current,) = [r for r in mm_store.list_outbox() if r.id == row.id]
        due.append(round(current.next_time - clock[0], 3))
        clock[0] = current.next_time
        assert deliver_due(mm_store, hooks, clock=lambda: clock[0] - 0.001) == []  # not yet
    assert due[:3] == [0.25, 0.5, 1.0] and current.state == "delivered"
    attempts = sorted(mm_store.list_deliveries(hook="r"), key=lambda d: d.attempt)
    assert [(d.attempt, d.status, d.outcome) for d in attempts] == [
        (1, 500, "retrying"), (2, 503, "retrying"), (3, 502, "retrying"), (4, 200, "delivered")
    ]  # fmt: skip
    assert len({r.headers["x-mm-delivery"] for r in receiver.requests}) == 1
    assert all(r.signature_ok for r in receiver.requests)
    # a 4xx is a refusal: one attempt, then failed
    receiver.script = [401]
    (refused,) = mm_store.enqueue_deliveries([_row(publish_events_payload(events[0]), hooks, now)])
    (attempt,) = deliver_due(mm_store, hooks, clock=lambda: clock[0] + 10)
    assert (attempt.outcome, attempt.status) == ("failed", 401)
    assert [r.state for r in mm_store.list_outbox() if r.id == refused.id] == ["failed"]


def test_a_lease_that_ran_out_is_claimed_again(mm_store, receiver) -> None:
    config = Config()
    config.Webhooks.hooks = [{"url": receiver.url, "name": "r"}]
    config.Webhooks.timeout = 2.0
    hooks = Webhooks(config=config)
    now = time.time() + 1000.0
    (row,) = mm_store.enqueue_deliveries([_row('{"event":"alert"}', hooks, now)])
    from jupyter_mm.alerts.webhooks import hook_id

    # a deliverer claims the row, then dies before it finishes the attempt
    (claimed,) = mm_store.claim_deliveries(now=now, lease=30.0, hook_ids=[hook_id(hooks.hooks[0])])
    assert claimed.id == row.id
    assert deliver_due(mm_store, hooks, clock=lambda: now + 29.0) == []  # still leased
    (attempt,) = deliver_due(mm_store, hooks, clock=lambda: now + 31.0)
    assert attempt.outcome == "delivered" and len(receiver.requests) == 1


def test_rows_left_by_a_stopped_process_are_delivered_by_the_next(
    mm_store, receiver, write_config, tmp_path
) -> None:
    # the receiver is down while the first process publishes, which waits nothing at exit
    receiver.script = [503] * 3
    write_config(hooks_config(receiver.url, backoff=60.0, exit_wait=0.0, max_attempts=10))
    script = (
        "import sys\n"
        f"sys.path.insert(0, {_tests_dir()!r})\n"
        "import jupyter_mm as mm\n"
        "from alerts.conftest import register_production\n"
        "register_production(mm.tracking.default_store(), 'fraud')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    left = mm_store.list_outbox()
    assert len(left) == 3 and {r.state for r in left} == {"pending"}
    # the next process (here: a monitor pass with no rule) delivers them once they are due
    write_config(hooks_config(receiver.url, backoff=0.01, exit_wait=60.0, max_attempts=10))
    for row in left:  # the retries are due now (the earlier backoff was 60 s)
        mm_store.finish_attempt(row.id, state="pending", attempts=row.attempts, next_time=0.0)
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_mm.cli", "watch", "--check"], cwd=tmp_path,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert {r.state for r in mm_store.list_outbox()} == {"delivered"}
    delivered = {r.headers["x-mm-delivery"] for r in receiver.requests}
    assert {r.delivery for r in left} <= delivered


def _tests_dir() -> str:
    from pathlib import Path

    return str(Path(__file__).resolve().parent.parent)


def publish_events_payload(event: Any) -> str:
    import json

    from jupyter_mm.alerts.webhooks import event_kind, event_payload

    kind = event_kind(event)
    assert kind is not None
    return json.dumps(event_payload(event, kind), sort_keys=True, separators=(",", ":"))


def _row(payload: str, hooks: Webhooks, now: float) -> Any:
    import uuid

    from jupyter_mm.alerts.webhooks import hook_id, hook_label
    from jupyter_mm.store.deliveries_contract import OutboxDelivery

    hook = hooks.hooks[0]
    return OutboxDelivery(
        delivery=uuid.uuid4().hex, hook=hook_label(hook), hook_id=hook_id(hook),
        event="registered", payload=payload, created_time=now, next_time=now,
    )  # fmt: skip
