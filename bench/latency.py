"""Light-load latencies, one request at a time from one asyncio client (aiohttp and websockets).

Every figure includes this client's own overhead; the baseline round trip, measured with the same
client, shows how much of it that is.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass

import aiohttp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus

from bench.figures import NotAvailable

JSON = {"content-type": "application/json"}
WARMUP = 5


async def round_trips(url: str, body: bytes, headers: dict[str, str], count: int) -> list[float]:
    """Milliseconds per POST, sent one after the other on one kept-alive connection."""
    times: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        for index in range(count + WARMUP):
            start = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                response.raise_for_status()
            if index >= WARMUP:
                times.append((time.perf_counter() - start) * 1000)
    return times


@dataclass(slots=True)
class EndToEnd:
    create_ms: list[float]  # POST /msg round trips
    delivered_ms: list[float]  # send time -> arrival at the receiver
    sent: int


async def message_to_receiver(
    msg_url: str, headers: dict[str, str], receiver_url: str, count: int, gap: float, wait: float
) -> EndToEnd:
    """``count`` messages ``gap`` seconds apart, each carrying its send time for the receiver."""
    create_ms: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        await (await session.post(receiver_url + "/_reset")).read()
        for seq in range(count):
            sent = time.time()
            start = time.perf_counter()
            body = json.dumps({"eventType": "bench.e2e", "payload": {"t": sent, "seq": seq}})
            async with session.post(msg_url, data=body, headers={**headers, **JSON}) as response:
                await response.read()
                response.raise_for_status()
            create_ms.append((time.perf_counter() - start) * 1000)
            await asyncio.sleep(gap)
        deadline = time.monotonic() + wait
        while True:
            async with session.get(receiver_url + "/_stats") as response:
                stats = await response.json()
            if len(stats["latencies_ms"]) >= count or time.monotonic() > deadline:
                return EndToEnd(create_ms, stats["latencies_ms"], count)
            await asyncio.sleep(0.05)


async def _listen(ws_url: str, stack: AsyncExitStack) -> ClientConnection:
    try:
        return await stack.enter_async_context(connect(ws_url, open_timeout=10, max_size=None))
    except InvalidStatus as exc:
        if exc.response.status_code in (403, 404):
            raise NotAvailable() from exc
        raise NotAvailable(f"n/a (listener refused: HTTP {exc.response.status_code})") from exc
    except InvalidHandshake as exc:
        raise NotAvailable(f"n/a (listener handshake failed: {exc})") from exc


async def _until(ws: ClientConnection, marker: str, timeout: float) -> float | None:
    """perf_counter() when a frame containing ``marker`` arrives, or None after ``timeout``."""
    deadline = time.perf_counter() + timeout
    while (left := deadline - time.perf_counter()) > 0:
        try:
            frame = await asyncio.wait_for(ws.recv(), left)
        except Exception:  # timeout or closed connection
            return None
        if marker in (frame if isinstance(frame, str) else frame.decode(errors="replace")):
            return time.perf_counter()
    return None


@dataclass(slots=True)
class Relay:
    latencies_ms: list[float]
    lost: int


BUDGET_SECONDS = 15.0  # each relay scenario stops after this long, whatever its count
MAX_LOST_IN_A_ROW = 3


async def relay_latency(base_url: str, ingest_path: str, key: str, count: int) -> Relay:
    """POST to the ingest URL, one at a time; time until the WebSocket listener has the event."""
    ws_url = base_url.replace("http://", "ws://", 1) + f"/listen/{key}"
    latencies: list[float] = []
    lost = 0
    async with AsyncExitStack() as stack:
        ws = await _listen(ws_url, stack)
        await asyncio.sleep(0.2)  # let the server register the listener
        session = await stack.enter_async_context(
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
        )
        deadline = time.monotonic() + BUDGET_SECONDS
        lost_in_a_row = 0
        for index in range(count + WARMUP):
            if time.monotonic() > deadline or lost_in_a_row >= MAX_LOST_IN_A_ROW:
                break
            marker = f"bench-{secrets.token_hex(6)}"
            start = time.perf_counter()
            waiter = asyncio.create_task(_until(ws, marker, 3.0))
            async with session.post(base_url + ingest_path, json={"marker": marker}) as response:
                await response.read()
            arrived = await waiter
            lost_in_a_row = lost_in_a_row + 1 if arrived is None else 0
            if index < WARMUP:
                continue
            if arrived is None:
                lost += 1
            else:
                latencies.append((arrived - start) * 1000)
    return Relay(latencies, lost)


@dataclass(slots=True)
class FanOut:
    listeners: int
    rounds_ms: list[float]  # per round: time until every listener had the event
    incomplete: int  # rounds where some listener missed the event within the timeout


async def fan_out(base_url: str, ingest_path: str, key: str, listeners: int, rounds: int) -> FanOut:
    ws_url = base_url.replace("http://", "ws://", 1) + f"/listen/{key}"
    rounds_ms: list[float] = []
    incomplete = 0
    async with AsyncExitStack() as stack:
        sockets = [await _listen(ws_url, stack) for _ in range(listeners)]  # bounded: open_timeout
        await asyncio.sleep(0.3)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        deadline = time.monotonic() + BUDGET_SECONDS
        for index in range(rounds + 1):  # the first round warms up
            if time.monotonic() > deadline or incomplete >= MAX_LOST_IN_A_ROW:
                break
            marker = f"bench-{secrets.token_hex(6)}"
            start = time.perf_counter()
            waiters = [asyncio.create_task(_until(ws, marker, 5.0)) for ws in sockets]
            async with session.post(base_url + ingest_path, json={"marker": marker}) as response:
                await response.read()
            arrivals = await asyncio.gather(*waiters)
            if index == 0:
                continue
            if any(a is None for a in arrivals):
                incomplete += 1
            else:
                rounds_ms.append((max(arrivals) - start) * 1000)  # type: ignore[type-var]
    return FanOut(listeners, rounds_ms, incomplete)
