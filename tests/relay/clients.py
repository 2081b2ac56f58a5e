"""Listener clients for tests: the real ``websockets`` client, and an SSE reader over httpx."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

TIMEOUT = 10.0


class WsListener:
    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.ready: dict[str, Any] = {}

    async def frame(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.conn.recv(), timeout))

    async def event(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next event frame (control frames carry a "type"; events do not)."""
        while True:
            frame = await self.frame(timeout)
            if "type" not in frame:
                return frame

    async def send(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Send a control frame and return the server's answer to it."""
        await self.conn.send(json.dumps(frame))
        while True:
            answer = await self.frame()
            if "type" in answer:
                return answer

    async def close_code(self, timeout: float = TIMEOUT) -> int:
        """The code the server closes the connection with (events before it are skipped)."""
        try:
            while True:
                await self.event(timeout)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, "closed without a close frame"
            return closed.rcvd.code

    async def nothing_more(self, wait: float = 0.3) -> None:
        """Assert that no event arrives within ``wait`` seconds (used after a later event proved delivery)."""
        try:
            frame = await asyncio.wait_for(self.conn.recv(), wait)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected frame: {frame}")


@asynccontextmanager
async def ws_listener(url: str, **kwargs: Any) -> AsyncIterator[WsListener]:
    async with connect(url, open_timeout=TIMEOUT, **kwargs) as conn:
        listener = WsListener(conn)
        listener.ready = await listener.frame()
        assert listener.ready["type"] == "ready", listener.ready
        yield listener


class SseListener:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def message(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next SSE message: {"event", "id", "data"} (comments skipped)."""
        return await asyncio.wait_for(self._next(), timeout)

    async def event(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        while True:
            message = await self.message(timeout)
            if message["event"] == "message":
                data = json.loads(message["data"])
                data.setdefault("id", message["id"])
                return data

    async def _next(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"event": "message", "id": None, "data": []}
        async for line in self._lines:
            if not line:
                if fields["data"]:
                    fields["data"] = "\n".join(fields["data"])
                    return fields
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                fields["data"].append(value)
            elif name in ("event", "id"):
                fields[name] = value
        raise EOFError("the SSE stream ended")


@asynccontextmanager
async def sse_listener(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[SseListener]:
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(TIMEOUT, read=None)) as client,
        client.stream("GET", url, headers={"accept": "text/event-stream", **(headers or {})}) as response,
    ):
        listener = SseListener(response)
        if response.status_code == 200:
            ready = await listener.message()
            assert ready["event"] == "ready", ready
        yield listener
