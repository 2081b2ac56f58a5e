"""Per-source rate limits: a sliding window of ``limit`` requests per ``period`` seconds.

In-process by default; with Redis (``HOOKHUB_REDIS_URL``) one sorted set per source holds the
window so every node shares the count. Over the limit → 429 with ``Retry-After``.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections import deque
from typing import Protocol

log = logging.getLogger("hookhub.inbound")


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

    def hit_now(self, key: str, limit: int, period: float) -> float:
        """``hit`` without a coroutine, for the hot path."""
        now = time.monotonic()
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = deque()
        while window and window[0] <= now - period:
            window.popleft()
        if len(window) >= limit:
            return max(window[0] + period - now, 0.001)
        window.append(now)
        return 0.0

    async def close(self) -> None:
        self._windows.clear()


# KEYS[1] window key; ARGV: now_ms, period_ms, limit, member. Returns 0 or the ms to wait.
_SLIDING_WINDOW = """
local key, now, period, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
if redis.call('ZCARD', key) >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return math.max(tonumber(oldest[2]) + period - now, 1)
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, period)
return 0
"""


class RedisLimiter:
    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url)
        self._script = self._redis.register_script(_SLIDING_WINDOW)
        self._fallback = LocalLimiter()

    async def hit(self, key: str, limit: int, period: float) -> float:
        now_ms = int(time.time() * 1000)
        try:
            wait_ms = await self._script(
                keys=[f"hookhub:throttle:{key}"],
                args=[now_ms, int(period * 1000), limit, f"{now_ms}-{secrets.token_hex(4)}"],
            )
        except Exception:
            log.warning("redis unreachable; throttling %s in-process", key, exc_info=True)
            return await self._fallback.hit(key, limit, period)
        return int(wait_ms) / 1000

    async def close(self) -> None:
        await self._redis.aclose()


def make_limiter(redis_url: str | None) -> Limiter:
    return RedisLimiter(redis_url) if redis_url else LocalLimiter()


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
