"""What the relay needs to know about a source, looked up by ingest key or id and cached briefly.

A listener connection reads this at connect (and again on a publish frame), so the cache only
spares the database from reconnect storms. Connected listeners are checked again with ``fresh``
lookups when their source changes (``Relay.recheck_listeners``).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from hookhub.store import tables
from hookhub.store.db import Database

CACHE_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class SourceInfo:
    id: str
    settings: dict[str, Any]
    key: str | None = None  # the ingest key it was found by (None when found by id)

    @property
    def listen_secret(self) -> str | None:
        return self.settings.get("listenSecret") or None

    @property
    def routed(self) -> bool:
        return bool(self.settings.get("routeKeyPath"))

    @property
    def listeners_may_publish(self) -> bool:
        return bool(self.settings.get("listenersMayPublish"))

    def secret_matches(self, given: str | None) -> bool:
        """True when the source has no listen secret, or ``given`` is it (constant time)."""
        expected = self.listen_secret
        if expected is None:
            return True
        return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class SourceLookup:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache: dict[str, tuple[float, SourceInfo | None]] = {}

    async def by_key(self, key: str) -> SourceInfo | None:
        """The source this key opens (its current key, or the previous one during its grace)."""
        return await self._cached(f"k:{key}", self._load_by_key, key)

    async def by_id(self, source_id: str) -> SourceInfo | None:
        return await self._cached(f"i:{source_id}", self._load_by_id, source_id)

    async def by_keys_fresh(self, keys: list[str]) -> dict[str, SourceInfo | None]:
        """Each key's source read now (one query per 500 keys), the cache refreshed with it."""
        found = await self._load_keys(keys)
        expires = time.monotonic() + CACHE_SECONDS
        if len(self._cache) + len(found) > 10_000:
            self._cache.clear()
        for key, info in found.items():
            self._cache[f"k:{key}"] = (expires, info)
        return found

    async def _cached(self, cache_key: str, load: Any, arg: str) -> SourceInfo | None:
        now = time.monotonic()
        hit = self._cache.get(cache_key)
        if hit is not None and hit[0] > now:
            return hit[1]
        info = await load(arg)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[cache_key] = (now + CACHE_SECONDS, info)
        return info

    async def _load_by_key(self, key: str) -> SourceInfo | None:
        return (await self._load_keys([key]))[key]

    async def _load_keys(self, keys: list[str]) -> dict[str, SourceInfo | None]:
        """The source each key opens: its current key, or its previous one while the rotation's
        grace lasts (also when the same row matches by its current key)."""
        found: dict[str, SourceInfo | None] = dict.fromkeys(keys)
        source = tables.source
        now = datetime.now(UTC)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            query = sa.select(
                source.c.id,
                source.c.settings,
                source.c.ingest_key,
                source.c.previous_ingest_key,
                source.c.previous_ingest_key_expires_at,
            ).where(
                sa.or_(
                    source.c.ingest_key.in_(chunk),
                    sa.and_(
                        source.c.previous_ingest_key.in_(chunk),
                        source.c.previous_ingest_key_expires_at > now,
                    ),
                )
            )
            async with self._db.read() as conn:
                rows = (await conn.execute(query)).all()
            for row in rows:
                grace = row.previous_ingest_key_expires_at
                keys_open = [row.ingest_key]
                if grace is not None and grace > now:
                    keys_open.append(row.previous_ingest_key)
                for key in keys_open:
                    if key in found:
                        found[key] = SourceInfo(row.id, row.settings or {}, key)
        return found

    async def _load_by_id(self, source_id: str) -> SourceInfo | None:
        source = tables.source
        query = sa.select(source.c.id, source.c.settings).where(source.c.id == source_id)
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return SourceInfo(row.id, row.settings or {}) if row else None
