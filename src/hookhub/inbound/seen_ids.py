"""Keys seen recently, per scope: "is this the first time?" for replay windows (and de-duplication).

``first_seen(scope, key, ttl)`` records ``key`` for ``ttl`` seconds and says whether it was new;
``forget`` takes a key back (its request was not stored after all). In-process by default; with
Redis (``HOOKHUB_REDIS_URL``) one ``SET NX PX`` per key, so every node sees every other node's keys.

While Redis is unavailable (``RedisLink``'s circuit) each node remembers alone, in-process, and
what it recorded meanwhile is written into Redis as soon as Redis answers again, so the other
nodes refuse those keys too (as the throttle shares the requests it admitted alone). Keys are
hashed: their size is bounded whatever the sender put in them.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable
from typing import Protocol

from hookhub.redis_link import RedisLink, RedisUnavailable

REDIS_PREFIX = "hookhub:seen:"


class SeenIds(Protocol):
    async def first_seen(self, scope: str, key: str, ttl: float) -> bool:
        """Record ``key`` in ``scope`` for ``ttl`` seconds; False if it was already there."""
        ...

    async def forget(self, scope: str, key: str) -> None: ...

    async def close(self) -> None: ...


def _digest(key: str) -> bytes:
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class LocalSeenIds:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # scope -> digest -> expiry; in insertion order, which is expiry order while a scope's
        # ttl stays the same (when it changes, expired keys behind a longer-lived one wait a bit).
        self._scopes: dict[str, dict[bytes, float]] = {}

    async def first_seen(self, scope: str, key: str, ttl: float) -> bool:
        return self.first_seen_now(scope, _digest(key), ttl)

    def first_seen_now(self, scope: str, digest: bytes, ttl: float) -> bool:
        now = self._clock()
        keys = self._scopes.setdefault(scope, {})
        _drop_expired(keys, now)
        if digest in keys:
            return False
        keys[digest] = now + ttl
        return True

    def seen(self, scope: str, digest: bytes) -> bool:
        keys = self._scopes.get(scope)
        return keys is not None and keys.get(digest, 0.0) > self._clock()

    async def forget(self, scope: str, key: str) -> None:
        self.forget_now(scope, _digest(key))

    def forget_now(self, scope: str, digest: bytes) -> None:
        keys = self._scopes.get(scope)
        if keys is not None:
            keys.pop(digest, None)

    async def close(self) -> None:
        self._scopes.clear()


def _drop_expired(keys: dict[bytes, float], now: float) -> None:
    expired = []
    for digest, expires in keys.items():
        if expires > now:
            break
        expired.append(digest)
    for digest in expired:
        del keys[digest]


class RedisSeenIds:
    def __init__(self, link: RedisLink) -> None:
        self._link = link
        self._alone = LocalSeenIds(time.time)  # recorded while Redis was unavailable
        self._unshared: dict[str, float] = {}  # their Redis keys -> expiry (wall clock)
        link.on_recovery(self._share_when_back)

    async def first_seen(self, scope: str, key: str, ttl: float) -> bool:
        digest = _digest(key)
        if self._unshared and self._alone.seen(scope, digest):
            return False
        try:
            if self._unshared:  # Redis is back (or this probes it): share the outage's keys first
                await self._share_outage_keys()
            created = await self._link.call(
                self._link.client.set, _redis_key(scope, digest), b"1", nx=True, px=_ms(ttl)
            )
        except RedisUnavailable:
            if not self._alone.first_seen_now(scope, digest, ttl):
                return False
            self._unshared[_redis_key(scope, digest)] = time.time() + ttl
            return True
        return bool(created)

    async def _share_when_back(self, _outage_started: float) -> None:
        with contextlib.suppress(RedisUnavailable):  # the next call tries again
            await self._share_outage_keys()

    async def _share_outage_keys(self) -> None:
        """Write what this node recorded alone into Redis (``RedisUnavailable`` while Redis is
        still away: the keys are kept for the next try)."""
        now, shared = time.time(), dict(self._unshared)
        pipe = self._link.client.pipeline(transaction=False)
        for name, expires in shared.items():
            if expires > now:
                pipe.set(name, b"1", nx=True, px=_ms(expires - now))
        if len(pipe):
            await self._link.call(pipe.execute)
        for name in shared:  # not those recorded alone while this ran
            self._unshared.pop(name, None)

    async def forget(self, scope: str, key: str) -> None:
        digest = _digest(key)
        self._alone.forget_now(scope, digest)
        if self._unshared.pop(_redis_key(scope, digest), None) is not None:
            return  # never reached Redis
        with contextlib.suppress(RedisUnavailable):  # then it expires with its window
            await self._link.call(self._link.client.delete, _redis_key(scope, digest))

    async def close(self) -> None:
        await self._alone.close()  # the link is the runtime's


def _redis_key(scope: str, digest: bytes) -> str:
    return f"{REDIS_PREFIX}{scope}:{digest.hex()}"


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def make_seen_ids(link: RedisLink | None) -> SeenIds:
    return RedisSeenIds(link) if link is not None else LocalSeenIds()
