"""Source changes pushed to every node through Redis, so cached sources are dropped at once.

The API of the node that changed a source publishes the ingest keys to forget; every node (this one
included) forgets them on receipt and checks again the listeners connected with them. After a lost
subscription the whole cache is dropped, since messages of the gap are gone. Without Redis the
cache's short TTL (and each node's periodic listener check) is the only bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

import orjson

from hookhub.inbound.cache import SourceCache

log = logging.getLogger("hookhub.inbound")
CHANNEL = "hookhub:sources"


class SourceInvalidation:
    def __init__(
        self, redis_url: str, cache: SourceCache, recheck_listeners: Callable[[Iterable[str]], Awaitable[int]]
    ) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(redis_url)
        self._cache = cache
        self._recheck_listeners = recheck_listeners
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._listen(), name="hookhub-source-invalidation"
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._redis.aclose()

    async def publish(self, keys: list[str]) -> None:
        try:
            await self._redis.publish(CHANNEL, orjson.dumps(keys))
        except Exception:
            log.warning("could not publish a source change; other nodes see it within their cache TTL")

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self._cache.clear()  # anything missed while unsubscribed
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            keys = orjson.loads(message["data"])
                            self._cache.forget(*keys)
                            await self._recheck_listeners(keys)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("source invalidation subscription lost; retrying", exc_info=True)
                await asyncio.sleep(1.0)
