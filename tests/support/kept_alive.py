"""One kept-alive HTTP/1.1 connection read by h11, a client parser nobody here wrote: an answer
that carries more than its framing allows (a body after a 204) shows up as the next request's
answer, as it would in any client that reuses connections."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from types import TracebackType

import h11


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes


class KeptAlive:
    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.settimeout(timeout)
        self.conn = h11.Connection(h11.CLIENT)

    def __enter__(self) -> KeptAlive:
        return self

    def __exit__(self, *exc: object | TracebackType | None) -> None:
        self.sock.close()

    def ask(
        self, method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> Answer:
        """Send one request on the connection and read its answer."""
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
        fields = [("host", "hookhub"), ("content-length", str(len(body))), *(headers or {}).items()]
        self.sock.sendall(self.conn.send(h11.Request(method=method, target=target, headers=fields)))
        if body:
            self.sock.sendall(self.conn.send(h11.Data(data=body)))
        self.sock.sendall(self.conn.send(h11.EndOfMessage()))
        status, got, data = 0, {}, b""
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                self.conn.receive_data(self.sock.recv(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
                got = {name.decode().lower(): value.decode() for name, value in event.headers}
            elif isinstance(event, h11.Data):
                data += event.data
            elif isinstance(event, h11.EndOfMessage):
                return Answer(status, got, data)
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("the server closed the connection before answering")
