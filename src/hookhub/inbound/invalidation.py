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
from hookhub.redis_link import RedisLink, RedisUnavailable
from hookhub.store.outage import log_failure

log = logging.getLogger("hookhub.inbound")
CHANNEL = "hookhub:sources"


class SourceInvalidation:
    def __init__(
        self,
        link: RedisLink,
        cache: SourceCache,
        recheck_listeners: Callable[[Iterable[str]], Awaitable[int]],
    ) -> None:
        self._link = link
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

    async def publish(self, keys: list[str]) -> None:
        try:
            await self._link.call(self._link.client.publish, CHANNEL, orjson.dumps(keys))
        except RedisUnavailable:
            log.warning("could not publish a source change; other nodes see it within their cache TTL")

    async def _listen(self) -> None:
        while True:
            try:
                async with self._link.subscriber.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self._cache.clear()  # anything missed while unsubscribed
                    while True:
                        message = await pubsub.get_message(timeout=1.0)
                        if message is not None and message.get("type") == "message":
                            keys = orjson.loads(message["data"])
                            self._cache.forget(*keys)
                            try:
                                await self._recheck_listeners(keys)
                            except Exception:
                                log_failure(log, "checking listeners after a source change failed")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._link.failed(exc)  # the link logs the outage once
                await asyncio.sleep(1.0)
