"""A small HTTP/1.1 server on asyncio for the scoring process.

Why not tornado (which served before): on a 1-row scoring request its HTTP layer cost about
0.3 ms of CPU per request on the 2-core machines this runs on — as much as everything else
the request needs except the model. A protocol object that reads the head with a few bytes
operations and writes the answer with one ``transport.write`` costs about a tenth of that.
And because the whole request is in hand when its last byte is read, requests that arrive
together can be scored together (see ``app.Scorer``).

What it speaks: HTTP/1.1 and 1.0 requests with a ``Content-Length`` or chunked body,
keep-alive (the default of 1.1, ``Connection: keep-alive`` for 1.0), pipelined requests
(answered in order), ``Expect: 100-continue``. What it refuses, then closes the connection:
a malformed request line or header (400), a head over :data:`MAX_HEAD_BYTES` (431), a body
over ``max_body`` (413), a transfer coding other than chunked (501).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any

MAX_HEAD_BYTES = 64 * 1024
#: how long a closing connection waits for the client to close its side
LINGER_SECONDS = 2.0
#: answers waiting to be written on one connection before it stops reading (pipelining)
MAX_QUEUED = 64
REASONS = {
    100: "Continue", 200: "OK", 400: "Bad Request", 404: "Not Found",
    405: "Method Not Allowed", 413: "Payload Too Large", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
}  # fmt: skip


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Request:
    __slots__ = ("body", "headers", "keep_alive", "method", "path")

    def __init__(self, method: str, path: str, headers: dict[str, str], keep_alive: bool):
        self.method, self.path, self.headers = method, path, headers
        self.keep_alive = keep_alive
        self.body = b""


class Reply:
    """Where a request's answer goes; answered once, in the connection's request order."""

    __slots__ = ("_connection", "close", "data")

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.data: bytes | None = None
        self.close = False

    def send(
        self, status: int, body: bytes, headers: list[tuple[str, str]], *, close: bool = False
    ) -> None:
        close = close or self.close
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}\r\nDate: {_date()}\r\n"]
        lines += [f"{name}: {value}\r\n" for name, value in headers]
        if close:
            lines.append("Connection: close\r\n")
        lines.append(f"Content-Length: {len(body)}\r\n\r\n")
        self.data = "".join(lines).encode("latin-1") + body
        self.close = close
        self._connection.answered()

    def json(self, status: int, value: Any, headers: tuple[tuple[str, str], ...] = ()) -> None:
        self.send(
            status, json.dumps(value).encode(), [("Content-Type", "application/json"), *headers]
        )


#: handler(request, reply): answers through ``reply`` now or later
Handler = Callable[[Request, Reply], None]

_date_cache: list[Any] = [0, ""]


def _date() -> str:
    """The Date header, formatted once a second."""
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[:] = [now, email.utils.formatdate(now, usegmt=True)]
    return _date_cache[1]


class Connection(asyncio.Protocol):
    """One client connection: reads requests, hands each to ``handler``, writes answers."""

    def __init__(self, handler: Handler, max_body: int, connections: set[Connection]) -> None:
        self.handler, self.max_body, self.connections = handler, max_body, connections
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._request: Request | None = None
        self._need = 0  # body bytes still to read (Content-Length)
        self._chunks: list[bytes] | None = None  # the chunks so far of a chunked body
        self._replies: deque[Reply] = deque()
        self._paused = False
        self._last = False
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.connections.discard(self)

    def eof_received(self) -> bool:
        """The client sent all it will: answer what is pending, then close."""
        self._last = True
        if not self._replies:
            return False  # the transport closes
        self._replies[-1].close = True
        return True

    def data_received(self, data: bytes) -> None:
        if self._last:  # the connection closes after its last answer; the rest is dropped
            return
        self._buffer += data
        try:
            while not self.closing and not self._last and self._next_request():
                pass
        except BadRequest as exc:
            self._refuse(exc.status, str(exc))

    # -- reading ------------------------------------------------------------------------------

    def _next_request(self) -> bool:
        """Read as much of the buffer as makes progress; True when a request was handed on."""
        if self._request is None and not self._read_head():
            return False
        request = self._request
        assert request is not None
        if self._chunks is not None:
            if not self._read_chunks():
                return False
            request.body = b"".join(self._chunks)
            self._chunks = None
        else:
            if len(self._buffer) < self._need:
                return False
            request.body = bytes(self._buffer[: self._need])
            del self._buffer[: self._need]
        self._request = None
        reply = Reply(self)
        reply.close = not request.keep_alive
        self._replies.append(reply)
        if reply.close:
            self._last = True  # nothing after this request is read
        if len(self._replies) >= MAX_QUEUED and self.transport is not None:
            self.transport.pause_reading()
            self._paused = True
        self.handler(request, reply)
        return True

    def _read_head(self) -> bool:
        while self._buffer[:2] == b"\r\n":  # stray line ends between requests
            del self._buffer[:2]
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise BadRequest(431, "The request head is too large.")
            return False
        if end > MAX_HEAD_BYTES:
            raise BadRequest(431, "The request head is too large.")
        head = bytes(self._buffer[:end]).decode("latin-1")
        del self._buffer[: end + 4]
        self._request = request = _parse_head(head)
        self._frame_body(request)
        return True

    def _frame_body(self, request: Request) -> None:
        headers = request.headers
        coding = headers.get("transfer-encoding")
        length = headers.get("content-length")
        if coding is not None:
            if length is not None:
                raise BadRequest(400, "Both Content-Length and Transfer-Encoding were sent.")
            if coding.strip().lower() != "chunked":
                raise BadRequest(501, f"Transfer-Encoding {coding!r} is not supported.")
            self._chunks, self._need = [], 0
        elif length is not None:
            if not length.isdigit() or not length.isascii():
                raise BadRequest(400, "Content-Length is not a number.")
            self._need = int(length)
            if self._need > self.max_body:
                raise BadRequest(413, f"The body is larger than {self.max_body} bytes.")
        else:
            self._need = 0
        waiting = self._need > 0 or self._chunks is not None
        if waiting and headers.get("expect", "").lower() == "100-continue" and self.transport:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _read_chunks(self) -> bool:
        """Take the complete chunks in the buffer; True once the last one (and the
        trailers) are read."""
        chunks = self._chunks
        assert chunks is not None
        while True:
            line_end = self._buffer.find(b"\r\n")
            if line_end < 0:
                if len(self._buffer) > MAX_HEAD_BYTES:
                    raise BadRequest(400, "A chunk size line is too long.")
                return False
            size_text = bytes(self._buffer[:line_end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BadRequest(400, "A chunk size is not a hexadecimal number.") from None
            if size < 0 or self._need + size > self.max_body:
                raise BadRequest(413, f"The body is larger than {self.max_body} bytes.")
            if size == 0:
                trailers_end = self._buffer.find(b"\r\n\r\n", line_end)
                if self._buffer[line_end : line_end + 4] == b"\r\n\r\n" or trailers_end >= 0:
                    end = line_end + 4 if trailers_end < 0 else trailers_end + 4
                    del self._buffer[:end]
                    return True
                return False
            start, stop = line_end + 2, line_end + 2 + size
            if len(self._buffer) < stop + 2:
                return False
            if self._buffer[stop : stop + 2] != b"\r\n":
                raise BadRequest(400, "A chunk does not end where its size says.")
            chunks.append(bytes(self._buffer[start:stop]))
            self._need += size
            del self._buffer[: stop + 2]

    # -- writing ------------------------------------------------------------------------------

    def answered(self) -> None:
        """Write the answers that are ready, in request order."""
        replies = self._replies
        while replies and replies[0].data is not None:
            reply = replies.popleft()
            if self.closing or self.transport is None:
                continue
            self.transport.write(reply.data)  # type: ignore[arg-type]
            if reply.close:
                self._close()
        if self._paused and len(replies) < MAX_QUEUED // 2 and not self.closing:
            self._paused = False
            self.transport.resume_reading()  # type: ignore[union-attr]

    def _refuse(self, status: int, message: str) -> None:
        """Answer a request that cannot be read (after the ones before it) and close."""
        reply = Reply(self)
        self._replies.append(reply)
        body = json.dumps({"error_code": "BAD_REQUEST", "message": message}).encode()
        self._last = True  # what follows an unreadable request cannot be framed
        reply.send(status, body, [("Content-Type", "application/json")], close=True)

    def _close(self) -> None:
        """Close after the answers written so far. Closing a socket with unread input makes
        the kernel reset the connection, and the client may lose the answer (a refused
        oversized body is still arriving): so half-close, drop what still comes, and close
        when the client does (or after :data:`LINGER_SECONDS`)."""
        self.closing = self._last = True
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if transport.can_write_eof():
            transport.write_eof()
            asyncio.get_running_loop().call_later(LINGER_SECONDS, transport.close)
        else:
            transport.close()

    def close_when_idle(self) -> None:
        """Shutdown: close now when no answer is pending, else after the last one."""
        if not self._replies:
            self._close()
        else:
            self._replies[-1].close = True


def _parse_head(head: str) -> Request:
    lines = head.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[1]:
        raise BadRequest(400, "The request line is malformed.")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise BadRequest(400, f"{version[:20]!r} is not HTTP/1.0 or HTTP/1.1.")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or " " in name:
            raise BadRequest(400, "A header line is malformed.")
        key = name.lower()
        value = value.strip(" \t")
        if key in headers:
            if key in ("content-length", "transfer-encoding", "host"):
                raise BadRequest(400, f"The header {name} was sent twice.")
            value = f"{headers[key]}, {value}"
        headers[key] = value
    connection = headers.get("connection", "").lower()
    # 1.1 keeps the connection unless told to close it; 1.0 only when asked to keep it
    keep_alive = (
        ("close" not in connection) if version == "HTTP/1.1" else "keep-alive" in connection
    )
    path = target.split("?", 1)[0]
    return Request(method, path, headers, keep_alive)


async def start_server(
    handler: Handler, sockets: list[Any], max_body: int
) -> tuple[list[asyncio.Server], set[Connection]]:
    """Serve ``handler`` on already bound, listening ``sockets``."""
    loop = asyncio.get_running_loop()
    connections: set[Connection] = set()
    servers = [
        await loop.create_server(
            lambda: Connection(handler, max_body, connections), sock=sock, backlog=1024
        )
        for sock in sockets
    ]
    return servers, connections
