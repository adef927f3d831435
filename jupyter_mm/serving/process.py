"""``jupyter mm serve``: the serving process (its own process, never the Jupyter server)."""

from __future__ import annotations

import errno
import os
import signal
import socket
import sys
import threading
import time
import uuid
import warnings
from dataclasses import dataclass

from ..entities import ServingEndpoint
from ..errors import InvalidInput
from . import DEFAULT_POLL_SECONDS
from .compaction import DEFAULT_EVERY as DEFAULT_COMPACT_EVERY
from .endpoints import HEARTBEAT_SECONDS


@dataclass
class ServeOptions:
    reference: str
    host: str = "127.0.0.1"
    port: int = 5001
    workers: int = 1
    canary: str | None = None
    shadow: str | None = None
    trusted: bool = False
    poll: float = DEFAULT_POLL_SECONDS
    log_predictions: bool = True
    log_interval: float = 1.0
    #: seconds between merges of this server's small prediction batches (None: never)
    compact_every: float | None = DEFAULT_COMPACT_EVERY


def _deployment(options: ServeOptions, store):
    from .deployment import Deployment, parse_canary

    canary = parse_canary(options.canary) if options.canary else None
    deployment = Deployment(
        store, options.reference, canary=canary, shadow=options.shadow, trusted=options.trusted
    )
    deployment.load_all()
    return deployment


def _bind(options: ServeOptions) -> list[socket.socket]:
    from tornado.netutil import bind_sockets

    try:
        return bind_sockets(options.port, options.host, reuse_port=options.workers > 1)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise InvalidInput(
                f"Port {options.port} on {options.host} is in use; pass --port."
            ) from None
        raise InvalidInput(
            f"Cannot listen on {options.host}:{options.port}: {exc.strerror}."
        ) from None


def serve(options: ServeOptions) -> int:
    """Check the references, listen, fork workers if asked, serve until SIGTERM/SIGINT."""
    from ..store import open_store

    if options.workers < 1:
        raise InvalidInput("--workers must be at least 1.")
    if options.compact_every is not None and options.compact_every < 0:
        raise InvalidInput("--compact-every must be zero (never) or more seconds.")
    # models called with plain arrays (deployment.accepts_array) were fitted on named
    # columns; scikit-learn says so on every call, which is noise here and costs time
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    with open_store(create=False) as store:  # every reference must load before we listen
        deployment = _deployment(options, store)
        arms = deployment.describe()
    sockets = _bind(options)
    served = ", ".join(
        f"{a['model']}/{a['version']} ({name})" for name, a in arms.items() if a["version"]
    )
    print(f"jupyter mm serve: {served} on http://{options.host}:{options.port}", flush=True)
    if options.workers > 1:
        status = _fork_workers(options.workers)
        if status is not None:  # the parent, once every worker has stopped
            return status
    return _serve_forever(options, sockets)


def _fork_workers(count: int) -> int | None:
    """Fork ``count`` workers sharing the listening sockets. Returns None in a worker; in
    the parent, passes SIGTERM/SIGINT on to the workers (each then writes its pending log
    and unregisters) and returns 0 once all have exited, 1 if one failed."""
    workers = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            return None
        workers.append(pid)

    def forward(signum: int, _frame: object) -> None:
        for pid in workers:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    for _ in workers:
        try:
            _pid, code = os.wait()
        except ChildProcessError:
            break
        if os.waitstatus_to_exitcode(code) != 0:
            status = 1
    return status


def _serve_forever(options: ServeOptions, sockets: list[socket.socket]) -> int:
    import asyncio

    from ..store import open_store
    from .app import ServingState
    from .predlog import PredictionLogWriter

    store = open_store(create=False)
    endpoint_id = uuid.uuid4().hex
    deployment = _deployment(options, store)
    writer = (
        PredictionLogWriter(
            store,
            interval=options.log_interval,
            source=endpoint_id,
            compact_every=options.compact_every,
        )
        if options.log_predictions
        else None
    )
    state = ServingState(deployment, writer)
    deployment.start_polling(options.poll)
    stop = threading.Event()
    heartbeat = threading.Thread(
        target=_heartbeat, args=(store, options, state, endpoint_id, stop), daemon=True
    )
    heartbeat.start()
    try:
        asyncio.run(_listen_until_signalled(state, sockets))
    finally:
        stop.set()
        deployment.stop()
        state.shadow_pool.shutdown(wait=True)
        if writer is not None:
            writer.close()  # everything answered is written before we exit
        try:
            store.remove_endpoint(endpoint_id)
        except Exception:
            pass
        store.close()
    print(f"jupyter mm serve: stopped after {state.answered} requests", file=sys.stderr)
    return 0


async def _listen_until_signalled(state, sockets: list[socket.socket]) -> None:
    """Serve until SIGTERM/SIGINT; then stop accepting, answer what was read, close."""
    import asyncio

    from .app import MAX_BODY_BYTES, make_handler
    from .http import start_server

    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    servers, connections = await start_server(make_handler(state), sockets, MAX_BODY_BYTES)
    await stopping.wait()
    for server in servers:
        server.close()
    await asyncio.sleep(0)  # a batch read in the last turn is answered in the next one
    for connection in list(connections):
        connection.close_when_idle()
    for server in servers:
        await server.wait_closed()


def _heartbeat(store, options, state, endpoint_id, stop) -> None:
    started = time.time()
    last_count, last_time = 0, started
    while True:
        now = time.time()
        rate = (state.answered - last_count) / max(now - last_time, 1e-6)
        last_count, last_time = state.answered, now
        try:
            store.heartbeat_endpoint(
                ServingEndpoint(
                    id=endpoint_id,
                    reference=options.reference,
                    host=socket.gethostname(),
                    port=options.port,
                    pid=os.getpid(),
                    started=started,
                    heartbeat=now,
                    state={
                        "arms": state.deployment.describe(),
                        "requests": state.answered,
                        "failed": state.failed,
                        "requests_per_second": round(rate, 2),
                        "url": f"http://{options.host}:{options.port}",
                    },
                )
            )
        except Exception:
            pass  # the next beat tries again
        if stop.wait(HEARTBEAT_SECONDS):
            return
