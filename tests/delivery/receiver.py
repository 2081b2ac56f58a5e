"""A recording webhook receiver on loopback: a real HTTP server in a thread.

It answers scripted replies in order (status, delay, headers, body), then the default reply,
and records every request it got (headers, exact body bytes, arrival time).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when the request arrived

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # a burst of connections is accepted, not left to retry its SYN


class Receiver:
    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply()
        self.script: list[Reply] = []
        self.requests: list[Received] = []
        # Requests being answered now, and the most there ever were at once.
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                received = Received(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                reply = receiver._record(received)
                if reply.delay:
                    time.sleep(reply.delay)
                # Counted out before the answer is written: the sender cannot have it sooner.
                with receiver._lock:
                    receiver.in_flight -= 1
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_PUT = do_PATCH = do_POST  # a transformation may change the method

            def log_message(self, *_args: object) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def reply_with(self, *replies: Reply) -> Receiver:
        with self._lock:
            self.script.extend(replies)
        return self

    def _record(self, received: Received) -> Reply:
        with self._cond:
            self.requests.append(received)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            reply = self.script.pop(0) if self.script else self.default
            self._cond.notify_all()
            return reply

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        """Block until at least ``count`` requests arrived (or fail after ``timeout`` seconds)."""
        return self.wait_until(lambda got: len(got) >= count, timeout, f"{count} requests")

    def wait_until(
        self, predicate: Callable[[list[Received]], bool], timeout: float = 15.0, what: str = "condition"
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.requests):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"receiver: timed out waiting for {what}; got {len(self.requests)}")
                self._cond.wait(left)
            return list(self.requests)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
