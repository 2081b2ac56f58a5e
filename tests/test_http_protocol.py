"""The HTTP protocol ``serve`` runs: each answer leaves in one TCP segment (head and body in one
write), a streamed answer still gets its head out before the rest, and pipelined answers keep
their order. Counted by the kernel (``TCP_INFO``'s ``tcpi_data_segs_in`` on the client socket)."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.server import ServerProcess
from tests.support.threaded_server import ThreadedServer

_DATA_SEGS_IN_OFFSET = 152  # struct tcp_info: tcpi_data_segs_in (Linux 4.6 and later)


def _data_segments_in(sock: socket.socket) -> int:
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return struct.unpack_from("I", info, _DATA_SEGS_IN_OFFSET)[0]


class _Responses:
    """Reads whole responses (with Content-Length) off a socket, keeping what follows one."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.settimeout(5)
        self.buffer = b""

    def next_body(self) -> bytes:
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        while len(rest) < length:
            self._receive()
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
        self.buffer = rest[length:]
        return rest[:length]

    def _receive(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        self.buffer += data


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await receive()
    if scope["path"] == "/slow-body":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"4")]})
        await asyncio.sleep(0.5)
        await send({"type": "http.response.body", "body": b"late"})
        return
    body = scope["path"].encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def bare_server() -> Iterator[int]:
    with ThreadedServer(_app) as running:
        yield running.port


def _one_segment_per_answer(port: int, request: bytes, answers: int = 10) -> list[int]:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        responses = _Responses(sock)
        segments = []
        for _ in range(answers):
            before = _data_segments_in(sock)
            sock.sendall(request)
            responses.next_body()
            time.sleep(0.01)  # nothing more is on its way
            segments.append(_data_segments_in(sock) - before)
        return segments


def test_an_answer_is_one_segment(bare_server: int) -> None:
    request = b"GET /hello HTTP/1.1\r\nhost: x\r\n\r\n"
    assert _one_segment_per_answer(bare_server, request) == [1] * 10


def test_a_streamed_answer_sends_its_head_first(bare_server: int) -> None:
    with socket.create_connection(("127.0.0.1", bare_server)) as sock:
        sock.sendall(b"GET /slow-body HTTP/1.1\r\nhost: x\r\n\r\n")
        sock.settimeout(0.4)  # the body comes after 0.5 s
        head = sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200") and head.endswith(b"\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(65536) == b"late"


def test_pipelined_answers_keep_their_order(bare_server: int) -> None:
    with socket.create_connection(("127.0.0.1", bare_server)) as sock:
        sock.sendall(b"".join(f"GET /n{i} HTTP/1.1\r\nhost: x\r\n\r\n".encode() for i in range(5)))
        responses = _Responses(sock)
        bodies = [responses.next_body() for _ in range(5)]
    assert bodies == [f"/n{i}".encode() for i in range(5)]


def test_hookhub_serve_answers_in_one_segment(server: ServerProcess) -> None:
    request = b"GET /api/v1/health HTTP/1.1\r\nhost: x\r\n\r\n"
    assert _one_segment_per_answer(server.port, request) == [1] * 10
