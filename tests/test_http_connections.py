"""What a connection may cost the server (``hookhub.http.limits``): the size of a request head,
the pace of a head and of a body, the number of connections, and the memory of closed ones.

Like test_http_semantics.py, each test also runs on uvicorn's httptools protocol where the
behaviour is one both should have (a slow but steady client is served); what only hookhub's
protocol enforces is marked. Raw sockets, since the point is what a client sends on the wire."""

from __future__ import annotations

import asyncio
import gc
import json
import select
import socket
import subprocess
import sys
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from websockets.sync.client import connect as websocket_connect

from hookhub.http.body_limit import ClientDisconnected, read_body
from hookhub.http.limits import ConnectionLimits, default_max_connections
from hookhub.http.protocol import HttpProtocol
from tests.support.raw_http import connect_raw, hookhub_only, read_until_closed
from tests.support.server import ServerProcess
from tests.support.threaded_server import ThreadedServer
from tests.support.waiting import wait_for

LIMITS = ConnectionLimits(max_head_bytes=16 * 1024, head_timeout=1.0, body_timeout=1.0)
PROTOCOLS = {"hookhub": HttpProtocol.limited(LIMITS), "uvicorn": HttpToolsProtocol}
SLOW_APP_SECONDS = 2.0  # longer than the timeouts above


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass
        return
    if scope["type"] != "http":
        return
    if scope["path"] == "/slow-to-read":
        await asyncio.sleep(SLOW_APP_SECONDS)
    try:
        body = await read_body(receive, sys.maxsize)
    except ClientDisconnected:
        return
    answer = json.dumps({"length": len(body or b""), "headers": len(scope["headers"])}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


@pytest.fixture(scope="module", params=list(PROTOCOLS))
def server(request: pytest.FixtureRequest) -> Iterator[ThreadedServer]:
    with ThreadedServer(_app, PROTOCOLS[request.param]) as running:
        yield running


def _answer(data: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def _send_until_answered(sock: socket.socket, pieces: Iterator[bytes]) -> bytes:
    """Send pieces until the server answers (or the pieces run out), then read to the end."""
    for piece in pieces:
        readable, _, _ = select.select([sock], [], [], 0)
        if readable:
            break
        sock.sendall(piece)
    return read_until_closed(sock)


def _post(path: str, length: int, extra: str = "") -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n{extra}\r\n".encode()


# Request heads


def test_a_head_over_the_limit_gets_431(server: ThreadedServer, request: pytest.FixtureRequest) -> None:
    hookhub_only(request, "uvicorn's httptools protocol has no limit on request heads")
    with connect_raw(server.port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * LIMITS.max_head_bytes + b"\r\n\r\n")
        status, headers, body = _answer(read_until_closed(sock))
    assert status == 431
    assert headers["connection"] == "close"
    assert json.loads(body)["code"] == "head_too_large"


def test_an_unfinished_head_is_refused_once_over_the_limit(
    server: ThreadedServer, request: pytest.FixtureRequest
) -> None:
    """A header that never ends is not buffered without bound: the server answers 431 while
    the client is still sending it."""
    hookhub_only(request, "uvicorn's httptools protocol has no limit on request heads")
    endless = _dripping(b"a" * 1024, 0.001, 64 * 1024)  # one read each, up to 64 MiB
    with connect_raw(server.port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        status, _, body = _answer(_send_until_answered(sock, endless))
    assert status == 431
    assert json.loads(body)["code"] == "head_too_large"


def test_many_header_fields_over_the_limit_get_431(
    server: ThreadedServer, request: pytest.FixtureRequest
) -> None:
    hookhub_only(request, "uvicorn's httptools protocol has no limit on request heads")
    fields = (b"X-Field-%d: v\r\n" % i for i in range(100_000))  # 2 MiB in all: reads of any size
    with connect_raw(server.port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        status, _, _ = _answer(_send_until_answered(sock, fields))
    assert status == 431


def test_a_head_under_the_limit_in_many_reads_is_answered(server: ThreadedServer) -> None:
    fields = [b"X-Field-%05d: %b\r\n" % (i, b"v" * 80) for i in range(150)]  # 14 KiB
    assert sum(map(len, fields)) < LIMITS.max_head_bytes - 100
    with connect_raw(server.port) as sock:
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n")
        for field in fields:
            sock.sendall(field)
            time.sleep(0.001)
        sock.sendall(b"\r\n")
        status, _, body = _answer(read_until_closed(sock))
    assert status == 200
    assert json.loads(body)["headers"] == 152


def test_a_large_body_is_not_taken_for_a_large_head(server: ThreadedServer) -> None:
    """A body in the read that holds its head, and the end of one pipelined after a large
    body in the read that begins the next head: neither counts as head."""
    large = 300 * 1024
    requests = _post("/echo", large) + b"x" * large + _post("/echo", 3, "Connection: close\r\n") + b"abc"
    with connect_raw(server.port) as sock:
        sock.sendall(requests)
        data = read_until_closed(sock)
    first, _, second = data.partition(b"HTTP/1.1 200 OK")[2].partition(b"HTTP/1.1 ")
    assert json.loads(first.partition(b"\r\n\r\n")[2])["length"] == large
    assert second.startswith(b"200") and json.loads(second.partition(b"\r\n\r\n")[2])["length"] == 3


# Slow clients


def _dripping(piece: bytes, every: float, count: int) -> Iterator[bytes]:
    for _ in range(count):
        time.sleep(every)
        yield piece


@pytest.mark.parametrize("every", [0.001, 0.2])
def test_a_head_that_does_not_end_in_time_gets_408(
    server: ThreadedServer, request: pytest.FixtureRequest, every: float
) -> None:
    """However fast its bytes trickle in (which kept a connection open for ever before)."""
    hookhub_only(request, "uvicorn's httptools protocol has no timeout on request heads")
    with connect_raw(server.port) as sock:
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        status, headers, body = _answer(_send_until_answered(sock, _dripping(b"a", every, int(10 / every))))
    assert status == 408
    assert headers["connection"] == "close"
    assert json.loads(body) == {
        "code": "request_timeout",
        "detail": "The request's head did not arrive in time.",
    }


def test_a_body_shorter_than_its_content_length_gets_408(
    server: ThreadedServer, request: pytest.FixtureRequest
) -> None:
    hookhub_only(request, "uvicorn's httptools protocol waits for the rest of a body for ever")
    with connect_raw(server.port) as sock:
        sock.sendall(_post("/echo", 1000) + b"only ten b")
        status, headers, body = _answer(read_until_closed(sock))
    assert status == 408
    assert headers["connection"] == "close"
    assert json.loads(body) == {"code": "request_timeout", "detail": "The request's body stopped arriving."}


def test_a_body_that_keeps_arriving_is_read_whole(server: ThreadedServer) -> None:
    """Longer in all than the body timeout, never pausing that long."""
    pieces = 25  # 0.1 s apart: 2.5 s
    with connect_raw(server.port) as sock:
        sock.sendall(_post("/echo", pieces, "Connection: close\r\n"))
        for _ in range(pieces):
            time.sleep(0.1)
            sock.sendall(b"x")
        status, _, body = _answer(read_until_closed(sock))
    assert status == 200 and json.loads(body)["length"] == pieces


def test_a_client_awaiting_100_continue_is_not_timed_out(server: ThreadedServer) -> None:
    """The body's clock starts when the app asks for it (100 Continue), here after 2 s."""
    with connect_raw(server.port) as sock:
        sock.sendall(_post("/slow-to-read", 5, "Expect: 100-continue\r\nConnection: close\r\n"))
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(b"hello")
        status, _, body = _answer(read_until_closed(sock))
    assert status == 200 and json.loads(body)["length"] == 5


def test_a_large_body_the_app_is_slow_to_read_is_read_whole(server: ThreadedServer) -> None:
    """Reading pauses while 64 KiB wait for the app: the body's clock does not run then."""
    size = 4 * 1024 * 1024
    response = httpx.post(server.url + "/slow-to-read", content=b"x" * size, timeout=30)
    assert response.status_code == 200 and response.json()["length"] == size


# Connections


def test_connections_over_the_cap_are_refused_with_503() -> None:
    """WebSocket connections count as well."""
    capped = HttpProtocol.limited(ConnectionLimits(max_connections=3))
    with (
        ThreadedServer(_app, capped) as running,
        connect_raw(running.port) as first,
        connect_raw(running.port),
        websocket_connect(f"ws://127.0.0.1:{running.port}/ws"),
    ):
        wait_for(lambda: len(running.server.server_state.connections) == 3, what="3 connections")
        with connect_raw(running.port) as over:
            status, headers, body = _answer(read_until_closed(over))
        assert status == 503 and headers["connection"] == "close"
        assert json.loads(body)["code"] == "unavailable"
        first.close()
        wait_for(lambda: _answers(running.url + "/echo") == 200, what="a 200 once one has closed")


def _answers(url: str) -> int | None:
    try:
        return httpx.get(url).status_code
    except httpx.HTTPError:
        return None


class _Tracked(HttpProtocol.limited(LIMITS)):  # type: ignore[misc]
    """Each connection's protocol, weakly: gone once nothing refers to it."""

    alive: weakref.WeakSet[HttpProtocol] = weakref.WeakSet()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _Tracked.alive.add(self)


def test_closed_connections_are_freed_without_the_cyclic_gc() -> None:
    """The protocol and its parser refer to each other, and to the requests in progress: a
    closed connection must not wait for a cyclic GC pass (its buffers with it)."""
    partial_body = _post("/echo", 100_000) + b"x" * 70_000  # over the 64 KiB that pause reading
    ways_to_end = {
        "idle": lambda sock: None,
        "partial head": lambda sock: sock.sendall(b"GET / HTTP/1.1\r\nX-Half: " + b"a" * 10_000),
        "partial body": lambda sock: sock.sendall(partial_body),
        "answered": lambda sock: (sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), sock.recv(65536)),
        "refused": lambda sock: (
            sock.sendall(b"GET / HTTP/1.1\r\nX: " + b"a" * 20_000 + b"\r\n\r\n"),
            sock.recv(65536),
        ),
        "timed out": lambda sock: (sock.sendall(_post("/echo", 10)), sock.recv(65536)),
    }
    with ThreadedServer(_app, _Tracked) as running:
        gc.collect()
        gc.disable()
        try:
            for name, end in ways_to_end.items():
                for _ in range(10):
                    with connect_raw(running.port) as sock:
                        end(sock)
                with websocket_connect(f"ws://127.0.0.1:{running.port}/ws"):
                    pass
                wait_for(lambda: not running.server.server_state.connections, what=f"{name}: all closed")
                wait_for(lambda: not _Tracked.alive, timeout=5, what=f"{name}: protocols freed")
        finally:
            gc.enable()


# hookhub serve


def test_serve_takes_its_limits_from_the_settings(make_server: Callable[..., ServerProcess]) -> None:
    server = make_server({"HOOKHUB_MAX_HEAD_BYTES": "2048", "HOOKHUB_MAX_CONNECTIONS": "2"})
    with connect_raw(server.port) as sock:
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2048 + b"\r\n\r\n")
        status, _, body = _answer(read_until_closed(sock))
    assert status == 431
    assert json.loads(body)["detail"] == "The request line and headers are larger than 2048 bytes."
    with connect_raw(server.port), connect_raw(server.port):
        wait_for(lambda: _answers(f"{server.url}/api/v1/health") == 503, what="a third one refused")


def test_the_open_files_limit_is_raised_to_the_hard_limit() -> None:
    """So that the default connection cap is not sized for a soft limit of 1,024."""
    script = (
        "import resource\n"
        "from hookhub.http.limits import raise_open_files_limit\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))\n"
        "print(raise_open_files_limit(), *resource.getrlimit(resource.RLIMIT_NOFILE))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    returned, soft, hard = map(int, out.stdout.split())
    assert returned == soft == hard > 256


@pytest.mark.parametrize(
    ("open_files", "reserved", "cap"),
    [(1024, 128 + 512, 384), (256, 640, 64), (1 << 20, 128, 10_000)],
)
def test_the_default_connection_cap(open_files: int, reserved: int, cap: int) -> None:
    assert default_max_connections(open_files, reserved) == cap
