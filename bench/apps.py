"""Two bare ASGI apps (no framework) run under uvicorn next to hookhub.

``baseline`` answers 200 to everything: the yardstick, under stock uvicorn (and, for one row, under
hookhub's own HTTP protocol).
``receiver`` is the loopback webhook destination: it answers 200, counts what arrives and, for
bodies carrying a send time ``"t"``, records the delivery latency. ``GET /_stats`` reports,
``POST /_reset`` starts over.
"""

from __future__ import annotations

import json
import time
from typing import Any

_OK = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
_OK_BODY = {"type": "http.response.body", "body": b"ok"}


async def _drain(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def baseline(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await _drain(receive)
    await send(_OK)
    await send(_OK_BODY)


class Receiver:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.first = 0.0
        self.last = 0.0
        self.latencies_ms: list[float] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await _drain(receive)
        now = time.time()
        path = scope["path"]
        if path == "/_stats":
            await self._answer(send, self.stats())
            return
        if path == "/_reset":
            self.reset()
            await self._answer(send, {"reset": True})
            return
        self.count += 1
        self.first = self.first or now
        self.last = now
        if b'"t"' in body:
            try:
                sent = json.loads(body)["t"]
                self.latencies_ms.append((now - float(sent)) * 1000)
            except (ValueError, KeyError, TypeError):
                pass
        await send(_OK)
        await send(_OK_BODY)

    def stats(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "first": self.first,
            "last": self.last,
            "latencies_ms": self.latencies_ms,
        }

    async def _answer(self, send: Any, data: dict[str, Any]) -> None:
        body = json.dumps(data).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


receiver = Receiver()
