"""uvicorn's httptools protocol, sending each response's head and body in one write.

uvicorn writes the status line and headers as soon as ``http.response.start`` arrives and the body
on ``http.response.body``: two ``send`` system calls and two TCP segments for every small
response, and the system call is the largest single cost of answering. Here a request's writes
are held until the loop's next turn and go out together: an app that sends head and body in one
go (every hookhub answer does) costs one system call; one that sends the head and streams later
(server-sent events) has its head sent on the next turn, a few microseconds later.

``serve`` passes the class to uvicorn as its ``http`` protocol; everything else is uvicorn's.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _HeldWrites:
    """Stands in for the transport of one request/response cycle: ``write`` holds the data and
    flushes it all, in order, on the loop's next turn (or at ``close``)."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(data)

    def flush(self) -> None:
        held = self._held
        if held:
            self._held = []
            if self._transport.is_closing():  # the client left meanwhile: nobody to send it to
                return
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, …
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        # A WebSocket upgrade returns before making a new cycle; never wrap a cycle twice.
        if cycle is not None and cycle.transport is self.transport:
            cycle.transport = _HeldWrites(self.transport, self.loop)  # type: ignore[assignment]

    def shutdown(self) -> None:
        cycle = self.cycle
        if cycle is not None and isinstance(cycle.transport, _HeldWrites):
            cycle.transport.flush()  # an answer completed this turn goes out before the close
        super().shutdown()
