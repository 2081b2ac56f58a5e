"""hookhub's HTTP/1.1 connection: httptools parses, uvicorn runs the server around it.

``serve`` passes this class to uvicorn as its ``http`` protocol. uvicorn still owns the sockets,
workers, lifespan, signals, graceful shutdown and the WebSocket protocol (an upgrade is handed to
it); this class replaces uvicorn's per-request cycle, which costs a request an ``asyncio.Event``,
a wrapping coroutine, a coroutine per ``receive`` and ``send``, two regex searches per response
header, and a keep-alive timer armed and cancelled around every request. Here:

- ``receive`` and ``send`` are plain functions returning done futures (``exchange.py``);
- the app's errors are handled in its task's done callback, not a wrapping coroutine;
- the response head is checked with one search over all names and one over all values, and
  leaves with the body in one write;
- one timer per connection enforces its timeouts (keep-alive, and a request head's and body's,
  see ``_check_timeouts``), and a request only notes the time.

Behaviour follows uvicorn's: pipelined requests are answered in order, a request body over 64 KiB
waiting to be read pauses the socket, ``Expect: 100-continue`` is answered on the first
``receive``, an app error before the answer gives a 500, a malformed request a 400. Beyond it,
the ``ConnectionLimits`` (``limits.py``): a request head over ``max_head_bytes`` gets a 431, one
slower than ``head_timeout`` or a body pausing longer than ``body_timeout`` a 408, and a
connection over ``max_connections`` a 503, each closing the connection.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
import urllib.parse
from collections import deque
from typing import Any, ClassVar

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT, service_unavailable
from uvicorn.protocols.utils import (
    get_client_addr,
    get_local_addr,
    get_path_with_query_string,
    get_remote_addr,
    is_ssl,
)
from uvicorn.server import ServerState

from hookhub.http.exchange import Exchange, connection_tokens
from hookhub.http.limits import ConnectionLimits
from hookhub.http.refusals import (
    BAD_REQUEST,
    BODY_TIMEOUT,
    HEAD_TIMEOUT,
    TOO_MANY_CONNECTIONS,
    head_too_large,
)

logger = logging.getLogger("uvicorn.error")
access_logger = logging.getLogger("uvicorn.access")

_ASGI = {"version": "3.0", "spec_version": "2.3"}
_METHODS = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")}


# After refusing a request, what the client still sends is read and dropped this long before
# closing: closing with unread data makes the kernel reset the connection, and a reset can
# destroy the refusal before the client reads it (RFC 9112 §9.6).
_LINGER_SECONDS = 2.0
_REFUSED_CONNECTIONS_LOG_EVERY = 60.0  # seconds: one warning a minute at most under a flood
_refused_connections_logged_at = -math.inf


class _Refused(Exception):
    """Raised in a parser callback after the request was refused, to stop parsing."""


class _DefaultHeaders:
    """uvicorn's default headers (Date, and any configured), encoded once per change: the server
    replaces the list every second. One tuple, swapped whole, so that servers in several threads
    never see one list with another's bytes."""

    latest: tuple[list[tuple[bytes, bytes]] | None, bytes] = (None, b"")

    @classmethod
    def of(cls, state: ServerState) -> bytes:
        headers = state.default_headers
        encoded_from, encoded = cls.latest
        if headers is not encoded_from:
            encoded = b"".join(b"%b: %b\r\n" % pair for pair in headers)
            cls.latest = (headers, encoded)
        return encoded


class HttpProtocol(asyncio.Protocol):
    # Slots: kept in an instance dict, 30 attributes made a request cost ~4% more instructions
    # than 26 did (bench.instructions bare); in slots their number does not matter.
    __slots__ = (
        "access_log",
        "active",
        "app",
        "app_state",
        "check_every",
        "client",
        "config",
        "done",
        "drain_waiters",
        "expect_100",
        "head_began",
        "head_bytes",
        "headers",
        "idle_timer",
        "keep_alive_seconds",
        "last_active",
        "lingering",
        "loop",
        "max_head_bytes",
        "parser",
        "parsing",
        "pipeline",
        "read_paused",
        "read_size",
        "root_path",
        "scheme",
        "server",
        "server_state",
        "tasks",
        "transport",
        "url",
        "writable",
    )
    limits: ClassVar[ConnectionLimits] = ConnectionLimits()
    too_large_head: ClassVar[bytes] = head_too_large(limits.max_head_bytes)

    @classmethod
    def limited(cls, limits: ConnectionLimits) -> type[HttpProtocol]:
        """This protocol with these limits, for uvicorn's ``http`` (which takes a class)."""
        refusal = head_too_large(limits.max_head_bytes)
        attributes = {"__slots__": (), "limits": limits, "too_large_head": refusal}
        return type(cls.__name__, (cls,), attributes)

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not config.loaded:
            config.load()
        self.config = config
        self.app = config.loaded_app
        self.loop = _loop or asyncio.get_event_loop()
        self.server_state = server_state
        self.app_state = app_state
        self.tasks = server_state.tasks
        self.access_log = access_logger.hasHandlers()
        self.parser = httptools.HttpRequestParser(self)
        # Answer the first of pipelined requests sent after a "Connection: close" one.
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self.keep_alive_seconds = config.timeout_keep_alive
        limits = self.limits
        self.max_head_bytes = limits.max_head_bytes
        # The timer's longest sleep: no deadline is nearer than the shortest timeout when it begins.
        self.check_every = min(self.keep_alive_seconds, limits.head_timeout, limits.body_timeout)
        self.root_path = config.root_path
        self.done: asyncio.Future[None] = self.loop.create_future()
        self.done.set_result(None)
        # What ``send`` hands back: ``done``, or None while the client's socket is backed up.
        self.writable: asyncio.Future[None] | None = self.done
        self.drain_waiters: list[asyncio.Future[None]] = []

        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.server: tuple[str, int | None] | None = None
        self.client: tuple[str, int] | None = None
        self.scheme = "http"
        self.read_paused = False
        self.last_active = 0.0  # when data last arrived, or a request was last answered
        self.read_size = 0  # of the latest read
        self.head_began: float | None = None  # when the unfinished request head began to arrive
        self.head_bytes = 0  # of it, in the reads after the one it began in (see _head_unfinished)
        self.idle_timer: asyncio.TimerHandle | None = None
        self.lingering = False
        self.active: Exchange | None = None  # the request being answered
        self.parsing: Exchange | None = None  # the latest request parsed (its body arrives here)
        self.pipeline: deque[Exchange] = deque()  # parsed, waiting for ``active`` to be answered

        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.expect_100 = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        connections = self.server_state.connections  # WebSocket ones too: uvicorn's protocols join
        cap = self.limits.max_connections
        if cap is not None and len(connections) >= cap:
            self._refuse_connection()
            return
        connections.add(self)
        self.server = get_local_addr(self.transport)
        self.client = get_remote_addr(self.transport)
        self.scheme = "https" if is_ssl(self.transport) else "http"
        self.last_active = self.loop.time()
        self.idle_timer = self.loop.call_later(self.check_every, self._check_timeouts)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server_state.connections.discard(self)
        self._stop_idle_timer()
        for exchange in (self.active, self.parsing, *self.pipeline):
            if exchange is not None:
                exchange.disconnect()
        self.resume_writing()
        if exc is None:
            self.transport.close()
        self._release()

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return
        self.last_active = self.loop.time()
        self.read_size = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._is_websocket_upgrade():
                self._upgrade_to_websocket()
            else:
                logger.warning("Unsupported upgrade request.")
        except httptools.HttpParserError:
            if not (self.lingering or self.transport.is_closing()):  # else a callback refused it
                logger.warning("Invalid HTTP request received.")
                self._refuse(BAD_REQUEST)
        else:
            if self.head_began is not None:
                self._head_unfinished()

    def eof_received(self) -> None:
        pass

    def pause_writing(self) -> None:
        self.writable = None

    def resume_writing(self) -> None:
        self.writable = self.done
        waiters, self.drain_waiters = self.drain_waiters, []
        for waiter in waiters:
            if not waiter.done():  # not cancelled by its task
                waiter.set_result(None)

    def drained(self) -> asyncio.Future[None]:
        """A future of its own for each waiting ``send``: cancelling one leaves the others."""
        waiter: asyncio.Future[None] = self.loop.create_future()
        self.drain_waiters.append(waiter)
        return waiter

    # httptools callbacks

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.expect_100 = False
        self.head_began = self.last_active
        self.head_bytes = -1  # this read is not counted (see _head_unfinished)

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100 = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.head_began = None
        # Measured only when it may be too large: it spans reads, or came in a large one.
        spans_reads_or_large = self.head_bytes >= 0 or self.read_size > self.max_head_bytes
        if spans_reads_or_large and self._head_size() > self.max_head_bytes:
            self._refuse(self.too_large_head)
            raise _Refused
        parser = self.parser
        if parser.should_upgrade() and self._is_websocket_upgrade():
            return  # data_received hands the connection over when httptools raises the upgrade
        http_version = parser.get_http_version()
        method = parser.get_method()
        url = httptools.parse_url(self.url)
        raw_path = url.path
        path = raw_path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        root_path = self.root_path
        scope = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": http_version,
            "server": self.server,
            "client": self.client,
            "scheme": self.scheme,
            "method": _METHODS.get(method) or method.decode("ascii"),
            "root_path": root_path,
            "path": root_path + path if root_path else path,
            "raw_path": root_path.encode("ascii") + raw_path if root_path else raw_path,
            "query_string": url.query or b"",
            "headers": self.headers,
            "state": self.app_state.copy(),
        }
        keep_alive = http_version != "1.0" and parser.should_keep_alive()
        exchange = Exchange(self, scope, keep_alive, self.expect_100)
        self.parsing = exchange
        if self.active is None:
            self._start(exchange)
        else:
            self.pipeline.append(exchange)
            self.pause_reading()

    def on_body(self, body: bytes) -> None:
        exchange = self.parsing
        if exchange is not None and exchange.body_received(body) > HIGH_WATER_LIMIT:
            self.pause_reading()

    def on_message_complete(self) -> None:
        exchange = self.parsing
        if exchange is not None:
            exchange.body_complete()

    # Request heads

    def _head_unfinished(self) -> None:
        """A read ended inside a request head: count it, refuse the head once it is too large.
        The reads after the one the head began in are all head; that first one may also hold the
        end of the request before, so it is left out: an unfinished head is refused at most one
        read (256 KiB) late, and a finished one is measured exactly (on_headers_complete)."""
        if self.head_bytes < 0:
            self.head_bytes = 0
            return
        self.head_bytes += self.read_size
        if self.head_bytes > self.max_head_bytes:
            self._refuse(self.too_large_head)

    def _head_size(self) -> int:
        """The request line and header fields as sent (give or take optional whitespace)."""
        fields = sum(len(name) + len(value) + 4 for name, value in self.headers)  # "n: v\r\n"
        return len(self.parser.get_method()) + len(self.url) + 12 + fields + 2

    # The exchanges

    def _start(self, exchange: Exchange) -> None:
        self.active = exchange
        app = self.app
        limit = self.config.limit_concurrency
        if limit is not None and (len(self.server_state.connections) >= limit or len(self.tasks) >= limit):
            logger.warning("Exceeded concurrency limit.")
            app = service_unavailable
        context = contextvars.Context() if self.config.reset_contextvars else None
        try:  # a plain-callable app can fail before it hands back a coroutine
            call = app(exchange.scope, exchange.receive, exchange.send)
            task = self.loop.create_task(call, context=context)
        except Exception as exc:
            logger.error("Exception in ASGI application\n", exc_info=exc)
            exchange.internal_error()
            return
        task.add_done_callback(exchange.app_finished)
        self.tasks.add(task)

    def response_complete(self, exchange: Exchange) -> None:
        """The answer to ``active`` has gone out: start the next pipelined request, if any."""
        self.server_state.total_requests += 1
        if exchange is not self.active:
            return
        self.active = None
        if self.parsing is exchange:
            self.parsing = None
        if not exchange.keep_alive:
            self.transport.close()
            return
        if self.transport.is_closing():
            return
        self.last_active = self.loop.time()
        if self.pipeline:
            self._start(self.pipeline.popleft())
        self.resume_reading()

    def default_headers(self) -> bytes:
        return _DefaultHeaders.of(self.server_state)

    def log_access(self, scope: dict[str, Any], status: int) -> None:
        access_logger.info(
            '%s - "%s %s HTTP/%s" %d',
            get_client_addr(scope),  # type: ignore[arg-type]
            scope["method"],
            get_path_with_query_string(scope),  # type: ignore[arg-type]
            scope["http_version"],
            status,
        )

    # Flow control and the connection's life

    def pause_reading(self) -> None:
        if not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.read_paused and not self.pipeline:
            self.read_paused = False
            self.last_active = self.loop.time()  # the body's clock restarts: the pause was ours
            self.transport.resume_reading()

    def _check_timeouts(self) -> None:
        """The connection's one timer. A request head must end within ``head_timeout`` of its
        first byte; a request body must not pause for ``body_timeout`` (unless reading is paused
        or the client awaits ``100 Continue``): a 408 for either, unless an answer has started.
        With no request in progress, the connection closes after ``timeout_keep_alive`` seconds
        without data; while the app answers, nothing times out. The timer sleeps until the
        nearest deadline, but never longer than ``check_every``, so one that begins meanwhile
        (always at least that far away) is met."""
        now = self.loop.time()
        limits = self.limits
        active = self.active
        parsing = self.parsing
        refusal: bytes | None = None
        if self.head_began is not None and active is None:
            deadline = self.head_began + limits.head_timeout
            refusal = HEAD_TIMEOUT
        elif parsing is not None and parsing.more_body and not (self.read_paused or parsing.expect_100):
            deadline = self.last_active + limits.body_timeout
            refusal = BODY_TIMEOUT
        elif active is None:
            deadline = self.last_active + self.keep_alive_seconds
        else:
            deadline = math.inf
        if now < deadline:
            wait = min(deadline - now, self.check_every)
            self.idle_timer = self.loop.call_later(wait, self._check_timeouts)
            return
        self.idle_timer = None
        if refusal is None:
            self.transport.close()
        else:
            self._refuse(refusal)

    def _refuse(self, refusal: bytes) -> None:
        """Close with one of the server's own errors: written unless an answer has started, or
        another request is being answered (it would be taken for that request's answer)."""
        transport = self.transport
        if transport.is_closing():
            return
        active = self.active
        if active is None or (active is self.parsing and not active.started):
            transport.write(refusal)
        if active is None and transport.can_write_eof():
            self._linger()
        else:
            transport.close()

    def _linger(self) -> None:
        """Half-close, then drop what the client still sends until it closes or the time is up.
        Only with no request in the app: nothing else writes to the connection meanwhile."""
        self.lingering = True
        self.transport.write_eof()
        self._stop_idle_timer()
        self.idle_timer = self.loop.call_later(_LINGER_SECONDS, self.transport.close)

    def _refuse_connection(self) -> None:
        global _refused_connections_logged_at
        now = self.loop.time()
        if now - _refused_connections_logged_at >= _REFUSED_CONNECTIONS_LOG_EVERY:
            _refused_connections_logged_at = now
            logger.warning("Refusing connections: %d are open already.", self.limits.max_connections)
        self.transport.write(TOO_MANY_CONNECTIONS)
        self.transport.close()

    def _release(self) -> None:
        """Drop what the closed connection holds. The parser and this protocol refer to each
        other (as did the exchanges, the timer): without this, a closed connection and its
        buffers would wait for a pass of the cyclic GC."""
        self.parser = None  # type: ignore[assignment]
        self.active = self.parsing = None
        self.pipeline.clear()
        self.url = b""
        self.headers = []

    def _stop_idle_timer(self) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None

    def shutdown(self) -> None:
        """The server is stopping: close now if idle, else after the answer in progress."""
        active = self.active
        if active is None:
            self.transport.close()
        else:
            active.keep_alive = False
            for queued in self.pipeline:
                queued.disconnect()
            self.pipeline.clear()

    # WebSocket: handed over to uvicorn's protocol

    def _is_websocket_upgrade(self) -> bool:
        if self.config.ws_protocol_class is None:
            return False
        connection: list[bytes] = []
        upgrade = None
        for name, value in self.headers:
            if name == b"connection":
                connection = connection_tokens(value)
            elif name == b"upgrade":
                upgrade = value.lower()
        return b"upgrade" in connection and upgrade == b"websocket"

    def _upgrade_to_websocket(self) -> None:
        self.server_state.connections.discard(self)
        self._stop_idle_timer()
        method = self.parser.get_method()
        request = [method, b" ", self.url, b" HTTP/1.1\r\n"]
        for name, value in self.headers:
            request += (name, b": ", value, b"\r\n")
        request.append(b"\r\n")
        protocol = self.config.ws_protocol_class(  # type: ignore[misc, call-arg]
            config=self.config, server_state=self.server_state, app_state=self.app_state
        )
        protocol.connection_made(self.transport)
        protocol.data_received(b"".join(request))
        self.transport.set_protocol(protocol)
        self._release()
