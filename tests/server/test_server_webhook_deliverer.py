"""The Jupyter server delivers webhooks other processes queued: with ``c.Webhooks.hooks``
set it runs a deliverer for its whole life, so a row a kernel or command left in the
outbox (it stopped before the retry was due) reaches a real receiver."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from mm_api_data import store_location
from traitlets.config import Config

from jupyter_mm.alerts.webhooks import hook_id, hook_label
from jupyter_mm.store import open_store
from jupyter_mm.store.deliveries_contract import OutboxDelivery

RECEIVED: list[dict[str, Any]] = []


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        RECEIVED.append({"delivery": self.headers["X-MM-Delivery"], "body": json.loads(body)})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver_url() -> Iterator[str]:
    RECEIVED.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hook(receiver_url: str) -> dict[str, Any]:
    return {"url": receiver_url, "name": "ops"}


@pytest.fixture
def jp_server_config(hook: dict[str, Any]) -> Config:
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_mm": True}},
            "Webhooks": {"hooks": [hook], "poll": 0.2},
        }
    )


@pytest.mark.usefixtures("jp_serverapp")
async def test_the_server_delivers_what_others_left(jp_root_dir: Path, hook) -> None:
    store = open_store(store_location(jp_root_dir))
    try:
        now = time.time()
        left = OutboxDelivery(
            delivery=uuid.uuid4().hex, hook=hook_label(hook), hook_id=hook_id(hook),
            event="promoted", payload=json.dumps({"event": "promoted", "model": "fraud"}),
            model="fraud", attempts=1, created_time=now, next_time=now,
        )  # fmt: skip
        (row,) = store.enqueue_deliveries([left])  # nothing in this process delivers it
        for _ in range(600):
            if RECEIVED:
                break
            await asyncio.sleep(0.2)
        assert [r["delivery"] for r in RECEIVED] == [left.delivery]
        assert RECEIVED[0]["body"] == {"event": "promoted", "model": "fraud"}
        for _ in range(100):  # the server records the outcome after the receiver answered
            (stored,) = [r for r in store.list_outbox() if r.id == row.id]
            if stored.state != "pending":
                break
            await asyncio.sleep(0.1)
        assert (stored.state, stored.attempts) == ("delivered", 2)
        (logged,) = store.list_deliveries()
        assert (logged.attempt, logged.outcome, logged.hook) == (2, "delivered", "ops")
    finally:
        store.close()
