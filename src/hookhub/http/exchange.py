"""One HTTP/1.1 request and its response, as ASGI's ``receive`` and ``send``.

Both are plain functions that do their work at once and hand back a future that is already
done (or, while the client's socket is backed up, one that completes when it drains; the data is
written either way, so a cancelled wait loses nothing): an app that awaits them does not pay for
a coroutine per call. ``protocol.py`` parses the request and feeds the body in; this module
frames the answer.
"""

from __future__ import annotations

import asyncio
import http
import logging
import re
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hookhub.http.protocol import HttpProtocol

Message = dict[str, Any]

logger = logging.getLogger("uvicorn.error")

DISCONNECT: Message = {"type": "http.disconnect"}

# uvicorn's rules, which it applies as two searches per header: here one search over all the
# names joined and one over all the values (each rule is about single characters).
_INVALID_NAME = re.compile(b'[\x00-\x1f\x7f()<>@,;:\\[\\]={} \t\\\\"]')
_INVALID_VALUE = re.compile(b"[\x00-\x08\x0a-\x1f\x7f]")
_NO_CONTENT = frozenset({204, 304})


def _status_line(status: int) -> bytes:
    try:
        phrase = http.HTTPStatus(status).phrase.encode()
    except ValueError:
        phrase = b""
    return b"HTTP/1.1 %d %s\r\n" % (status, phrase)


STATUS_LINES = {status: _status_line(status) for status in range(100, 600)}


def closing_answer(status: int, text: bytes, content_type: bytes = b"text/plain; charset=utf-8") -> bytes:
    """A whole answer after which the connection closes (the server's own errors)."""
    head = b"content-type: %b\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
    return STATUS_LINES[status] + head % (content_type, len(text)) + text


def connection_tokens(value: bytes) -> list[bytes]:
    """The options of a ``Connection`` header (``close``, ``upgrade``, …), lower case."""
    return [token.strip() for token in value.lower().split(b",")]


_INTERNAL_ERROR = closing_answer(500, b"Internal Server Error")


class Exchange:
    """The state of one request/response cycle on a connection."""

    __slots__ = (
        "_bodiless",
        "_body_delivered",
        "_chunked",
        "_chunks",
        "_held_head",
        "_protocol",
        "_remaining",
        "_waiter",
        "complete",
        "disconnected",
        "expect_100",
        "keep_alive",
        "more_body",
        "scope",
        "started",
    )

    def __init__(self, protocol: HttpProtocol, scope: Message, keep_alive: bool, expect_100: bool) -> None:
        self._protocol = protocol
        self.scope = scope
        self.keep_alive = keep_alive
        self.expect_100 = expect_100
        self._chunks: list[bytes] = []
        self.more_body = True  # the request's body has not all arrived
        self._body_delivered = False  # the last http.request message has gone to the app
        self._waiter: asyncio.Future[Message] | None = None
        self.started = False
        self.complete = False
        self.disconnected = False
        self._chunked = False
        self._bodiless = False
        self._remaining: int | None = 0  # of the Content-Length the app announced; None: no length
        self._held_head: bytes | None = None

    # The request body, fed by the protocol

    def body_received(self, body: bytes) -> int:
        """Keep a piece of the body for ``receive``; the number of bytes now waiting."""
        waiter = self._take_waiter()
        if waiter is not None:
            waiter.set_result({"type": "http.request", "body": body, "more_body": True})
            return 0
        chunks = self._chunks
        chunks.append(body)
        return sum(map(len, chunks)) if len(chunks) > 1 else len(body)

    def body_complete(self) -> None:
        self.more_body = False
        waiter = self._take_waiter()
        if waiter is not None:
            self._body_delivered = True
            waiter.set_result({"type": "http.request", "body": b"", "more_body": False})

    def disconnect(self) -> None:
        """The client left: ``receive`` says so, ``send`` drops what it is given."""
        if not self.complete:
            self.disconnected = True
        self._chunks = []  # never delivered now
        self._wake_with(DISCONNECT)

    def _wake_with(self, message: Message) -> None:
        waiter = self._take_waiter()
        if waiter is not None:
            waiter.set_result(message)

    def _take_waiter(self) -> asyncio.Future[Message] | None:
        """The pending ``receive``, if the app still waits on it (a cancelled wait cancels it)."""
        waiter = self._waiter
        self._waiter = None
        return None if waiter is None or waiter.done() else waiter

    # ASGI

    def receive(self) -> Awaitable[Message]:
        protocol = self._protocol
        if self.expect_100:
            self.expect_100 = False
            if not self.started and not protocol.transport.is_closing():
                protocol.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                protocol.last_active = protocol.loop.time()  # the body's clock starts now
        waiter = self._take_waiter()
        if waiter is not None:  # a second caller: both hear the same message
            self._waiter = waiter
            return waiter
        ready: asyncio.Future[Message] = protocol.loop.create_future()
        if self.disconnected or self.complete:
            ready.set_result(DISCONNECT)
            return ready
        chunks = self._chunks
        if chunks or not (self.more_body or self._body_delivered):
            self._chunks = []
            if self.more_body:
                protocol.resume_reading()
            else:
                self._body_delivered = True
            body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            ready.set_result({"type": "http.request", "body": body, "more_body": self.more_body})
            return ready
        # More body to come, or all of it read and the answer (or a disconnect) still to come.
        protocol.resume_reading()
        self._waiter = ready
        return ready

    def send(self, message: Message) -> Awaitable[None]:
        protocol = self._protocol
        kind = message["type"]
        if self.disconnected:
            pass  # dropped, as uvicorn does
        elif not self.started:
            if kind != "http.response.start":
                raise RuntimeError(f"Expected ASGI message 'http.response.start', but got {kind!r}.")
            self._start(message["status"], message.get("headers", ()))
        elif not self.complete:
            if kind != "http.response.body":
                raise RuntimeError(f"Expected ASGI message 'http.response.body', but got {kind!r}.")
            self._body(message.get("body", b""), message.get("more_body", False))
        else:
            raise RuntimeError(f"Unexpected ASGI message {kind!r} sent, after response already completed.")
        return protocol.writable or protocol.drained()

    # The response

    def _start(self, status: int, headers: Any) -> None:
        protocol = self._protocol
        if status < 200:
            # A client reads a 1xx as interim and the next answer as this request's: the answers
            # after it on the connection would all be off by one.
            raise RuntimeError(f"A {status} is not a final answer.")
        # A 204 or 304 ends at its head whatever it says (RFC 9110 §6.4.1): a length or a body
        # here would be read as the next answer on the connection. So neither is sent.
        no_content = status in _NO_CONTENT
        lines = []
        length: int | None = None
        chunked = False
        close = False
        for name, value in headers:
            name = name.lower()
            if name == b"content-length":
                if no_content:
                    continue
                if length is None and not chunked:
                    length = int(value)
            elif name == b"transfer-encoding":
                if no_content:
                    continue
                chunked = value.lower() == b"chunked"
            elif name == b"connection" and b"close" in connection_tokens(value):
                close = True
                self.keep_alive = False
            lines += (name, b": ", value, b"\r\n")
        # Checked before anything is sent, so that the app's error becomes a 500.
        if _INVALID_NAME.search(b"".join(lines[0::4])):
            raise RuntimeError("Invalid HTTP header name.")
        if _INVALID_VALUE.search(b"".join(lines[2::4])):
            raise RuntimeError("Invalid HTTP header value.")
        head = b"".join(lines)
        self.started = True
        self.expect_100 = False
        if protocol.access_log:
            protocol.log_access(self.scope, status)
        if not self.keep_alive and not close:
            head += b"connection: close\r\n"
        bodiless = no_content or self.scope["method"] == "HEAD"
        close_delimited = False
        if length is None and not chunked and not bodiless:
            if self.scope["http_version"] == "1.0":
                close_delimited = True  # a 1.0 client cannot read chunks; it is never kept alive
            else:
                chunked = True
                head += b"transfer-encoding: chunked\r\n"
        status_line = STATUS_LINES.get(status) or _status_line(status)
        head = b"".join((status_line, protocol.default_headers(), head, b"\r\n"))
        self._chunked = chunked and not bodiless
        self._bodiless = bodiless
        if close_delimited:
            self._remaining = None
        else:
            self._remaining = 0 if chunked or length is None or bodiless else length
        if self._chunked or close_delimited:
            if not protocol.transport.is_closing():
                protocol.transport.write(head)  # a stream: its head goes out now
        else:
            # The body follows in the same turn when the app has it (every hookhub answer): one
            # write and one TCP segment for both. Flushed on the next turn if the body is late.
            self._held_head = head
            protocol.loop.call_soon(self._flush_head)

    def _flush_head(self) -> None:
        head = self._held_head
        if head is not None:
            self._held_head = None
            if not self._protocol.transport.is_closing():
                self._protocol.transport.write(head)

    def _body(self, body: bytes, more_body: bool) -> None:
        protocol = self._protocol
        if self._bodiless:  # a HEAD, 204 or 304 (a HEAD keeps the GET's Content-Length, RFC 9110 §9.3.2)
            data = b""
        elif self._chunked:
            data = b"%x\r\n%b\r\n" % (len(body), body) if body else b""
            if not more_body:
                data += b"0\r\n\r\n"
        elif self._remaining is None:  # ended by closing the connection
            data = body
        else:
            if len(body) > self._remaining:
                raise RuntimeError("Response content longer than Content-Length")
            self._remaining -= len(body)
            data = body
        head = self._held_head
        if head is not None:
            self._held_head = None
            data = head + data
        if data and not protocol.transport.is_closing():
            protocol.transport.write(data)
        if not more_body:
            if self._remaining:
                raise RuntimeError("Response content shorter than Content-Length")
            self.complete = True
            self._wake_with(DISCONNECT)
            protocol.response_complete(self)

    # The app's end

    def app_finished(self, task: asyncio.Task[Any]) -> None:
        """What uvicorn checks after an app returns: an error before the answer gets a 500, one
        during it closes the connection."""
        protocol = self._protocol
        protocol.tasks.discard(task)
        if task.cancelled():
            problem: str | None = "ASGI callable was cancelled."
            error: BaseException | None = None
        else:
            error = task.exception()
            problem = "Exception in ASGI application\n" if error is not None else None
        if problem is None:
            if task.result() is not None:
                logger.error("ASGI callable should return None, but returned '%s'.", task.result())
                protocol.transport.close()
            elif self.disconnected:
                pass
            elif not self.started:
                logger.error("ASGI callable returned without starting response.")
                self.internal_error()
            elif not self.complete:
                logger.error("ASGI callable returned without completing response.")
                protocol.transport.close()
            return
        logger.error(problem, exc_info=error)
        if not self.started and not self.disconnected:
            self.internal_error()
        else:
            protocol.transport.close()

    def internal_error(self) -> None:
        self.started = self.complete = True
        self.keep_alive = False
        self._wake_with(DISCONNECT)
        transport = self._protocol.transport
        if not transport.is_closing():
            transport.write(_INTERNAL_ERROR)
            transport.close()
        self._protocol.response_complete(self)
