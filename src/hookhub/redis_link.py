"""The way every part of hookhub talks to Redis: hookhub's own timeouts and one circuit.

Redis carries what is shared between nodes (throttle windows, pub/sub, reply state, replay
windows); none of it may make a request wait for long. Every command goes through
``RedisLink.call``: it is bounded by ``COMMAND_TIMEOUT_SECONDS`` (a stalled Redis — paused, or
a network that drops packets — costs a request that long, once), and a failure opens the
circuit: for a cool-down (0.5 s, doubling up to 5 s while failures go on) calls fail at once
with ``RedisUnavailable`` and their callers fall back to what one node can do alone (in-process
throttling and relay). Meanwhile a probe pings Redis after each cool-down, so that the parts
waiting for it to come back (``on_recovery``) hear it even when no request calls it. One warning
is logged when Redis becomes unavailable and one when it is back, not a traceback per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

log = logging.getLogger("hookhub.redis")
T = TypeVar("T")

COMMAND_TIMEOUT_SECONDS = 0.25
CONNECT_TIMEOUT_SECONDS = 0.5
FIRST_COOLDOWN_SECONDS = 0.5
LONGEST_COOLDOWN_SECONDS = 5.0


class RedisUnavailable(Exception):
    """Redis did not answer in time, or the circuit is open after a recent failure."""


class RedisLink:
    """One client (and connection pool) per process and URL, with the circuit around it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = f"hookhub-{os.getpid()}-{os.urandom(4).hex()}"  # this process's, in CLIENT LIST
        options: dict[str, Any] = {
            "client_name": self.name,
            "socket_timeout": COMMAND_TIMEOUT_SECONDS * 4,  # the driver's own bound; ``call`` is tighter
            "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
        }
        # Commands: a pooled connection the server closed (a restart) is replaced once, at once.
        self.client: aioredis.Redis = aioredis.from_url(
            url, retry=Retry(NoBackoff(), 1), retry_on_error=[aioredis.ConnectionError], **options
        )
        # Subscriptions: never reconnected behind the caller's back, who must know of the gap.
        self.subscriber: aioredis.Redis = aioredis.from_url(url, retry=Retry(NoBackoff(), 0), **options)
        self.down_since: float | None = None  # monotonic time of the first failure of an outage
        self.reason: str | None = None
        self._open_until = 0.0
        self._cooldown = FIRST_COOLDOWN_SECONDS
        self._on_recovery: list[Callable[[float], Awaitable[None]]] = []
        self._probe: asyncio.Task[None] | None = None

    @property
    def available(self) -> bool:
        """False while the circuit is open (calls would fail at once)."""
        return time.monotonic() >= self._open_until

    def on_recovery(self, callback: Callable[[float], Awaitable[None]]) -> None:
        """``callback(outage_started_at)`` (wall-clock seconds) runs when Redis answers again."""
        self._on_recovery.append(callback)

    async def call(self, command: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """``await command(*args, **kwargs)`` within the timeout, or ``RedisUnavailable``."""
        if not self.available:
            raise RedisUnavailable(self.reason or "Redis is unavailable")
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT_SECONDS):
                result = await command(*args, **kwargs)
        except (aioredis.RedisError, OSError, TimeoutError) as exc:
            self.failed(exc)
            raise RedisUnavailable(self.reason or "Redis is unavailable") from exc
        self.succeeded()
        return result

    def failed(self, exc: BaseException) -> None:
        """Open the circuit (also for failures seen outside ``call``, such as a subscription's)."""
        now = time.monotonic()
        if self.down_since is None:
            self.down_since = now
            self._wall_down_since = time.time()
            self.reason = _describe(exc)
            log.warning("redis unavailable (%s); falling back to this node alone", self.reason)
            self._cooldown = FIRST_COOLDOWN_SECONDS
        else:
            self._cooldown = min(self._cooldown * 2, LONGEST_COOLDOWN_SECONDS)
        self._open_until = now + self._cooldown
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_task(self._probe_until_back())

    async def _probe_until_back(self) -> None:
        while self.down_since is not None:
            await asyncio.sleep(max(self._open_until - time.monotonic(), 0.05))
            if self.down_since is not None and self.available:
                with contextlib.suppress(RedisUnavailable):
                    await self.healthy()

    def succeeded(self) -> None:
        if self.down_since is None:
            return
        started = self._wall_down_since
        log.warning("redis reachable again after %.1f s", time.monotonic() - self.down_since)
        self.down_since = None
        self.reason = None
        self._open_until = 0.0
        for callback in self._on_recovery:
            task = asyncio.get_running_loop().create_task(callback(started))
            _keep(task)

    async def healthy(self) -> bool:
        await self.call(self.client.ping)
        return True

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        await self.client.aclose()
        await self.subscriber.aclose()


_background: set[asyncio.Task[Any]] = set()


def _keep(task: asyncio.Task[Any]) -> None:
    _background.add(task)
    task.add_done_callback(_background.discard)


def _describe(exc: BaseException) -> str:
    cause = exc.__cause__ if isinstance(exc, RedisUnavailable) and exc.__cause__ else exc
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    name = "timed out" if isinstance(cause, TimeoutError) and not text else type(cause).__name__
    return f"{name}: {text}"[:200] if text else name
