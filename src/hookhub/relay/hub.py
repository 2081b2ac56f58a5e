"""The Relay: the one object ingest talks to for live listeners, replies and producers.

Contract used by ingest (``inbound/``); the relay implementation fills in the bodies.
Until then every method is a harmless no-op, so ingest works without listeners.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hookhub.http.dispatch import Receive, Scope, Send

if TYPE_CHECKING:
    from hookhub.runtime import Runtime


@dataclass(slots=True)
class Reply:
    """What a listener answered for a waiting event; becomes the original caller's response."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class Relay:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def publish(self, source_id: str, route_key: Any, event: dict[str, Any]) -> None:
        """Hand a stored event to the live listeners of its source (on every node).

        ``event`` is the listener JSON: id, method, path, query, headers, body, receivedAt, replyId.
        NOTE to ingest: build it with ``hookhub.relay.events.listener_event(...)`` (or
        ``listener_event_from_row``) so live events and resumed ones are identical; it adds
        ``rawBody`` (base64 of the exact bytes), which ``hookhub listen`` replays byte-exact.
        Store ``route_key`` as ``str(value)`` in the event row's ``route_key`` column (resume routes
        by it), and the reply id in ``reply_id``. Call publish *before* wait_reply.
        ``route_key`` is the value found at the source's routeKeyPath (None when it has none).
        """

    async def wait_reply(self, reply_id: str, timeout: float) -> Reply | None:
        """The first reply posted for ``reply_id`` within ``timeout`` seconds, or None."""
        return None

    async def serve_smee(self, source_id: str, scope: Scope, receive: Receive, send: Send) -> None:
        """``GET /webhook/{key}`` with ``Accept: text/event-stream``: a smee.io-style channel."""
        raise NotImplementedError

    def add_producer(self, source_id: str, send_text: Callable[[str], Any]) -> Callable[[], None]:
        """Register a WebSocket producer of a source; returns a function that unregisters it."""
        return lambda: None
