"""The Relay: the one object ingest talks to for live listeners, replies and producers.

Contract used by ingest (``inbound/``): ``publish``, ``wait_reply``, ``serve_smee``,
``add_producer``. The listen app (``/listen/{key}``) and the reply API use the rest.

Pub/sub goes through a ``Bus``: in-process by default, Redis when ``HOOKHUB_REDIS_URL`` is set,
so a listener on one node gets events ingested on another and a reply reaches the waiting node.

While Redis is unavailable each node relays alone: its own events to its own listeners, replies
to requests waiting on it. Nothing is lost for listeners on other nodes: a node whose
subscription may have missed messages (``on_gap``), or that could not broadcast an event (it
announces a gap notice once Redis is back), catches its listeners up from the event log; each
listener skips the events it already got.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any

from hookhub.errors import Conflict, NotFound, ServiceUnavailable
from hookhub.http.dispatch import Receive, Scope, Send
from hookhub.redis_link import RedisUnavailable
from hookhub.relay.bus import Bus, Claim, LocalBus, RedisBus
from hookhub.relay.listeners import Frame, Listener, ListenerRegistry, route_key_text
from hookhub.relay.replay import frames_since
from hookhub.relay.replies import Reply, reply_from_wire, reply_to_wire
from hookhub.relay.signals import on_exit_signal
from hookhub.relay.sources import SourceLookup
from hookhub.store.outage import DatabaseUnavailable

if TYPE_CHECKING:
    from hookhub.runtime import Runtime

__all__ = ["Relay", "Reply"]

log = logging.getLogger("hookhub.relay")

# A reply claimed just as the waiter timed out is still in flight; wait this long for it.
LATE_REPLY_GRACE_SECONDS = 2.0
# Drop a waiter that publish() opened but nobody waited on (longer than any reply timeout).
ORPHAN_WAITER_SECONDS = 600.0
# A catch-up after a gap starts this much earlier than the gap (clocks of nodes differ).
GAP_MARGIN_SECONDS = 5.0
CATCH_UP_RETRY_SECONDS = 0.5
CATCH_UP_TRIES = 16


class Relay:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.listeners = ListenerRegistry()
        self.sources = SourceLookup(runtime.db)
        self.bus: Bus = RedisBus(runtime.redis) if runtime.redis is not None else LocalBus()
        self._unsent: dict[str, float] = {}  # source id -> when its first unbroadcast event came
        self._producers: dict[str, set[Callable[[str], Any]]] = {}
        self._waiters: dict[str, asyncio.Future[Reply]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._restore_signals: Callable[[], None] = lambda: None
        self._recheck_every = runtime.settings.listener_recheck_seconds
        self._rechecking: asyncio.Task[None] | None = None

    # -- service -------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.bus.start(self._on_bus_message, on_gap=self._after_gap)
        if self.runtime.redis is not None:
            self.runtime.health_checks["redis"] = self.bus.healthy
            self.runtime.redis.on_recovery(self._announce_unsent)
        self._restore_signals = on_exit_signal(self.listeners.close_all)
        self._rechecking = asyncio.get_running_loop().create_task(
            self._recheck_periodically(), name="hookhub-listener-recheck"
        )

    async def stop(self) -> None:
        self._restore_signals()
        if self._rechecking is not None:
            self._rechecking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rechecking
            self._rechecking = None
        self.listeners.close_all()
        await self.bus.stop()

    # -- listeners' credentials ----------------------------------------------------------------

    async def recheck_listeners(self, ingest_keys: Iterable[str] | None = None) -> int:
        """Disconnect the listeners whose credentials no longer hold: the ingest key they came
        with was deleted, rotated away (past its grace period) or moved to another source, or the
        source's listen secret changed. All listeners, or those of ``ingest_keys``; how many went.

        The API calls this for the keys of a source it changed; every node also runs it every
        ``HOOKHUB_LISTENER_RECHECK_SECONDS``, which bounds how long a listener elsewhere lasts.
        """
        revoked = 0
        by_key = self.listeners.by_ingest_key(ingest_keys)
        if not by_key:
            return 0
        sources = await self.sources.by_keys_fresh(list(by_key))
        for key, listeners in by_key.items():
            for listener in listeners:
                if not listener.still_admitted_by(sources[key]):
                    listener.revoke()
                    revoked += 1
        if revoked:
            log.info("relay: disconnected %d listener(s) whose key or listen secret changed", revoked)
        return revoked

    async def _recheck_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._recheck_every)
            try:
                await self.recheck_listeners()
            except Exception:
                log.warning("relay: checking listeners' credentials failed; trying again", exc_info=True)

    # -- events --------------------------------------------------------------------------------

    def has_audience(self, source_id: str) -> bool:
        """False when nobody listens to the source, here or on another node: building, signing
        and publishing the listener JSON is then wasted work (a later listener resumes from the
        store; one that turns up on another node meanwhile is caught up, see ``relay/bus.py``)."""
        return self.listeners.count(source_id) > 0 or self.bus.wanted_elsewhere(source_id)

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
        key = route_key_text(route_key)
        reply_id = event.get("replyId")
        if reply_id:
            # Open the reply before any listener can see the event (and so answer it).
            self._waiter(reply_id)
            with contextlib.suppress(RedisUnavailable):  # then only this node's listeners can answer
                await self.bus.open_reply(reply_id)
        self.listeners.dispatch(Frame(source_id, key, event))
        if self.bus.distributed and (reply_id or self.bus.wanted_elsewhere(source_id)):
            try:
                await self.bus.broadcast("event", {"s": source_id, "k": key, "e": event}, source_id)
            except RedisUnavailable:  # other nodes catch up from the log once Redis is back
                self._unsent.setdefault(source_id, time.time())

    # -- gaps: catching listeners up from the event log ------------------------------------------

    def _after_gap(self, since: float) -> None:
        """This node's subscription may have missed messages since ``since``."""
        self._background(self._catch_up_when_possible(since))

    async def _catch_up_when_possible(self, since: float, source_ids: Iterable[str] | None = None) -> None:
        """``catch_up``, tried again while the database is unavailable (for up to ~2 minutes)."""
        delay = CATCH_UP_RETRY_SECONDS
        for _ in range(CATCH_UP_TRIES):
            try:
                await self.catch_up(since, source_ids)
                return
            except DatabaseUnavailable:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        log.warning("relay: could not catch listeners up from %.0f: the database stayed unavailable", since)

    async def catch_up(self, since: float, source_ids: Iterable[str] | None = None) -> int:
        """Offer this node's listeners (of ``source_ids``, or all) the events stored since
        ``since`` (wall-clock seconds, less a margin for clocks); each skips what it already got.
        Returns how many events were read."""
        wanted = set(source_ids) if source_ids is not None else None
        read = 0
        for source_id in self.listeners.sources():
            if wanted is not None and source_id not in wanted:
                continue
            async for frame in frames_since(self.runtime.db, source_id, since - GAP_MARGIN_SECONDS):
                self.listeners.dispatch(frame)
                read += 1
        return read

    async def _announce_unsent(self, _outage_started: float) -> None:
        """Redis is back: tell every node which sources' events it could not broadcast."""
        unsent, self._unsent = self._unsent, {}
        if not unsent:
            return
        try:
            await self.bus.broadcast("gap", {"sources": unsent})
        except RedisUnavailable:
            for source_id, since in unsent.items():
                self._unsent.setdefault(source_id, since)

    # -- replies -------------------------------------------------------------------------------

    async def wait_reply(self, reply_id: str, timeout: float) -> Reply | None:
        """The first reply posted for ``reply_id`` within ``timeout`` seconds, or None."""
        waiter = self._waiter(reply_id)
        with contextlib.suppress(RedisUnavailable):  # a reply posted to this node still arrives
            await self.bus.open_reply(reply_id)
        try:
            try:
                return await asyncio.wait_for(asyncio.shield(waiter), timeout)
            except TimeoutError:
                pass
            except asyncio.CancelledError:
                # The caller went away: close the request so later replies get 409, not 202.
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.bus.claim_reply(reply_id))
                raise
            # Close the request: replies from now on get 409. Lost the race? One is in flight.
            try:
                claim = await self.bus.claim_reply(reply_id)
            except RedisUnavailable:
                return None
            if claim is not Claim.TAKEN:
                return None
            try:
                return await asyncio.wait_for(asyncio.shield(waiter), LATE_REPLY_GRACE_SECONDS)
            except TimeoutError:
                return None
        finally:
            self._waiters.pop(reply_id, None)

    async def post_reply(self, reply_id: str, reply: Reply) -> None:
        """Give ``reply`` to the request waiting under ``reply_id`` (404 unknown, 409 too late)."""
        try:
            claim = await self.bus.claim_reply(reply_id)
        except RedisUnavailable as exc:
            # Without Redis only a request waiting on this node can be answered (first wins).
            waiter = self._waiters.get(reply_id)
            if waiter is None:
                raise ServiceUnavailable("The relay's pub/sub is unavailable; try again.") from exc
            if waiter.done():
                raise Conflict("This request already got its reply, or stopped waiting for one.") from exc
            waiter.set_result(reply)
            return
        if claim is Claim.UNKNOWN:
            raise NotFound("No request is waiting for a reply with this replyId.")
        if claim is Claim.TAKEN:
            raise Conflict("This request already got its reply, or stopped waiting for one.")
        if not self._resolve(reply_id, reply) and self.bus.distributed:
            try:
                await self.bus.broadcast("reply", {"r": reply_id, "reply": reply_to_wire(reply)})
            except RedisUnavailable as exc:
                raise ServiceUnavailable("The relay's pub/sub is unavailable; try again.") from exc

    def _waiter(self, reply_id: str) -> asyncio.Future[Reply]:
        waiter = self._waiters.get(reply_id)
        if waiter is None:
            loop = asyncio.get_running_loop()
            waiter = self._waiters[reply_id] = loop.create_future()
            loop.call_later(ORPHAN_WAITER_SECONDS, self._drop_waiter, reply_id, waiter)
        return waiter

    def _drop_waiter(self, reply_id: str, waiter: asyncio.Future[Reply]) -> None:
        if self._waiters.get(reply_id) is waiter:
            del self._waiters[reply_id]

    def _resolve(self, reply_id: str, reply: Reply) -> bool:
        waiter = self._waiters.get(reply_id)
        if waiter is None:
            return False
        if not waiter.done():
            waiter.set_result(reply)
        return True

    # -- smee ----------------------------------------------------------------------------------

    async def serve_smee(self, ingest_key: str, scope: Scope, receive: Receive, send: Send) -> None:
        """``GET /webhook/{key}`` with ``Accept: text/event-stream``: a smee.io-style channel.

        Accepts the same ``?secret=``, ``?key=`` and ``Last-Event-ID`` as ``/listen/{key}``.
        """
        from hookhub.relay.sse import serve_sse

        await serve_sse(self, await self.sources.by_key(ingest_key), scope, receive, send, smee=True)

    # -- producers (WebSocket clients of the ingest URL) ---------------------------------------

    async def add_producer(self, source_id: str, send_text: Callable[[str], Any]) -> Callable[[], None]:
        """Register a WebSocket producer of a source; returns a function that unregisters it.

        ``send_text`` may be a plain function or a coroutine function.
        """
        await self.bus.follow(source_id)  # listeners on other nodes may publish to it
        producers = self._producers.setdefault(source_id, set())
        producers.add(send_text)

        def remove() -> None:
            producers.discard(send_text)
            if not producers and self._producers.get(source_id) is producers:
                del self._producers[source_id]
            self.bus.unfollow(source_id)

        return remove

    async def add_listener(self, listener: Listener) -> None:
        """Register a live listener; from its return on, events stored on any node reach it."""
        await self.bus.follow(listener.source_id)
        self.listeners.add(listener)

    def remove_listener(self, listener: Listener) -> None:
        self.listeners.remove(listener)
        self.bus.unfollow(listener.source_id)

    async def publish_to_producers(self, source_id: str, text: str) -> int:
        """A listener's message to the source's producers on every node; returns how many are local."""
        count = await self._send_to_producers(source_id, text)
        if self.bus.distributed:
            await self.bus.broadcast("produce", {"s": source_id, "t": text}, source_id)
        return count

    async def _send_to_producers(self, source_id: str, text: str) -> int:
        producers = list(self._producers.get(source_id, ()))
        pending = []
        for send_text in producers:
            try:
                result = send_text(text)
            except Exception:
                log.warning("relay: a producer of %s failed", source_id, exc_info=True)
                continue
            if inspect.isawaitable(result):
                pending.append(result)
        for outcome in await asyncio.gather(*pending, return_exceptions=True):
            if isinstance(outcome, Exception):
                log.warning("relay: a producer of %s failed: %r", source_id, outcome)
        return len(producers)

    # -- from other nodes ----------------------------------------------------------------------

    def _on_bus_message(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "event":
            self.listeners.dispatch(Frame(payload["s"], payload["k"], payload["e"]))
        elif kind == "gap":
            for source_id, since in payload["sources"].items():
                self._background(self._catch_up_when_possible(since, [source_id]))
        elif kind == "reply":
            self._resolve(payload["r"], reply_from_wire(payload["reply"]))
        elif kind == "produce":
            self._background(self._send_to_producers(payload["s"], payload["t"]))

    def _background(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
