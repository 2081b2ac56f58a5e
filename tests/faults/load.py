"""Load as real clients make it: messages and inbound events sent at a steady rate and retried
until accepted, a WebSocket listener that reconnects and resumes, and a probe of a throttled source.

A client retries whatever failed (a non-2xx answer, a refused or dropped connection, a timeout)
on the next node, with the same payload id: messages carry it as their ``eventId`` (so a retry
of a create that did commit gets 409, which means accepted), inbound events in their body (the
receiver de-duplicates them).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

REQUEST_TIMEOUT = 10.0  # a client's patience for one request (GitHub's; the svix SDK waits 15 s)
RETRY_BUDGET = 30.0  # how long a client keeps retrying one item before it gives up
RETRY_DELAYS = (0.2, 0.4, 0.8, 1.0)


class Pacer:
    """Runs ``one(n)`` for n = 0, 1, 2, … at ``rate`` per second, each in a task of its own (a
    slow answer never holds back the next request), until stopped."""

    def __init__(self, rate: float, one: Callable[[int], Coroutine[Any, Any, None]]) -> None:
        self.rate, self.one = rate, one
        self._runner: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._runner = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        began = time.monotonic()
        for n in itertools.count():
            await asyncio.sleep(max(0.0, began + n / self.rate - time.monotonic()))
            task = asyncio.get_running_loop().create_task(self.one(n))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def stop(self, wait: float) -> None:
        """Start nothing more; give the running ones ``wait`` seconds, then cancel them."""
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=wait)
        running = list(self._tasks)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


@dataclass
class Item:
    pid: str
    created: float  # time.monotonic() of the first try
    accepted_at: float | None = None
    tries: int = 0


@dataclass
class Driver:
    """Sends ``rate`` items per second until stopped, each retried until accepted (or its budget
    runs out). Subclasses say how one item is sent and what counts as accepted."""

    name: str
    targets: list[str]
    rate: float
    client: aiohttp.ClientSession
    items: dict[str, Item] = field(default_factory=dict)
    answers: Counter[str] = field(default_factory=Counter)  # status code or error, per try
    slowest: float = 0.0  # the longest a single try took (answered or not)

    def __post_init__(self) -> None:
        self.pacer = Pacer(self.rate, self._deliver)

    @property
    def accepted(self) -> set[str]:
        return {pid for pid, item in self.items.items() if item.accepted_at is not None}

    def start(self) -> None:
        self.pacer.start()

    async def stop(self) -> None:
        """Stop making new items; wait (bounded) for the ones still being retried."""
        await self.pacer.stop(RETRY_BUDGET + REQUEST_TIMEOUT + 5)

    async def _deliver(self, n: int) -> None:
        item = self.items[f"{self.name}-{n}"] = Item(f"{self.name}-{n}", time.monotonic())
        delays = itertools.chain(RETRY_DELAYS, itertools.repeat(RETRY_DELAYS[-1]))
        for target in itertools.cycle(self._order(n)):
            item.tries += 1
            began = time.monotonic()
            try:
                status = await self.send(target, item.pid)
                outcome, accepted = str(status), self.is_accepted(status, item)
            except (aiohttp.ClientError, TimeoutError) as exc:
                outcome, accepted = type(exc).__name__, False
            self.answers[outcome] += 1
            self.slowest = max(self.slowest, time.monotonic() - began)
            if accepted:
                item.accepted_at = time.monotonic()
                return
            if time.monotonic() - item.created > RETRY_BUDGET:
                return
            await asyncio.sleep(next(delays))

    def _order(self, n: int) -> list[str]:
        """Nodes in the order this item tries them: round-robin start, then the others."""
        k = n % len(self.targets)
        return self.targets[k:] + self.targets[:k]

    async def send(self, target: str, pid: str) -> int:
        """Send one try; the answer's status."""
        raise NotImplementedError

    def is_accepted(self, status: int, item: Item) -> bool:
        return 200 <= status < 300


@dataclass
class MessageDriver(Driver):
    """``POST /api/v1/app/{app}/msg`` with ``eventId`` = the payload id."""

    app_id: str = ""
    token: str = ""

    async def send(self, target: str, pid: str) -> int:
        body = {"eventType": "fault.test", "eventId": pid, "payload": {"pid": pid}}
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        url = f"{target}/api/v1/app/{self.app_id}/msg/"
        async with self.client.post(url, data=orjson.dumps(body), headers=headers) as response:
            await response.read()
            return response.status

    def is_accepted(self, status: int, item: Item) -> bool:
        # 409 on a retry: an earlier try was stored, only its answer was lost.
        return 200 <= status < 300 or (status == 409 and item.tries > 1)


@dataclass
class IngestDriver(Driver):
    """``POST /webhook/{key}`` with ``{"pid": …}``; the first node in ``targets`` is tried first."""

    key: str = ""

    def _order(self, n: int) -> list[str]:
        return self.targets

    async def send(self, target: str, pid: str) -> int:
        headers = {"Content-Type": "application/json"}
        url = f"{target}/webhook/{self.key}"
        async with self.client.post(url, data=orjson.dumps({"pid": pid}), headers=headers) as response:
            await response.read()
            return response.status


def http_client() -> aiohttp.ClientSession:
    """The load's HTTP client: aiohttp, whose cost per request leaves the harness's share of two
    busy cores to the receiver (httpx costs several times more)."""
    connector = aiohttp.TCPConnector(limit=400, limit_per_host=200)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT))


@dataclass
class Listener:
    """A WebSocket listener on one node that, like ``hookhub listen``, reconnects when dropped and
    resumes after the last event it saw (``?since=``)."""

    url: str  # ws://node/listen/{key}
    seen: dict[str, float] = field(default_factory=dict)  # pid -> when first received
    copies: Counter[str] = field(default_factory=Counter)  # event id -> frames received
    connects: int = 0
    drops: Counter[str] = field(default_factory=Counter)  # why the connection ended
    last_event_id: str | None = None
    _task: asyncio.Task[None] | None = None
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self, timeout: float = 10.0) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            url = self.url + (f"?since={self.last_event_id}" if self.last_event_id else "")
            try:
                async with connect(url, open_timeout=5, close_timeout=1) as ws:
                    self.connects += 1
                    async for raw in ws:
                        frame = orjson.loads(raw)
                        if frame.get("type") == "ready":
                            self._ready.set()
                        elif "type" not in frame:
                            self._record(frame)
                self.drops["closed by server"] += 1
            except ConnectionClosed as exc:
                self.drops[f"close {exc.rcvd.code if exc.rcvd else 'without frame'}"] += 1
            except (OSError, TimeoutError, InvalidStatus) as exc:
                self.drops[type(exc).__name__] += 1
            await asyncio.sleep(0.2)

    def _record(self, event: dict[str, Any]) -> None:
        self.last_event_id = event["id"]
        body = event.get("body")
        pid = str(body.get("pid", "")) if isinstance(body, dict) else ""
        self.copies[event["id"]] += 1
        self.seen.setdefault(pid, time.monotonic())


@dataclass
class ThrottleProbe:
    """Requests to a throttled source at ``rate`` per second, alternating nodes, never retried.
    What the throttle let through is read back from the events the source stored (their
    ``receivedAt``, the server's clock): client-side times jitter by as much as the period."""

    targets: list[str]
    key: str
    rate: float
    client: aiohttp.ClientSession
    answers: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.pacer = Pacer(self.rate, self._hit)

    def start(self) -> None:
        self.pacer.start()

    async def stop(self) -> None:
        await self.pacer.stop(REQUEST_TIMEOUT + 2)

    async def _hit(self, n: int) -> None:
        target = self.targets[n % len(self.targets)]
        try:
            async with self.client.post(f"{target}/webhook/{self.key}", json={"probe": n}) as response:
                await response.read()
            self.answers[str(response.status)] += 1
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.answers[type(exc).__name__] += 1


def most_in_a_period(times: list[float], period: float) -> int:
    """The most of ``times`` that fall within any ``period`` seconds."""
    times = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= period:
            first += 1
        most = max(most, last - first + 1)
    return most
