"""The serving process's HTTP layer (serving/http.py) on a real socket, spoken to with raw
bytes the way curl, MLflow's client and proxies frame requests; and scoring requests that
arrive together, on a real `jupyter mm serve`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import Iterator

import numpy as np
import pytest

import jupyter_mm as mm
from jupyter_mm.serving.deployment import answers_rows_alone
from jupyter_mm.serving.http import Reply, Request, start_server

from .conftest import COLUMNS, serving, training_frame


def _echo(request: Request, reply: Reply) -> None:
    """Answers ``/later`` one loop turn late, everything else at once."""
    body = json.dumps(
        {"method": request.method, "path": request.path, "body": request.body.decode()}
    ).encode()

    def answer() -> None:
        reply.send(200, body, [("Content-Type", "application/json")])

    if request.path == "/later":
        asyncio.get_running_loop().call_later(0.05, answer)
    else:
        answer()


@contextlib.contextmanager
def http_server(max_body: int = 1000) -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start_server(_echo, [sock], max_body))
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield sock.getsockname()[1]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def _exchange(port: int, data: bytes, answers: int) -> list[tuple[int, dict[str, str], bytes]]:
    """Send ``data`` in one write; read ``answers`` responses (or until the server closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(data)
        return _read_responses(conn, answers)


def _read_responses(conn: socket.socket, answers: int) -> list[tuple[int, dict[str, str], bytes]]:
    buffer = b""
    found: list[tuple[int, dict[str, str], bytes]] = []
    while len(found) < answers:
        end = buffer.find(b"\r\n\r\n")
        if end >= 0:
            lines = buffer[:end].decode("latin-1").split("\r\n")
            headers = dict(line.split(": ", 1) for line in lines[1:])
            length = int(headers.get("Content-Length", "0"))
            if len(buffer) >= end + 4 + length:
                found.append(
                    (int(lines[0].split()[1]), headers, buffer[end + 4 : end + 4 + length])
                )
                buffer = buffer[end + 4 + length :]
                continue
        chunk = conn.recv(65536)
        if not chunk:
            break
        buffer += chunk
    return found


def _post(path: str, body: bytes, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode()
        + body
    )


def test_pipelined_requests_are_answered_in_order_even_when_one_is_late() -> None:
    with http_server() as port:
        data = _post("/later", b"first") + _post("/now?x=1", b"second") + _post("/now", b"")
        answers = _exchange(port, data, 3)
    assert [json.loads(body)["body"] for _s, _h, body in answers] == ["first", "second", ""]
    assert [json.loads(body)["path"] for _s, _h, body in answers] == ["/later", "/now", "/now"]


def test_chunked_bodies_and_expect_continue() -> None:
    chunked = (
        b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n"
    )
    with http_server() as port:
        (answer,) = _exchange(port, chunked, 1)
        assert json.loads(answer[2])["body"] == "hello world"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(
                b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
            )
            assert conn.recv(1024).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
            conn.sendall(b"body")
            ((status, _h, body),) = _read_responses(conn, 1)
            assert status == 200 and json.loads(body)["body"] == "body"


def test_http_1_0_closes_and_bad_requests_are_refused_with_json() -> None:
    with http_server(max_body=1000) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(b"GET /old HTTP/1.0\r\n\r\n")
            ((status, headers, _b),) = _read_responses(conn, 1)
            assert status == 200 and headers["Connection"] == "close"
            assert conn.recv(10) == b""  # closed by the server
        cases = {
            b"NONSENSE\r\n\r\n": 400,
            b"GET / HTTP/2.0\r\n\r\n": 400,
            b"GET / HTTP/1.1\r\nBad Header\r\n\r\n": 400,
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n": 400,
            _post("/big", b"x" * 1001): 413,
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n": 501,
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n": 400,
            b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n": 431,
        }
        for data, expected in cases.items():
            # the request is refused and the connection closed: nothing after it is read
            answers = _exchange(port, data + _post("/after", b""), 2)
            assert [status for status, _h, _b in answers] == [expected], data[:40]
            assert json.loads(answers[0][2])["error_code"] == "BAD_REQUEST"


class _CentredModel:
    """Predicts whether a row's first value is above the mean of the rows it came with:
    a row's answer depends on its neighbours, so requests must not be scored together."""

    def predict(self, X):
        X = np.asarray(X)
        return (X[:, 0] > X[:, 0].mean()).astype(int)


def test_only_models_that_answer_each_row_alone_are_batched() -> None:
    from sklearn.linear_model import LogisticRegression

    signature = {"type": "dataframe", "columns": [{"name": c, "dtype": "float64"} for c in COLUMNS]}
    X, y = training_frame()
    assert answers_rows_alone(LogisticRegression().fit(X.to_numpy(), y), signature)
    assert not answers_rows_alone(_CentredModel(), signature)
    text = {"type": "dataframe", "columns": [{"name": "city", "dtype": "object"}]}
    assert not answers_rows_alone(LogisticRegression().fit(X.to_numpy(), y), text)


@pytest.mark.kernel
def test_requests_that_arrive_together_are_scored_together_each_its_own_answer(
    registry_store, tmp_path
) -> None:
    """40 one-row requests written to the server in one go (pipelined) are read in one loop
    turn: fewer model calls than requests, and every answer is its own row's prediction,
    logged under its own request id."""
    url, store = registry_store
    X = training_frame(seed=11, rows=40)[0]
    expected = mm.load_model("churn@production", store=store).predict(X)
    assert 0 < expected.sum() < len(expected)  # both classes, so a mix-up would show
    bodies = [
        json.dumps({"dataframe_split": X.iloc[[i]].to_dict(orient="split")}).encode()
        for i in range(len(X))
    ]
    data = b"".join(
        _post("/invocations", body, f"Content-Type: application/json\r\nX-Request-Id: r{i}\r\n")
        for i, body in enumerate(bodies)
    )
    with serving(url, tmp_path, "churn@production") as served:
        port = int(served.url.rsplit(":", 1)[1])
        answers = _exchange(port, data, len(bodies))
        _status, metrics = served.get("/metrics")
        assert served.stop() == 0
    assert [h["X-Request-Id"] for _s, h, _b in answers] == [f"r{i}" for i in range(len(X))]
    assert [json.loads(b)["predictions"] for _s, _h, b in answers] == [[p] for p in expected]
    calls = next(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.decode().splitlines()
        if line.startswith("jupyter_mm_model_calls_total{")
    )
    assert calls < len(bodies)
    logged = {}
    from jupyter_mm.serving.predlog import read_batch

    for batch in store.prediction_batches("churn"):
        frame = read_batch(store, batch)
        logged.update(zip(frame["request_id"], frame["prediction"], strict=True))
    assert logged == {f"r{i}": p for i, p in enumerate(expected)}
