"""Delivering the webhook outbox, off the registry's write path.

:func:`jupyter_mm.alerts.webhooks.publish_events` only queues rows in the store's outbox
and calls :func:`wake_deliverer`. A deliverer is one daemon thread per store in a process:
it claims due rows of the hooks this process knows (with a lease, so two deliverers never
post one row at once), posts them with one worker per receiver, in order (a receiver that
hangs holds only its own worker, for at most ``c.Webhooks.timeout`` per attempt), logs
each attempt, and schedules a retry after
``backoff * 2**(attempt-1)`` seconds. In a process that only publishes (a kernel, a CLI
command) the thread ends when nothing of its hooks is pending, and the process waits at
exit at most ``c.Webhooks.exit_wait`` seconds for it. The Jupyter server and ``jupyter mm
watch --every`` run one for their whole life (:func:`start_deliverer`), which also delivers
what other processes left: a row is never lost, only delivered later (at least once).
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..store.abstract import AbstractStore
    from ..store.deliveries_contract import OutboxDelivery, WebhookDelivery
    from .webhooks import Webhooks

#: receivers posted to at once by one deliverer
PARALLEL = 4
#: rows one pass claims; one receiver's rows are posted one after the other
PER_PASS = 8
#: seconds a claim lasts beyond the attempts' own timeouts (a deliverer that dies mid-attempt
#: leaves its rows to others once the lease has run out)
LEASE_MARGIN = 10.0


def lease_for(webhooks: Webhooks) -> float:
    """Long enough for every row of a pass to time out one after the other: a row is never
    claimed again while its deliverer is still working through the pass."""
    return webhooks.timeout * PER_PASS + LEASE_MARGIN


def _attempt(
    store: AbstractStore,
    hook: dict,
    row: OutboxDelivery,
    webhooks: Webhooks,
    clock: Callable[[], float],
) -> WebhookDelivery:
    from .webhooks import attempt_delivery

    assert row.id is not None
    logged, final = attempt_delivery(store, hook, row, webhooks=webhooks)
    attempts = row.attempts + 1
    if final:
        state = "delivered" if logged.outcome == "delivered" else "failed"
        store.finish_attempt(row.id, state=state, attempts=attempts, next_time=clock())
    else:
        due = clock() + webhooks.backoff * 2 ** (attempts - 1)
        store.finish_attempt(row.id, state="pending", attempts=attempts, next_time=due)
    return logged


def deliver_due(
    store: AbstractStore,
    webhooks: Webhooks,
    *,
    clock: Callable[[], float] = time.time,
    limit: int = PER_PASS,
) -> list[WebhookDelivery]:
    """Claim the deliveries due now and make one attempt of each; returns the attempts'
    log rows. ``clock`` gives "now" (tests step it to see the backoff schedule)."""
    from .webhooks import hook_id

    hooks = {hook_id(hook): hook for hook in webhooks.hooks}
    rows = store.claim_deliveries(
        now=clock(), lease=lease_for(webhooks), hook_ids=list(hooks), limit=limit
    )
    if not rows:
        return []
    by_hook: dict[str, list[OutboxDelivery]] = {}
    for row in sorted(rows, key=lambda r: r.id or 0):
        by_hook.setdefault(row.hook_id, []).append(row)

    def post_in_order(queue: list[OutboxDelivery]) -> list[WebhookDelivery]:
        return [_attempt(store, hooks[row.hook_id], row, webhooks, clock) for row in queue]

    # one worker per receiver: a slow one holds only its own queue, and each receiver gets
    # its events in the order they happened (a retry comes after what followed it)
    with ThreadPoolExecutor(min(PARALLEL, len(by_hook)), "jupyter-mm-webhook") as pool:
        futures = [pool.submit(post_in_order, queue) for queue in by_hook.values()]
        return [attempt for future in futures for attempt in future.result()]


def _next_due(store: AbstractStore, webhooks: Webhooks) -> float | None:
    """When the earliest pending row of this process's hooks is due (or its lease ends);
    None when nothing of them is pending."""
    from .webhooks import hook_id

    known = {hook_id(hook) for hook in webhooks.hooks}
    pending = [r for r in store.list_outbox(state="pending", limit=1000) if r.hook_id in known]
    if not pending:
        return None
    return min(max(r.next_time, r.lease_until or 0.0) for r in pending)


class Deliverer:
    """The thread that drains one store's outbox in this process (see the module docs)."""

    def __init__(self, store: AbstractStore, webhooks: Webhooks, *, forever: bool) -> None:
        self.store = store
        self.webhooks = webhooks
        self.forever = forever
        self.wakeup = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="jupyter-mm-webhooks", daemon=True)

    def _pass(self) -> float | None:
        """Deliver what is due; seconds to wait before the next pass (None: nothing left)."""
        try:
            if deliver_due(self.store, self.webhooks):
                return 0.0
            due = _next_due(self.store, self.webhooks)
        except Exception:  # the store is away: a long-running deliverer tries again later;
            # a publishing process leaves the rows to the next deliverer
            return self.webhooks.poll if self.forever else None
        if due is None:
            return self.webhooks.poll if self.forever else None
        wait = max(0.0, due - time.time())
        return min(wait, self.webhooks.poll) if self.forever else wait

    def _loop(self) -> None:
        while not self.stopping.is_set():
            self.wakeup.clear()
            wait = self._pass()
            if wait is None:
                with _lock:
                    if self.wakeup.is_set():
                        continue  # something was queued while this pass looked
                    _deliverers.pop(id(self.store), None)
                    return
            if wait > 0:
                self.wakeup.wait(wait)

    def stop(self, timeout: float | None = None) -> None:
        self.stopping.set()
        self.wakeup.set()
        self.thread.join(timeout)


_lock = threading.Lock()
_deliverers: dict[int, Deliverer] = {}


def wake_deliverer(store: AbstractStore, webhooks: Webhooks, *, forever: bool = False) -> Deliverer:
    """Start this process's deliverer for ``store`` if none runs, and wake it."""
    with _lock:
        found = _deliverers.get(id(store))
        if found is None or not found.thread.is_alive() or found.stopping.is_set():
            found = _deliverers[id(store)] = Deliverer(store, webhooks, forever=forever)
            found.thread.start()
        elif not found.forever:  # the newest configuration names the hooks
            found.webhooks = webhooks
            found.forever = forever
        # a long-running deliverer keeps its process's own configuration (the server's)
        found.wakeup.set()
        return found


def start_deliverer(store: AbstractStore, webhooks: Webhooks) -> Deliverer:
    """A deliverer that runs until :meth:`Deliverer.stop` (the server, ``watch --every``)."""
    return wake_deliverer(store, webhooks, forever=True)


def drain(store: AbstractStore | None = None, timeout: float = 30.0) -> bool:
    """Wait up to ``timeout`` seconds until the deliverers that end when idle (of
    ``store``, or all) have nothing pending; True when they got there."""
    deadline = time.monotonic() + timeout
    with _lock:
        waiting = [
            d
            for key, d in _deliverers.items()
            if not d.forever and (store is None or key == id(store))
        ]
    for deliverer in waiting:
        deliverer.thread.join(max(0.0, deadline - time.monotonic()))
    return not any(d.thread.is_alive() for d in waiting)


@atexit.register
def _wait_at_exit() -> None:
    with _lock:
        running = list(_deliverers.values())
    if not running:
        return
    drain(timeout=max((d.webhooks.exit_wait for d in running), default=0.0))
