"""The webhook receiver of the fault suite: a real aiohttp server on loopback that records every
request and can misbehave on cue (slow, failing, flapping, closing the connection mid-response).

Each request's body carries the load driver's payload id (``pid``); the receiver counts by it,
so a message and its copies, or an ingest retried by its client, are recognised whatever
``webhook-id`` they came with. A request counts as *acknowledged* when the receiver chose a 2xx
for it, even if the sender never saw the answer (slow, cut): from the receiver's side the
webhook arrived, and a later copy is a duplicate.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from aiohttp import web


@dataclass(frozen=True)
class Behaviour:
    """What the receiver does with one request."""

    status: int = 200
    delay: float = 0.0
    cut: str = ""  # "head": close after half a status line; "body": after the head and part of the body


OK = Behaviour()
# A mode maps the seconds since it was set to the behaviour for the next request.
Mode = Callable[[float], Behaviour]


def steady(behaviour: Behaviour = OK) -> Mode:
    return lambda _elapsed: behaviour


def flapping(period: float) -> Mode:
    """500 and 200 in turns, ``period`` seconds each, starting with 500."""
    return lambda elapsed: Behaviour(500) if int(elapsed / period) % 2 == 0 else OK


def cutting() -> Mode:
    """Every request answered 200 but cut off: in turns inside the head and inside the body."""
    turn = iter(range(1 << 62))
    return lambda _elapsed: Behaviour(cut="head" if next(turn) % 2 == 0 else "body")


@dataclass(frozen=True)
class Hit:
    pid: str
    webhook_id: str
    at: float  # time.monotonic() when it arrived
    acked: bool


class Receiver:
    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.first_ack: dict[str, float] = {}  # pid -> when it was first acknowledged
        self.acks: Counter[str] = Counter()
        self._mode: Mode = steady()
        self._mode_since = time.monotonic()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=512)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def set_mode(self, mode: Mode) -> None:
        self._mode, self._mode_since = mode, time.monotonic()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        now = time.monotonic()
        behaviour = self._mode(now - self._mode_since)
        acked = 200 <= behaviour.status < 300
        pid = _payload_id(body)
        self.hits.append(Hit(pid, request.headers.get("webhook-id", ""), now, acked))
        if acked:
            self.acks[pid] += 1
            self.first_ack.setdefault(pid, now)
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        if behaviour.cut and request.transport is not None:
            head = b"HTTP/1.1 200 OK\r\nContent-Len"
            if behaviour.cut == "body":
                head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial"
            request.transport.write(head)
            request.transport.close()
        return web.Response(status=behaviour.status, text="ok")

    def acknowledged(self, pids: set[str]) -> set[str]:
        return pids & self.first_ack.keys()

    def first_ack_by_webhook_id(self) -> dict[str, float]:
        """When each ``webhook-id`` (a message or event id) was first acknowledged."""
        first: dict[str, float] = {}
        for hit in self.hits:
            if hit.acked:
                first.setdefault(hit.webhook_id, hit.at)
        return first

    def acks_by_webhook_id(self) -> Counter[str]:
        return Counter(hit.webhook_id for hit in self.hits if hit.acked)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def _payload_id(body: bytes) -> str:
    try:
        return str(orjson.loads(body).get("pid", ""))
    except (orjson.JSONDecodeError, AttributeError):
        return ""
