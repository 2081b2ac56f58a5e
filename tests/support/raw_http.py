"""HTTP/1.1 requests written on a raw socket, for what real clients never send."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest


def send_cut_short(
    url: str, body: bytes, declared_length: int, headers: dict[str, str] | None = None
) -> None:
    """POST ``body`` to ``url`` declaring ``declared_length`` bytes, then close the connection
    (a client that went away mid-body)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"POST {target} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {declared_length}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80)) as sock:
        sock.sendall(head + body)


def connect_raw(port: int, timeout: float = 10.0) -> socket.socket:
    """A plain TCP connection to a server on this machine, for writing HTTP by hand."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(timeout)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def hookhub_only(request: pytest.FixtureRequest, why_not_uvicorn: str) -> None:
    """Skip the test's run against plain uvicorn (the comparison server) with the reason."""
    if "uvicorn" in request.node.callspec.id:
        pytest.skip(why_not_uvicorn)
