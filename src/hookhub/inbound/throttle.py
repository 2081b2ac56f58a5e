"""Per-source rate limits: a sliding window of ``limit`` requests per ``period`` seconds.

In-process by default; with Redis (``HOOKHUB_REDIS_URL``) one sorted set per source holds the
window so every node shares the count. Over the limit → 429 with ``Retry-After``.

While Redis is unavailable each node throttles alone, to its share of the limit: the limit
divided by the number of nodes that took ingest traffic in the last ``NODE_SEEN_SECONDS`` (as
Redis counted them last), against the requests this node admitted in the window, before the
outage included. What it admits meanwhile is written into the shared windows once Redis is
back (as soon as it answers again, and before this node's next request is counted there), so
the cluster does not start over with empty windows.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections import deque
from typing import Protocol

from hookhub.redis_link import RedisLink, RedisUnavailable

NODE_SEEN_SECONDS = 30


class Limiter(Protocol):
    async def hit(self, key: str, limit: int, period: float) -> float:
        """Count one request; 0 when allowed, else the seconds to wait."""
        ...

    async def close(self) -> None: ...


class LocalLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, deque[float]] = {}

    async def hit(self, key: str, limit: int, period: float) -> float:
        return self.hit_now(key, limit, period)

    def hit_now(self, key: str, limit: int, period: float, now: float | None = None) -> float:
        """``hit`` without a coroutine, for the hot path."""
        now = time.time() if now is None else now
        window = self._window(key, period, now)
        if len(window) >= limit:
            return max(window[0] + period - now, 0.001)
        window.append(now)
        return 0.0

    def record(self, key: str, period: float, now: float) -> None:
        """Count a request admitted elsewhere (by the shared window)."""
        self._window(key, period, now).append(now)

    def _window(self, key: str, period: float, now: float) -> deque[float]:
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = deque()
        while window and window[0] <= now - period:
            window.popleft()
        return window

    async def close(self) -> None:
        self._windows.clear()


# KEYS: the window, the nodes seen. ARGV: now_ms, period_ms, limit, member, node, node_seen_ms.
# Returns {0 or the ms to wait, the number of nodes seen}.
_SLIDING_WINDOW = """
local key, nodes = KEYS[1], KEYS[2]
local now, period, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZADD', nodes, now, ARGV[5])
redis.call('ZREMRANGEBYSCORE', nodes, '-inf', now - tonumber(ARGV[6]))
local seen = redis.call('ZCARD', nodes)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
if redis.call('ZCARD', key) >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {math.max(tonumber(oldest[2]) + period - now, 1), seen}
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, period)
return {0, seen}
"""
_NODES_KEY = "hookhub:throttle-nodes"


class RedisLimiter:
    def __init__(self, link: RedisLink) -> None:
        self._link = link
        self._script = link.client.register_script(_SLIDING_WINDOW)
        self._node = os.urandom(6).hex()
        self._nodes = 1  # ingesting nodes, as Redis last counted them
        self._mine = LocalLimiter()  # what this node admitted, in each source's window
        self._unshared: dict[str, tuple[float, list[float]]] = {}  # admitted while Redis was away
        link.on_recovery(self._share_when_back)

    async def hit(self, key: str, limit: int, period: float) -> float:
        now = time.time()
        now_ms = int(now * 1000)
        try:
            if self._unshared:  # Redis is back (or this probes it): share the outage's hits first
                await self._share_outage_hits()
            wait_ms, self._nodes = await self._link.call(
                self._script,
                keys=[_window_key(key), _NODES_KEY],
                args=[now_ms, int(period * 1000), limit, _member(now), self._node, NODE_SEEN_SECONDS * 1000],
            )
        except RedisUnavailable:
            return self._hit_alone(key, limit, period, now)
        if not wait_ms:
            self._mine.record(key, period, now)
        return int(wait_ms) / 1000

    def _hit_alone(self, key: str, limit: int, period: float, now: float) -> float:
        share = max(1, limit // max(self._nodes, 1))
        wait = self._mine.hit_now(key, share, period, now)
        if not wait:
            self._unshared.setdefault(key, (period, []))[1].append(now)
        return wait

    async def _share_when_back(self, _outage_started: float) -> None:
        with contextlib.suppress(RedisUnavailable):  # the next hit tries again
            await self._share_outage_hits()

    async def _share_outage_hits(self) -> None:
        """Add what this node admitted without Redis to the shared windows (``RedisUnavailable``
        when Redis is still away: they are kept for the next try)."""
        now = time.time()
        pipe = self._link.client.pipeline(transaction=False)
        for key, (period, hits) in self._unshared.items():
            recent = [at for at in hits if at > now - period]
            if recent:
                pipe.zadd(_window_key(key), {_member(at): int(at * 1000) for at in recent})
                pipe.pexpire(_window_key(key), int(period * 1000))
        if len(pipe):
            await self._link.call(pipe.execute)
        self._unshared = {}

    async def close(self) -> None:
        await self._mine.close()


def _window_key(key: str) -> str:
    return f"hookhub:throttle:{key}"


def _member(at: float) -> str:
    return f"{int(at * 1000)}-{os.urandom(4).hex()}"


def make_limiter(link: RedisLink | None) -> Limiter:
    return RedisLimiter(link) if link is not None else LocalLimiter()


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
