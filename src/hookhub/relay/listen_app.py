"""The ASGI app mounted at ``/listen/``: ``/listen/{key}`` over WebSocket, or GET for SSE."""

from __future__ import annotations

from hookhub.errors import MethodNotAllowed, NotFound
from hookhub.http.dispatch import Receive, Scope, Send
from hookhub.http.responses import send_bytes, send_error
from hookhub.relay.hub import Relay
from hookhub.relay.sse import serve_sse
from hookhub.relay.ws import serve_ws

PREFIX = "/listen/"
_PREFLIGHT = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, OPTIONS"),
    (b"access-control-allow-headers", b"authorization, last-event-id, cache-control"),
    (b"access-control-max-age", b"600"),
]


class ListenApp:
    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = scope["path"][len(PREFIX) :].rstrip("/")
        if scope["type"] == "websocket":
            source = await self.relay.sources.by_key(key) if _plain(key) else None
            await serve_ws(self.relay, source, scope, receive, send)
            return
        if scope["type"] != "http":
            return
        if not _plain(key):
            await send_error(send, NotFound("Listen on /listen/{key}, where key is the source's ingest key."))
        elif scope["method"] == "OPTIONS":
            await send_bytes(send, 204, b"", headers=_PREFLIGHT)
        elif scope["method"] != "GET":
            await send_error(
                send,
                MethodNotAllowed(
                    "Listen with GET (Server-Sent Events) or a WebSocket.", headers={"Allow": "GET, OPTIONS"}
                ),
            )
        else:
            source = await self.relay.sources.by_key(key)
            await serve_sse(self.relay, source, scope, receive, send, smee=False)


def _plain(key: str) -> bool:
    return bool(key) and "/" not in key and len(key) <= 64
