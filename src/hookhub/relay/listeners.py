"""Live listeners of one node: who listens to which source, with which routing keys.

An event is serialised once per node (``Frame``) whatever the number of listeners; each listener
has a bounded queue drained by its own connection task, so one slow listener never delays another.
A listener whose queue overflows is disconnected; it reconnects and resumes from the stored events.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Iterable
from functools import cached_property
from typing import Any

import orjson

from hookhub.relay.events import smee_data
from hookhub.relay.sources import SourceInfo

QUEUE_SIZE = 10_000
# A listener remembers the ids of this many of the last events it was given, so that events
# offered again (a catch-up after a gap in the pub/sub) reach it once.
REMEMBERED = 4096


def route_key_text(value: Any) -> str | None:
    """The value found at a source's key path, as the string listeners register (``$key``)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return orjson.dumps(value).decode()  # as ingest stores it in event.route_key


class Frame:
    """One event as it leaves this node, rendered lazily and at most once per format."""

    def __init__(
        self, source_id: str, route_key: str | None, event: dict[str, Any], received_at: float | None = None
    ) -> None:
        self.source_id = source_id
        self.route_key = route_key
        self.event = event
        # When the event was stored (Unix time), for frames read back from the event log.
        self.received_at = received_at

    @property
    def id(self) -> str:
        return self.event["id"]

    @cached_property
    def json(self) -> str:
        return orjson.dumps(self.event).decode()

    @cached_property
    def sse(self) -> bytes:
        return b"id: " + self.id.encode() + b"\ndata: " + self.json.encode() + b"\n\n"

    @cached_property
    def smee_sse(self) -> bytes:
        return b"id: " + self.id.encode() + b"\ndata: " + orjson.dumps(smee_data(self.event)) + b"\n\n"


class Listener:
    """One connected listener. ``keys`` None = registered no routing keys. ``ingest_key`` and
    ``secret`` are the credentials it connected with (the source's listen secret then)."""

    def __init__(
        self,
        source_id: str,
        *,
        keys: Iterable[str] | None,
        routed: bool,
        ingest_key: str | None = None,
        secret: str | None = None,
    ) -> None:
        self.source_id = source_id
        self.ingest_key = ingest_key
        self.secret = secret
        self.revoked = False
        self.keys: frozenset[str] | None = frozenset(keys) if keys else None
        # Whether the source routes by key path; then only listeners with a matching key get events.
        self.routed = routed
        self.queue: asyncio.Queue[Frame | None] = asyncio.Queue(QUEUE_SIZE)
        self.overflowed = False
        self._given: dict[str, None] = {}  # ids of the last events given, oldest first
        self.connected_at = time.time()

    @classmethod
    def admitted_to(cls, source: SourceInfo, keys: Iterable[str] | None) -> Listener:
        """A listener of ``source``, remembering the key and listen secret that let it in."""
        return cls(
            source.id, keys=keys, routed=source.routed, ingest_key=source.key, secret=source.listen_secret
        )

    def set_keys(self, keys: Iterable[str] | None) -> None:
        self.keys = frozenset(keys) if keys else None

    def accepts(self, route_key: str | None) -> bool:
        if route_key is None:
            return not self.routed
        return self.keys is not None and route_key in self.keys

    def remember(self, event_id: str) -> bool:
        """Note that the listener gets ``event_id``; False when it already got it."""
        given = self._given
        if event_id in given:
            return False
        given[event_id] = None
        if len(given) > REMEMBERED:
            del given[next(iter(given))]
        return True

    def offer(self, frame: Frame) -> None:
        if self.overflowed or not self.accepts(frame.route_key):
            return
        if frame.received_at is not None and frame.received_at < self.connected_at:
            return  # read back from the log: older than this connection, which never wanted it
        if not self.remember(frame.id):
            return
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.overflowed = True
            self.queue.get_nowait()
            self.queue.put_nowait(None)  # tells the connection to close

    def close(self) -> None:
        """Ask the connection to end (server shutdown)."""
        try:
            self.queue.put_nowait(None)
        except asyncio.QueueFull:
            self.overflowed = True

    def revoke(self) -> None:
        """End the connection for good: the credentials it connected with no longer hold."""
        self.revoked = True
        self.close()

    def still_admitted_by(self, source: SourceInfo | None) -> bool:
        """Whether a fresh lookup of ``ingest_key`` still lets this listener in."""
        if source is None or source.id != self.source_id:
            return False
        current = source.listen_secret
        if current is None or self.secret is None:
            return current is None and self.secret is None
        return hmac.compare_digest(current.encode(), self.secret.encode())


class ListenerRegistry:
    def __init__(self) -> None:
        self._by_source: dict[str, set[Listener]] = {}

    def add(self, listener: Listener) -> None:
        self._by_source.setdefault(listener.source_id, set()).add(listener)

    def remove(self, listener: Listener) -> None:
        listeners = self._by_source.get(listener.source_id)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._by_source[listener.source_id]

    def dispatch(self, frame: Frame) -> int:
        listeners = self._by_source.get(frame.source_id)
        if not listeners:
            return 0
        for listener in listeners:
            listener.offer(frame)
        return len(listeners)

    def sources(self) -> list[str]:
        """The sources this node has listeners of."""
        return list(self._by_source)

    def count(self, source_id: str | None = None) -> int:
        if source_id is not None:
            return len(self._by_source.get(source_id, ()))
        return sum(len(listeners) for listeners in self._by_source.values())

    def by_ingest_key(self, ingest_keys: Iterable[str] | None = None) -> dict[str, list[Listener]]:
        """Listeners grouped by the ingest key they connected with (all, or those of ``ingest_keys``)."""
        wanted = set(ingest_keys) if ingest_keys is not None else None
        grouped: dict[str, list[Listener]] = {}
        for listeners in self._by_source.values():
            for listener in listeners:
                key = listener.ingest_key
                if key is not None and (wanted is None or key in wanted):
                    grouped.setdefault(key, []).append(listener)
        return grouped

    def close_all(self) -> None:
        for listeners in self._by_source.values():
            for listener in listeners:
                listener.close()
