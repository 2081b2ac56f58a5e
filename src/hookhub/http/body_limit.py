"""Reject request bodies over a size limit with 413, before the app parses them; a body the
client did not finish sending is never handed on."""

from __future__ import annotations

from hookhub.errors import PayloadTooLarge
from hookhub.http.dispatch import ASGIApp, Receive, Scope, Send
from hookhub.http.responses import send_error


def declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class ClientDisconnected(Exception):
    """The client left before its request body was complete: there is nothing to act on (and
    nobody to answer)."""


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None once it grows past ``limit`` bytes; ClientDisconnected if
    the client leaves before it has all arrived."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        too_large = PayloadTooLarge(f"Request body is larger than {self.max_bytes} bytes.")
        length = declared_length(scope)
        if length is not None and length > self.max_bytes:
            await send_error(send, too_large)
            return
        try:
            body = await read_body(receive, self.max_bytes)
        except ClientDisconnected:
            return
        if body is None:
            await send_error(send, too_large)
            return
        await self.app(scope, replay(body), send)
