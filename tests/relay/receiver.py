"""A loopback HTTP server that records each request it gets (method, path, headers, exact body)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


# (request) -> (status, headers, body) of the answer
Responder = Callable[[Received], tuple[int, dict[str, str], bytes]]


class Receiver:
    def __init__(self, server: ThreadingHTTPServer, requests: queue.Queue[Received]) -> None:
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self.requests = requests

    def next(self, timeout: float = 15.0) -> Received:
        return self.requests.get(timeout=timeout)


@contextmanager
def receiver(respond: Responder | None = None) -> Iterator[Receiver]:
    requests: queue.Queue[Received] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            got = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            status, headers, answer = respond(got) if respond else (200, {}, b"ok")
            requests.put(got)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(server, requests)
    finally:
        server.shutdown()
        server.server_close()
