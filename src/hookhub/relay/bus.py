"""Pub/sub between hookhub nodes, and the first-reply-wins state of waiting requests.

``LocalBus`` is for one process: nothing to broadcast, reply state in a dict.
``RedisBus`` carries a source's events and listener-to-producer messages on a channel of that
source, which a node subscribes to only while it has listeners or producers of the source
(``follow`` / ``unfollow``), and replies on one channel every node reads; it keeps reply state in
Redis keys so that "first reply wins" holds across nodes. A node ignores its own broadcasts: it
has already delivered them locally.

Redis may stall or go away. Commands go through the process's ``RedisLink`` (its timeouts and
circuit). The subscription pings Redis when it has heard nothing for ``PING_SECONDS``; no answer
within ``STALL_SECONDS`` means the subscription may have missed messages, and so does a lost
connection: once subscribed again the node reports the gap (``on_gap(since)``, the wall-clock
time it last heard from Redis) so that its listeners are caught up from the event log.

Every node also says it is alive on the shared channel each second, with the sources it has
listeners of (its audience). A node that falls silent (killed between committing events and
publishing them, or holding events it could not publish while Redis was away from it) is a gap
too: the others catch their listeners up from the last time they heard it.

A node publishes a source's events only while another node says it listens (``wanted_elsewhere``):
an ingest nobody listens to costs no Redis round trip. A listener that arrives elsewhere is
announced at once; a node that skipped events of the source in the meantime sends a gap notice
for them, so the new listener's node catches it up from the event log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from enum import Enum
from typing import Any, Protocol

import orjson

from hookhub.redis_link import RedisLink, RedisUnavailable

log = logging.getLogger("hookhub.relay")

# How long a reply id stays known after its request opened or was answered (later replies → 409).
REPLY_STATE_TTL_SECONDS = 3600
CHANNEL = "hookhub:relay"  # replies and gap notices, for every node
SOURCE_CHANNEL = "hookhub:relay:source:"  # + source id: its events and producer messages
SUBSCRIBE_TIMEOUT_SECONDS = 5.0
PING_SECONDS = 1.0
STALL_SECONDS = 3.0
HEARTBEAT_SECONDS = 1.0
PEER_LOST_SECONDS = 5.0  # a node not heard this long is gone (its last events may be unpublished)
# Skipped events older than this are forgotten (a listener's node silent that long has lost it).
SKIPPED_KEPT_SECONDS = 3600.0


class Claim(Enum):
    WON = "won"  # this reply is the first one
    TAKEN = "taken"  # a reply was already given (or the request stopped waiting)
    UNKNOWN = "unknown"  # no request ever waited with this id (or it expired long ago)


OnMessage = Callable[[str, dict[str, Any]], None]
# Called when a subscription that may have missed messages holds again, with the wall-clock
# time from which it may have missed them.
OnGap = Callable[[float], None]


class Bus(Protocol):
    distributed: bool

    async def start(self, on_message: OnMessage, on_gap: OnGap) -> None: ...
    async def stop(self) -> None: ...
    async def broadcast(self, kind: str, payload: dict[str, Any], source_id: str | None = None) -> None: ...
    def wanted_elsewhere(self, source_id: str) -> bool: ...
    async def follow(self, source_id: str) -> bool: ...
    def unfollow(self, source_id: str) -> None: ...
    async def open_reply(self, reply_id: str) -> None: ...
    async def claim_reply(self, reply_id: str) -> Claim: ...
    async def healthy(self) -> bool: ...


class LocalBus:
    distributed = False

    def __init__(self) -> None:
        self._replies: dict[str, tuple[str, float]] = {}

    async def start(self, on_message: OnMessage, on_gap: OnGap) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def broadcast(self, kind: str, payload: dict[str, Any], source_id: str | None = None) -> None:
        return None

    def wanted_elsewhere(self, source_id: str) -> bool:
        return False

    async def follow(self, source_id: str) -> bool:
        return False

    def unfollow(self, source_id: str) -> None:
        return None

    async def open_reply(self, reply_id: str) -> None:
        self._purge()
        self._replies.setdefault(reply_id, ("pending", time.monotonic() + REPLY_STATE_TTL_SECONDS))

    async def claim_reply(self, reply_id: str) -> Claim:
        state = self._replies.get(reply_id)
        if state is None or state[1] < time.monotonic():
            return Claim.UNKNOWN
        if state[0] != "pending":
            return Claim.TAKEN
        self._replies[reply_id] = ("taken", time.monotonic() + REPLY_STATE_TTL_SECONDS)
        return Claim.WON

    async def healthy(self) -> bool:
        return True

    def _purge(self) -> None:
        if len(self._replies) < 1024:
            return
        now = time.monotonic()
        for reply_id in [k for k, (_, expires) in self._replies.items() if expires < now]:
            del self._replies[reply_id]


# Atomically turn "pending" into "taken": 1 = won, 0 = already taken, -1 = unknown.
_CLAIM_SCRIPT = """
local state = redis.call('GET', KEYS[1])
if state == 'pending' then
  redis.call('SET', KEYS[1], 'taken', 'EX', ARGV[1])
  return 1
end
if state then return 0 end
return -1
"""


class RedisBus:
    distributed = True

    def __init__(self, link: RedisLink) -> None:
        self.node = os.urandom(8).hex()
        # The link's connections are named, so an operator (or a test) can tell this node's
        # connections apart in CLIENT LIST.
        self.client_name = link.name
        self._link = link
        self._claim = link.client.register_script(_CLAIM_SCRIPT)
        self._reader: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._pubsub: Any = None  # the live subscription; None while (re)connecting
        self._following: dict[str, int] = {}  # source id -> local listeners and producers
        self._confirmed: dict[str, asyncio.Future[None]] = {}  # source channel -> subscribed
        self._tasks: set[asyncio.Task[Any]] = set()
        self._heard_at = time.time()  # when the subscription last heard from Redis
        self._peers: dict[str, float] = {}  # other nodes -> when they last said they were alive
        self._peers_checked = 0.0
        self._followed_at: dict[str, float] = {}  # source id -> when this node began to follow it
        # Other nodes' listeners: source id -> until when (monotonic) one of them may listen.
        self._audience: dict[str, float] = {}
        # Until this (monotonic) moment every peer may not have been heard yet; None: not subscribed.
        self._audience_known_at: float | None = None
        self._skipped: dict[str, float] = {}  # source id -> first event not published (wall time)

    async def start(self, on_message: OnMessage, on_gap: OnGap) -> None:
        self._reader = asyncio.create_task(self._read(on_message, on_gap), name="hookhub-relay-redis")
        self._tasks.add(asyncio.create_task(self._beat(), name="hookhub-relay-heartbeat"))
        # Listeners registered from now on must not miss events ingested on other nodes.
        try:
            await asyncio.wait_for(self._subscribed.wait(), timeout=10)
        except TimeoutError:
            log.warning("relay: Redis is not reachable yet; relaying on this node alone meanwhile")

    async def stop(self) -> None:
        pending = [task for task in (self._reader, *self._tasks) if task is not None]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def broadcast(self, kind: str, payload: dict[str, Any], source_id: str | None = None) -> None:
        """Publish to the other nodes; ``RedisUnavailable`` when Redis cannot take it now."""
        channel = CHANNEL if source_id is None else SOURCE_CHANNEL + source_id
        data = orjson.dumps({"n": self.node, "k": kind, "p": payload})
        await self._link.call(self._link.client.publish, channel, data)

    @property
    def audience_known(self) -> bool:
        """Whether every other node has said whom it listens for since this one subscribed."""
        known_at = self._audience_known_at
        return known_at is not None and time.monotonic() >= known_at

    def forget_audience(self) -> None:
        """As if no other node had said whom it listens for yet (for tests of the race)."""
        self._audience.clear()

    def wanted_elsewhere(self, source_id: str) -> bool:
        """Whether a listener on another node may want the source's events. When not, the caller
        skips publishing; the skip is remembered, to be caught up if a listener turns up."""
        if not self.audience_known or self._audience.get(source_id, 0.0) > time.monotonic():
            return True
        self._skipped.setdefault(source_id, time.time())
        return False

    async def follow(self, source_id: str) -> bool:
        """Receive the source's events from other nodes; returns once the subscription holds, so
        that nothing committed after this call is missed. True when this node just began to."""
        channel = SOURCE_CHANNEL + source_id
        count = self._following.get(source_id, 0)
        self._following[source_id] = count + 1
        try:
            if count == 0:
                self._followed_at[source_id] = time.time()
                self._confirmed[channel] = asyncio.get_running_loop().create_future()
                if self._pubsub is not None:  # else the reader subscribes when it (re)connects
                    await self._pubsub.subscribe(channel)
            confirmed = self._confirmed.get(channel)
            if confirmed is not None and not confirmed.done():
                await asyncio.wait_for(asyncio.shield(confirmed), SUBSCRIBE_TIMEOUT_SECONDS)
            if count == 0:
                await self._say_alive()  # other nodes publish the source's events from now on
        except TimeoutError:  # Redis unreachable: the reconnect will close listeners to resume
            log.warning("relay: no Redis subscription for source %s yet", source_id)
        except BaseException:  # cancelled (the client left) or the connection failed
            self.unfollow(source_id)
            raise
        return count == 0

    def unfollow(self, source_id: str) -> None:
        count = self._following.get(source_id, 0) - 1
        if count > 0:
            self._following[source_id] = count
            return
        self._following.pop(source_id, None)
        self._followed_at.pop(source_id, None)
        channel = SOURCE_CHANNEL + source_id
        self._confirmed.pop(channel, None)
        if self._pubsub is not None:
            self._background(self._unsubscribe(self._pubsub, channel))

    async def _unsubscribe(self, pubsub: Any, channel: str) -> None:
        try:
            if channel not in self._confirmed:  # nobody followed the source again meanwhile
                await pubsub.unsubscribe(channel)
        except Exception:  # the connection went away: so did the subscription
            log.debug("relay: unsubscribing from %s failed", channel, exc_info=True)

    async def open_reply(self, reply_id: str) -> None:
        await self._link.call(
            self._link.client.set, _reply_key(reply_id), "pending", ex=REPLY_STATE_TTL_SECONDS, nx=True
        )

    async def claim_reply(self, reply_id: str) -> Claim:
        keys, args = [_reply_key(reply_id)], [REPLY_STATE_TTL_SECONDS]
        result = await self._link.call(self._claim, keys=keys, args=args)
        return {1: Claim.WON, 0: Claim.TAKEN}.get(int(result), Claim.UNKNOWN)

    async def healthy(self) -> bool:
        return await self._link.healthy()

    async def _read(self, on_message: OnMessage, on_gap: OnGap) -> None:
        delay = 0.1
        gap_since: float | None = None  # set once the subscription may have missed messages
        while True:
            try:
                async with self._link.subscriber.pubsub() as pubsub:
                    # One step, so that a ``follow`` from now on subscribes on this connection.
                    self._pubsub = pubsub
                    channels = (CHANNEL, *(SOURCE_CHANNEL + source for source in self._following))
                    async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                        await pubsub.subscribe(*channels)
                    self._heard_at = time.time()
                    # Whom other nodes listen for is known once each has said it once more.
                    self._audience_known_at = time.monotonic() + 2 * HEARTBEAT_SECONDS
                    if gap_since is not None:
                        log.warning("relay: Redis subscription back; catching listeners up")
                        on_gap(gap_since)
                        gap_since = None
                    self._link.succeeded()
                    self._subscribed.set()
                    delay = 0.1
                    await self._listen(pubsub, on_message, on_gap)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if gap_since is None:
                    gap_since = self._heard_at
                    log.warning("relay: lost the Redis subscription (%s); reconnecting", type(exc).__name__)
                self._link.failed(exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                self._pubsub = None
                self._audience_known_at = None

    async def _listen(self, pubsub: Any, on_message: OnMessage, on_gap: OnGap) -> None:
        """Dispatch messages until the connection fails or Redis stops answering pings."""
        pinged_at: float | None = None
        while True:
            message = await pubsub.get_message(timeout=PING_SECONDS)
            now = time.monotonic()
            self._check_peers(on_gap)
            if message is not None:
                self._heard_at = time.time()
                pinged_at = None
                self._dispatch(message, on_message)
                continue
            if pinged_at is None:
                async with asyncio.timeout(STALL_SECONDS):
                    await pubsub.ping()
                pinged_at = now
            elif now - pinged_at > STALL_SECONDS:
                raise TimeoutError(f"Redis did not answer a ping within {STALL_SECONDS:g} s")

    async def _beat(self) -> None:
        while True:
            await self._say_alive()
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def _say_alive(self) -> None:
        """Tell the other nodes this one is alive, and which sources it listens to since when."""
        listening = {
            source_id: since
            for source_id, since in self._followed_at.items()
            if (confirmed := self._confirmed.get(SOURCE_CHANNEL + source_id)) is not None and confirmed.done()
        }
        alive = orjson.dumps({"n": self.node, "k": "alive", "p": {"f": listening}})
        with contextlib.suppress(RedisUnavailable):
            await self._link.call(self._link.client.publish, CHANNEL, alive)

    def _heard_alive(self, payload: dict[str, Any]) -> None:
        """Note another node's audience; a source it newly listens to, whose events this node
        skipped meanwhile, gets a gap notice so that its listeners are caught up."""
        now = time.monotonic()
        gaps: dict[str, float] = {}
        for source_id, since in payload.get("f", {}).items():
            if self._audience.get(source_id, 0.0) <= now and source_id in self._skipped:
                gaps[source_id] = max(self._skipped.pop(source_id), float(since))
            self._audience[source_id] = now + PEER_LOST_SECONDS
        if gaps:
            self._background(self._send_gap(gaps))

    async def _send_gap(self, sources: dict[str, float]) -> None:
        data = orjson.dumps({"n": self.node, "k": "gap", "p": {"sources": sources}})
        try:
            await self._link.call(self._link.client.publish, CHANNEL, data)
        except RedisUnavailable:  # the listeners' node lost its subscription too: it catches up
            log.warning("relay: could not tell other nodes about skipped events of %s", list(sources))

    def _forget_stale(self) -> None:
        now, wall = time.monotonic(), time.time()
        for source_id in [s for s, until in self._audience.items() if until <= now]:
            del self._audience[source_id]
        for source_id in [s for s, at in self._skipped.items() if at < wall - SKIPPED_KEPT_SECONDS]:
            del self._skipped[source_id]

    def _background(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _check_peers(self, on_gap: OnGap) -> None:
        now = time.time()
        if now - self._peers_checked < HEARTBEAT_SECONDS:
            return
        self._peers_checked = now
        self._forget_stale()
        for node, heard in list(self._peers.items()):
            if now - heard > PEER_LOST_SECONDS:
                del self._peers[node]
                log.warning("relay: node %s went silent; catching listeners up from the event log", node)
                on_gap(heard)

    def _dispatch(self, message: dict[str, Any], on_message: OnMessage) -> None:
        if message.get("type") == "pong":
            return
        if message.get("type") == "subscribe":
            channel = message["channel"]
            confirmed = self._confirmed.get(channel.decode() if isinstance(channel, bytes) else channel)
            if confirmed is not None and not confirmed.done():
                confirmed.set_result(None)
            return
        if message.get("type") != "message":
            return
        try:
            envelope = orjson.loads(message["data"])
            node = envelope.get("n")
            if node == self.node:
                return
            if envelope["k"] == "alive":
                self._peers[node] = time.time()
                self._heard_alive(envelope["p"])
                return
            on_message(envelope["k"], envelope["p"])
        except Exception:
            log.exception("relay: bad message on %s", CHANNEL)


def _reply_key(reply_id: str) -> str:
    return f"hookhub:reply:{reply_id}"
