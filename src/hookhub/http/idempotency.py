"""Idempotency-Key on POST: the first successful response is stored and replayed for repeats.

The key is scoped to the caller's Authorization header. A repeat that arrives while the first
request is still running waits for it to finish.

The bearer token is verified first: a stored answer may hold a portal token, a source token or
an endpoint secret, and a token that has since been revoked or has expired must not get it back.
A request whose token does not verify is passed on as if it had no key, so the route answers it
as it answers any other (401, or its own check for routes that need no token).
"""

from __future__ import annotations

import asyncio
import hashlib
import time

from hookhub.auth.tokens import TokenVerifier
from hookhub.errors import Conflict, HookhubError
from hookhub.http.dispatch import ASGIApp, Receive, Scope, Send
from hookhub.http.responses import send_error
from hookhub.store.idempotency import IdempotencyStore, StoredResponse

_REPLAYED_HEADERS = {b"content-type", b"location"}
_WAIT_SECONDS = 30.0
_POLL_SECONDS = 0.02


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


class Idempotency:
    def __init__(self, app: ASGIApp, store: IdempotencyStore, tokens: TokenVerifier) -> None:
        self.app = app
        self.store = store
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = (
            _header(scope, b"idempotency-key")
            if scope["type"] == "http" and scope["method"] == "POST"
            else None
        )
        if not key:
            await self.app(scope, receive, send)
            return
        auth = _header(scope, b"authorization") or b""
        if not await self._verified(auth.decode("latin-1")):
            await self.app(scope, receive, send)
            return
        scope_key = hashlib.sha256(auth + b"\n" + scope["path"].encode() + b"\n" + key).hexdigest()

        deadline = time.monotonic() + _WAIT_SECONDS
        while True:
            claimed = await self.store.claim(scope_key)
            if isinstance(claimed, StoredResponse):
                await _replay(send, claimed)
                return
            if claimed:
                break
            if time.monotonic() > deadline:
                await send_error(send, Conflict("A request with this Idempotency-Key is still in progress."))
                return
            await asyncio.sleep(_POLL_SECONDS)

        captured: dict = {"status": 0, "headers": [], "body": []}

        async def capturing_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"].append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capturing_send)
        except BaseException:
            await asyncio.shield(self.store.release(scope_key))
            raise
        status = captured["status"]
        if 200 <= status < 300:
            headers = [
                [k.decode(), v.decode()] for k, v in captured["headers"] if k.lower() in _REPLAYED_HEADERS
            ]
            await self.store.complete(scope_key, StoredResponse(status, headers, b"".join(captured["body"])))
        else:
            await self.store.release(scope_key)

    async def _verified(self, authorization: str) -> bool:
        """Whether the token is valid now (the verifier's cache spares a lookup per request)."""
        if self.tokens.cached(authorization) is not None:
            return True
        try:
            await self.tokens.authenticate(authorization)
        except HookhubError:
            return False
        return True


async def _replay(send: Send, stored: StoredResponse) -> None:
    headers = [(k.encode(), v.encode()) for k, v in stored.headers]
    headers.append((b"content-length", str(len(stored.body)).encode()))
    headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": stored.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})
