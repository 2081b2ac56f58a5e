"""Per-source rate limits: a sliding window of ``limit`` requests per ``period`` seconds.

In-process by default; with Redis (``HOOKHUB_REDIS_URL``) one sorted set per source holds the
window so every node shares the count. Over the limit → 429 with ``Retry-After``.

A node takes requests from the shared window a **lease** at a time — a 50th of the limit divided
by the nodes taking traffic, at least one — and admits them locally until the lease is spent or
its window has passed. Below 50 requests per node per window a lease is one request (exact, one
Redis call each); above, the count is right to within a 50th of the limit (what other nodes hold
unspent, or spent late in their lease's window), for one Redis call per lease.

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
from dataclasses import dataclass
from typing import Protocol

from hookhub.redis_link import RedisLink, RedisUnavailable

NODE_SEEN_SECONDS = 30
# A lease is at most limit / (LEASE_DIVISOR x nodes) requests: what the cluster may be off by.
LEASE_DIVISOR = 50


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


# KEYS: the window, the nodes seen. ARGV: now_ms, period_ms, limit, member id, node,
# node_seen_ms, requests wanted. A member "<n>:<id>" stands for n requests at its score.
# Returns {0 or the ms to wait, the number of nodes seen, the requests granted}.
_SLIDING_WINDOW = """
local key, nodes = KEYS[1], KEYS[2]
local now, period, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZADD', nodes, now, ARGV[5])
redis.call('ZREMRANGEBYSCORE', nodes, '-inf', now - tonumber(ARGV[6]))
local seen = redis.call('ZCARD', nodes)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
local used = 0
for _, member in ipairs(redis.call('ZRANGE', key, 0, -1)) do
  used = used + (tonumber(string.match(member, '^(%d+):')) or 1)
end
if used >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {math.max(tonumber(oldest[2]) + period - now, 1), seen, 0}
end
local granted = math.min(tonumber(ARGV[7]), limit - used)
redis.call('ZADD', key, now, granted .. ':' .. ARGV[4])
redis.call('PEXPIRE', key, period)
return {0, seen, granted}
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
        self._leases: dict[str, _Lease] = {}  # per source: requests taken from the shared window
        link.on_recovery(self._share_when_back)

    async def hit(self, key: str, limit: int, period: float) -> float:
        now = time.time()
        lease = self._leases.get(key)
        if lease is not None and lease.left > 0 and now < lease.until:
            lease.left -= 1
            self._mine.record(key, period, now)
            return 0.0
        try:
            if self._unshared:  # Redis is back (or this probes it): share the outage's hits first
                await self._share_outage_hits()
            wanted = max(1, limit // (LEASE_DIVISOR * max(self._nodes, 1)))
            wait_ms, self._nodes, granted = await self._link.call(
                self._script,
                keys=[_window_key(key), _NODES_KEY],
                args=[
                    int(now * 1000),
                    int(period * 1000),
                    limit,
                    _member_id(),
                    self._node,
                    NODE_SEEN_SECONDS * 1000,
                    wanted,
                ],
            )
        except RedisUnavailable:
            self._leases.pop(key, None)  # spent alone, against this node's share
            return self._hit_alone(key, limit, period, now)
        if wait_ms:
            return int(wait_ms) / 1000
        self._mine.record(key, period, now)
        if granted > 1:
            self._leases[key] = _Lease(left=int(granted) - 1, until=now + period)
        else:
            self._leases.pop(key, None)
        return 0.0

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
                pipe.zadd(_window_key(key), {f"1:{_member_id()}": int(at * 1000) for at in recent})
                pipe.pexpire(_window_key(key), int(period * 1000))
        if len(pipe):
            await self._link.call(pipe.execute)
        self._unshared = {}

    async def close(self) -> None:
        await self._mine.close()


def _window_key(key: str) -> str:
    return f"hookhub:throttle:{key}"


def _member_id() -> str:
    return os.urandom(6).hex()


@dataclass(slots=True)
class _Lease:
    left: int  # requests this node may still admit without asking Redis
    until: float  # when the window the lease was counted in has passed (Unix time)


def make_limiter(link: RedisLink | None) -> Limiter:
    return RedisLimiter(link) if link is not None else LocalLimiter()


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
