"""Server-Sent Events listeners: ``GET /listen/{key}`` and the smee.io channel on ``/webhook/{key}``.

Each event is an SSE message whose ``id`` is the event id, so a browser EventSource or smee-client
resends it as ``Last-Event-ID`` when it reconnects and resumes without a gap. A ``ready`` event
opens the stream (smee.io does the same; smee-client ignores it) and a comment keeps it alive.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import orjson

from hookhub.errors import HookhubError
from hookhub.http.dispatch import Receive, Scope, Send
from hookhub.http.responses import SANDBOXED, send_error
from hookhub.relay.connect import accept_listener
from hookhub.relay.listeners import Frame, Listener
from hookhub.relay.session import pump
from hookhub.relay.sources import SourceInfo

if TYPE_CHECKING:
    from hookhub.relay.hub import Relay

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
    (b"access-control-allow-origin", b"*"),
    *SANDBOXED,  # the smee channel is an answer on /webhook/ too
]
KEEPALIVE = b": keepalive\n\n"


async def serve_sse(
    relay: Relay, source: SourceInfo | None, scope: Scope, receive: Receive, send: Send, *, smee: bool
) -> None:
    try:
        request = accept_listener(source, scope)
    except HookhubError as error:
        await send_error(send, error, SANDBOXED)
        return
    assert source is not None
    listener = Listener.admitted_to(source, request.keys)
    await relay.add_listener(listener)
    try:
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        ready = {"sourceId": source.id, "keys": sorted(listener.keys or ()), "since": request.since}
        await _write(send, b"retry: 1000\nevent: ready\ndata: " + orjson.dumps(ready) + b"\n\n")

        async def send_frame(frame: Frame) -> None:
            await _write(send, frame.smee_sse if smee else frame.sse)

        async def keepalive() -> None:
            await _write(send, KEEPALIVE)

        stream = asyncio.ensure_future(pump(relay, listener, request.since, send_frame, idle=keepalive))
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait({stream, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (stream, gone):
                task.cancel()
            for task in (stream, gone):
                with contextlib.suppress(asyncio.CancelledError, OSError):
                    await task
        if stream.done() and not stream.cancelled():
            # The listener was closed by the server (overflow or shutdown): end the response.
            with contextlib.suppress(OSError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        relay.remove_listener(listener)


async def _write(send: Send, data: bytes) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": True})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
