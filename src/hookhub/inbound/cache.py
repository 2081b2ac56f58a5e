"""Sources by ingest key, cached so the hot path rarely touches the database.

Entries live ``ttl`` seconds (2 s by default), which bounds how long another process may serve
a changed or deleted source; this process drops entries at once when its API changes a source.
Concurrent misses for one key share a single lookup.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Awaitable, Callable
from typing import Final, Literal

from hookhub.inbound.compiled import CompiledSource

Loader = Callable[[str], Awaitable[CompiledSource | None]]


class _NotCached(enum.Enum):
    NOT_CACHED = enum.auto()


NOT_CACHED: Final = _NotCached.NOT_CACHED  # what ``fresh`` returns when only ``get`` can tell


class SourceCache:
    def __init__(self, load: Loader, ttl: float = 2.0, max_entries: int = 50_000) -> None:
        self._load = load
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[str, tuple[float, CompiledSource | None]] = {}
        self._loading: dict[str, asyncio.Future[CompiledSource | None]] = {}

    def fresh(self, key: str) -> CompiledSource | Literal[_NotCached.NOT_CACHED] | None:
        """The cached source (None: no source has this key) without awaiting, or ``NOT_CACHED``."""
        entry = self._entries.get(key)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        return NOT_CACHED

    async def get(self, key: str) -> CompiledSource | None:
        cached = self.fresh(key)
        if cached is not NOT_CACHED:
            return cached
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[CompiledSource | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            compiled = await self._load(key)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            self._loading.pop(key, None)
        if len(self._entries) >= self._max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self._ttl, compiled)
        future.set_result(compiled)
        return compiled

    def forget(self, *keys: str | None) -> None:
        for key in keys:
            if key:
                self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
