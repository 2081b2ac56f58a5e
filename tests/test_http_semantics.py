"""HTTP/1.1 as ``serve`` speaks it: hookhub's protocol (``hookhub.http.protocol``) against the
same app and the same requests as uvicorn's own httptools protocol, which every test also runs
on, so each asserts behaviour both give. Real clients (httpx, websockets) where they can say what
is checked; a raw socket where the point is the bytes on the wire."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from websockets.sync.client import connect as websocket_connect

from hookhub.http.body_limit import read_body
from hookhub.http.protocol import HttpProtocol
from tests.support.kept_alive import KeptAlive
from tests.support.raw_http import connect_raw, hookhub_only, read_until_closed
from tests.support.threaded_server import ThreadedServer

KEEP_ALIVE_SECONDS = 1
PROTOCOLS = {"hookhub": HttpProtocol, "uvicorn": HttpToolsProtocol}
STREAM_PARTS = [f"part {i}\n".encode() for i in range(5)]  # what /stream sends, 10 ms apart
SMUGGLED = b"HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\nspoofed"


class _App:
    """Routes by path; ``disconnects`` collects what ``receive`` said after a client left."""

    def __init__(self) -> None:
        self.disconnects: list[str] = []
        self.disconnected = threading.Event()
        self.sends_given_up: list[int] = []

    def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        """A plain callable handing back a coroutine, as hookhub's dispatcher is."""
        if scope.get("path") == "/boom-sync":
            raise RuntimeError("before there is a coroutine")
        return self._handle(scope, receive, send)

    async def _handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await self._websocket(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/boom-before":
            raise RuntimeError("before the answer")
        if path == "/nothing":
            return
        if path.startswith("/inject"):
            smuggled = (
                (b"x-note: a\r\nx-evil", b"1") if path == "/inject-name" else (b"x-note", b"a\r\nx-evil: 1")
            )
            headers = [(b"content-length", b"2"), smuggled]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        if path == "/no-content":  # a 204 or 304 given a length and a body: an answer of its own
            status = int(scope["query_string"].decode().partition("=")[2])
            headers = [(b"content-length", str(len(SMUGGLED)).encode())]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": SMUGGLED})
            return
        if path == "/interim":  # a 1xx as the final answer
            await send({"type": "http.response.start", "status": 103, "headers": _length(SMUGGLED)})
            await send({"type": "http.response.body", "body": SMUGGLED})
            return
        if path == "/boom-after":
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]}
            )
            await send({"type": "http.response.body", "body": b"12345", "more_body": True})
            raise RuntimeError("during the answer")
        if path == "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for part in STREAM_PARTS:
                await send({"type": "http.response.body", "body": part, "more_body": True})
                await asyncio.sleep(0.01)
            await send({"type": "http.response.body", "body": b""})
            return
        if path == "/big-impatient":  # gives up on one send while the client is not reading
            size = int(scope["query_string"].decode().partition("=")[2])
            self.sends_given_up.clear()
            await _answer_in_pieces(send, size, gave_up=self.sends_given_up)
            return
        if path == "/big":
            size = int(scope["query_string"].decode().partition("=")[2])
            await _answer_in_pieces(send, size)
            return
        if path == "/impatient":  # gives up on one receive while the body is still on its way
            first = await receive()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(receive(), 0.05)
            rest = await read_body(receive, sys.maxsize)
            answer = str(len(first["body"]) + len(rest)).encode()
            await send({"type": "http.response.start", "status": 200, "headers": _length(answer)})
            await send({"type": "http.response.body", "body": answer})
            return
        if path == "/wait-for-disconnect":
            await read_body(receive, sys.maxsize)
            message = await receive()
            self.disconnects.append(message["type"])
            self.disconnected.set()
            return
        body = await read_body(receive, sys.maxsize)
        if path == "/slow":
            await asyncio.sleep(2)
        answer = {
            "method": scope["method"],
            "path": path,
            "raw_path": scope["raw_path"].decode(),
            "query": scope["query_string"].decode(),
            "http_version": scope["http_version"],
            "client_port": scope["client"][1],
            "body_length": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "body": body.decode(errors="replace") if len(body) < 100 else "",
        }
        data = json.dumps(answer).encode()
        if scope["method"] == "HEAD":
            data = b"hello"
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    async def _websocket(self, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        message = await receive()
        await send({"type": "websocket.send", "text": "echo: " + message["text"]})
        await send({"type": "websocket.close"})


def _length(body: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"content-length", str(len(body)).encode())]


async def _answer_in_pieces(send: Any, size: int, *, gave_up: list[int] | None = None) -> None:
    """``size`` bytes in 64 KiB pieces; with ``gave_up``, the first send that has to wait for the
    client is given up on after 50 ms (and counted there), and the rest sent as usual."""
    headers = [(b"content-length", str(size).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    piece = bytes(range(256)) * 256
    sent = 0
    while sent < size:
        chunk = piece[: min(len(piece), size - sent)]
        sent += len(chunk)
        pending = send({"type": "http.response.body", "body": chunk, "more_body": sent < size})
        if gave_up is not None and not gave_up and not pending.done():
            gave_up.append(sent)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pending, 0.05)
        else:
            await pending


def _expected_big(size: int) -> bytes:
    piece = bytes(range(256)) * 256
    return (piece * (size // len(piece) + 1))[:size]


def _serving(protocol: str) -> ThreadedServer:
    return ThreadedServer(_App(), PROTOCOLS[protocol], timeout_keep_alive=KEEP_ALIVE_SECONDS)


class _LoopErrors(logging.Handler):
    """What the event loop reports as errors (a write to a closed transport, a callback that
    raised): none of the tests here should cause one."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module", params=list(PROTOCOLS))
def server(request: pytest.FixtureRequest) -> Iterator[ThreadedServer]:
    loop_errors = _LoopErrors()
    logging.getLogger("asyncio").addHandler(loop_errors)
    try:
        with _serving(request.param) as running:
            yield running
    finally:
        logging.getLogger("asyncio").removeHandler(loop_errors)
    assert loop_errors.messages == []


def _responses(data: bytes) -> list[tuple[bytes, bytes]]:
    """Split bytes holding Content-Length responses into (head, body) pairs."""
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lengths = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
        length = int(lengths[0].split(b":")[1]) if lengths else 0
        out.append((head, rest[:length]))
        data = rest[length:]
    return out


def test_a_keep_alive_client_reuses_one_connection(server: ThreadedServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        ports = {client.post("/echo", content=b"x").json()["client_port"] for _ in range(20)}
    assert len(ports) == 1


def test_path_query_and_raw_path(server: ThreadedServer) -> None:
    answer = httpx.get(server.url + "/echo/a%20b?x=1&y=%2F").json()
    assert answer["path"] == "/echo/a b"
    assert answer["raw_path"] == "/echo/a%20b"
    assert answer["query"] == "x=1&y=%2F"
    assert answer["method"] == "GET"


def test_http_1_0_gets_its_answer_and_the_connection_closed(server: ThreadedServer) -> None:
    with connect_raw(server.port) as sock:
        sock.sendall(b"POST /echo HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc")
        data = read_until_closed(sock)
    ((head, body),) = _responses(data)
    assert head.startswith(b"HTTP/1.1 200")
    assert json.loads(body)["http_version"] == "1.0"
    assert json.loads(body)["body"] == "abc"


def test_connection_close_is_honoured(server: ThreadedServer) -> None:
    with connect_raw(server.port) as sock:
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = read_until_closed(sock)
    ((head, _body),) = _responses(data)
    assert b"connection: close" in head.lower()


def test_a_chunked_request_body_arrives_whole(server: ThreadedServer) -> None:
    parts = [bytes([i]) * 1000 for i in range(50)]
    answer = httpx.post(server.url + "/echo", content=iter(parts)).json()
    assert answer["body_sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()


def test_a_large_body_arrives_whole_both_ways(server: ThreadedServer) -> None:
    body = bytes(range(256)) * 16384  # 4 MiB, past the 64 KiB that pauses reading
    answer = httpx.post(server.url + "/echo", content=body, timeout=30).json()
    assert answer["body_length"] == len(body)
    assert answer["body_sha256"] == hashlib.sha256(body).hexdigest()
    size = 8 * 1024 * 1024 + 7
    assert httpx.get(server.url + f"/big?size={size}", timeout=30).content == _expected_big(size)


def test_a_slow_reader_gets_every_byte(server: ThreadedServer) -> None:
    """The server's writes back up (pause_writing) while the client does not read."""
    size = 16 * 1024 * 1024
    with connect_raw(server.port) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        sock.sendall(f"GET /big?size={size} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        time.sleep(0.5)
        sock.settimeout(30)
        data = read_until_closed(sock)
    ((_head, body),) = _responses(data)
    assert body == _expected_big(size)


def test_a_send_given_up_on_loses_no_answer(server: ThreadedServer, request: pytest.FixtureRequest) -> None:
    """An app times out one send while the client is not reading, then sends the rest."""
    hookhub_only(request, "uvicorn waits for the socket before writing: a cancelled send is not sent")
    size = 16 * 1024 * 1024
    with connect_raw(server.port) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        sock.sendall(
            f"GET /big-impatient?size={size} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
        )
        time.sleep(0.5)
        sock.settimeout(30)
        data = read_until_closed(sock)
    ((_head, body),) = _responses(data)
    assert body == _expected_big(size)
    assert server.app.sends_given_up  # the case happened


def test_expect_100_continue(server: ThreadedServer) -> None:
    with connect_raw(server.port) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        interim = b""
        while b"\r\n\r\n" not in interim:
            interim += sock.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(b"hello")
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = interim.partition(b"\r\n\r\n")[2] + read_until_closed(sock)
    (_, first), (_, second) = _responses(data)
    assert json.loads(first)["body"] == "hello"
    assert json.loads(second)["method"] == "GET"


def test_head_answers_without_a_body(server: ThreadedServer) -> None:
    with connect_raw(server.port) as sock:
        sock.sendall(b"HEAD /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = read_until_closed(sock)
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"content-length: 5" in head.lower()
    assert rest.startswith(b"HTTP/1.1 200")  # the next answer follows the head directly


@pytest.mark.parametrize("status", [204, 304])
def test_a_204_or_304_ends_at_its_head_whatever_the_app_gives(
    server: ThreadedServer, request: pytest.FixtureRequest, status: int
) -> None:
    """The next answer on the connection is the next request's, not the body the app gave."""
    hookhub_only(request, "uvicorn writes the body an app gives a 204 or 304 after its head")
    with KeptAlive("127.0.0.1", server.port) as connection:
        first = connection.ask("GET", f"/no-content?status={status}")
        second = connection.ask("GET", "/echo/second")
    assert first.status == status and first.body == b""
    assert second.body != b"spoofed"  # what the 204 or 304 was given
    assert second.status == 200 and json.loads(second.body)["path"] == "/echo/second"
    assert "content-length" not in first.headers and "transfer-encoding" not in first.headers


def test_a_1xx_final_answer_is_a_500(server: ThreadedServer, request: pytest.FixtureRequest) -> None:
    """A client takes a 1xx for an interim answer and the next one for this request's."""
    hookhub_only(request, "uvicorn sends a 1xx an app gives as if it were final")
    with connect_raw(server.port) as sock:
        sock.sendall(b"GET /interim HTTP/1.1\r\nHost: x\r\n\r\n")
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 500") and b"spoofed" not in data


def test_a_receive_given_up_on_loses_no_body(server: ThreadedServer) -> None:
    with connect_raw(server.port) as sock:
        sock.sendall(b"POST /impatient HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nfirst")
        time.sleep(0.3)  # the app's second receive times out meanwhile
        sock.sendall(b"-last")
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = read_until_closed(sock)
    (head, body), (_, second) = _responses(data)
    assert head.startswith(b"HTTP/1.1 200")
    assert body == b"10"
    assert json.loads(second)["method"] == "GET"


def test_an_answer_without_a_length_is_chunked(server: ThreadedServer) -> None:
    with httpx.stream("GET", server.url + "/stream") as response:
        assert response.headers["transfer-encoding"] == "chunked"
        assert response.read() == b"".join(STREAM_PARTS)


def test_an_answer_without_a_length_to_http_1_0_ends_with_the_connection(
    server: ThreadedServer, request: pytest.FixtureRequest
) -> None:
    hookhub_only(request, "uvicorn sends chunks, which an HTTP/1.0 client cannot read")
    with connect_raw(server.port) as sock:
        sock.sendall(b"GET /stream HTTP/1.0\r\n\r\n")
        data = read_until_closed(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding" not in head.lower()
    assert body == b"".join(STREAM_PARTS)


def test_pipelined_posts_are_answered_in_order(server: ThreadedServer) -> None:
    requests = [f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nbody-{i}" for i in range(5)]
    requests.append("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    with connect_raw(server.port) as sock:
        sock.sendall("".join(requests).encode())
        data = read_until_closed(sock)
    bodies = [json.loads(body)["body"] for _, body in _responses(data)]
    assert bodies == [f"body-{i}" for i in range(5)] + [""]


def test_an_error_before_the_answer_is_a_500(server: ThreadedServer) -> None:
    response = httpx.get(server.url + "/boom-before")
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert response.headers["connection"] == "close"


def test_an_app_failing_before_its_coroutine_is_a_500(server: ThreadedServer) -> None:
    response = httpx.get(server.url + "/boom-sync")
    assert response.status_code == 500
    assert response.text == "Internal Server Error"


def test_an_app_that_never_answers_gets_a_500(server: ThreadedServer) -> None:
    assert httpx.get(server.url + "/nothing").status_code == 500


def test_an_error_during_the_answer_cuts_the_connection(server: ThreadedServer) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(server.url + "/boom-after")


@pytest.mark.parametrize("path", ["/inject", "/inject-name"])
def test_a_header_carrying_a_line_break_is_refused(server: ThreadedServer, path: str) -> None:
    with connect_raw(server.port) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        data = read_until_closed(sock)
    assert b"x-evil" not in data
    assert data == b"" or data.startswith(b"HTTP/1.1 500")  # uvicorn closes, hookhub answers 500


def test_a_malformed_request_is_a_400(server: ThreadedServer) -> None:
    """hookhub's is a JSON ``{code, detail}`` like its other errors; uvicorn's is plain text."""
    with connect_raw(server.port) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 400")
    ((_head, body),) = _responses(data)  # its Content-Length covers the whole text
    assert body in (
        b"Invalid HTTP request received.",
        b'{"code":"bad_request","detail":"Invalid HTTP request received."}',
    )


def test_the_app_hears_that_the_client_left(server: ThreadedServer) -> None:
    server.app.disconnected.clear()
    with connect_raw(server.port) as sock:
        sock.sendall(b"POST /wait-for-disconnect HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
        time.sleep(0.1)
    assert server.app.disconnected.wait(5)
    assert server.app.disconnects[-1] == "http.disconnect"


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(server: ThreadedServer) -> None:
    with connect_raw(server.port) as sock:
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(KEEP_ALIVE_SECONDS * 5)
        data = read_until_closed(sock)  # returns when the server closes
    assert len(_responses(data)) == 1


def test_a_connection_that_never_sends_a_request_is_closed(
    server: ThreadedServer, request: pytest.FixtureRequest
) -> None:
    hookhub_only(request, "uvicorn arms its keep-alive timer only after a response")
    with connect_raw(server.port) as sock:
        sock.settimeout(KEEP_ALIVE_SECONDS * 5)
        assert sock.recv(65536) == b""  # the server closed it


def test_a_request_longer_than_the_keep_alive_timeout_is_answered(server: ThreadedServer) -> None:
    response = httpx.post(server.url + "/slow", content=b"x", timeout=10)
    assert response.status_code == 200
    assert response.json()["body"] == "x"


def test_a_websocket_upgrade_is_handed_over(server: ThreadedServer) -> None:
    with websocket_connect(f"ws://127.0.0.1:{server.port}/ws") as ws:
        ws.send("hi")
        assert ws.recv(timeout=5) == "echo: hi"


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_shutdown_lets_the_answer_in_progress_finish(protocol: str) -> None:
    with _serving(protocol) as running:
        result: dict[str, Any] = {}

        def slow_request() -> None:
            response = httpx.post(running.url + "/slow", content=b"last", timeout=10)
            result.update(status=response.status_code, body=response.json()["body"])

        client = threading.Thread(target=slow_request)
        client.start()
        time.sleep(0.5)
        running.server.should_exit = True
        client.join(10)
    assert result == {"status": 200, "body": "last"}
