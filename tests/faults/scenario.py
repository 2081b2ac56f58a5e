"""One fault scenario: load on, the fault, load on a while longer, then count.

    warm-up (2 s) ─► fault(stage) ─► settle (4 s) ─► clients finish their retries ─► drain ─► row

Each scenario gets its own receiver, application (one endpoint), source (one destination, a
WebSocket listener on one node while ingest goes to another) and, when asked, a throttled
source probed on both nodes; they are deleted afterwards so that nothing carries over.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from svix.api import ApplicationIn, EndpointIn, SvixAsync, SvixOptions

from tests.faults.load import (
    Driver,
    IngestDriver,
    Listener,
    MessageDriver,
    ThrottleProbe,
    http_client,
    most_in_a_period,
)
from tests.faults.receivers import Receiver
from tests.faults.table import Row
from tests.support.cluster import Cluster

WARMUP = 2.0
SETTLE = 4.0
DRAIN_TIMEOUT = 30.0  # after the clients are done: longer than a lease (5 s) plus a few retries
HEALTH_TIMEOUT = 20.0  # after the fault: how long the processes get to be healthy by themselves
MESSAGE_RATE = 25.0
INGEST_RATE = 10.0
PROBE_RATE = 10.0  # twice the throttle's limit
THROTTLE_LIMIT, THROTTLE_PERIOD = 25, 5.0
SLOW_ANSWER = 2.0  # a request slower than this is worth a note


@dataclass
class Stage:
    """What a fault acts on, and where it notes what it saw."""

    cluster: Cluster
    receiver: Receiver
    notes: list[str] = field(default_factory=list)
    fault_began: float = 0.0
    fault_began_wall: float = 0.0  # time.time(), to compare with the server's timestamps
    fault_ended: float | None = None

    def fault_over(self) -> None:
        """The fault is over (the supervisor may still be restarting what it killed)."""
        self.fault_ended = time.monotonic()


Fault = Callable[[Stage], Awaitable[None]]


@dataclass
class Workload:
    app_id: str
    source: dict[str, Any]
    throttled: dict[str, Any] | None


async def create_workload(
    cluster: Cluster, client: httpx.AsyncClient, receiver: Receiver, throttled: bool
) -> Workload:
    svix = SvixAsync(cluster.token, SvixOptions(server_url=cluster.serve_urls[0]))
    app = await svix.application.create(ApplicationIn(name="fault suite"))
    await svix.endpoint.create(app.id, EndpointIn(url=f"{receiver.url}/msg"))
    source = await _create_source(cluster, client, {"throttle": {"limit": 100_000, "periodSeconds": 1}})
    api = f"{cluster.serve_urls[0]}/ingest/api/v1/source/{source['id']}/endpoint/"
    answer = await client.post(api, json={"url": f"{receiver.url}/evt"}, headers=cluster.headers)
    assert answer.status_code == 201, answer.text
    limited = None
    if throttled:
        limit = {"throttle": {"limit": THROTTLE_LIMIT, "periodSeconds": THROTTLE_PERIOD}}
        limited = await _create_source(cluster, client, limit)
    return Workload(app.id, source, limited)


async def _create_source(
    cluster: Cluster, client: httpx.AsyncClient, settings: dict[str, Any]
) -> dict[str, Any]:
    answer = await client.post(
        f"{cluster.serve_urls[0]}/ingest/api/v1/source/",
        json={"name": "fault suite", "settings": settings},
        headers=cluster.headers,
    )
    assert answer.status_code == 201, answer.text
    source = answer.json()
    source["key"] = source["ingestUrl"].rstrip("/").rsplit("/", 1)[-1]
    return source


async def delete_workload(cluster: Cluster, client: httpx.AsyncClient, workload: Workload) -> None:
    """Delete what the scenario made, so that no retries of it go on into the next scenario."""
    base = cluster.serve_urls[0]
    urls = [f"{base}/api/v1/app/{workload.app_id}/", f"{base}/ingest/api/v1/source/{workload.source['id']}/"]
    if workload.throttled:
        urls.append(f"{base}/ingest/api/v1/source/{workload.throttled['id']}/")
    for url in urls:
        # The next scenario has another receiver: a leftover would only cost retries.
        with contextlib.suppress(httpx.HTTPError):
            await client.delete(url, headers=cluster.headers)


class HealthWatch:
    """Polls every process's health during the scenario, to time when all are healthy again."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.healthy_at: list[float] = []
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            began = time.monotonic()
            if not await self.cluster.unhealthy():
                self.healthy_at.append(began)
            await asyncio.sleep(0.25)

    def first_after(self, moment: float) -> float | None:
        return next((t for t in self.healthy_at if t >= moment), None)

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


@dataclass
class Traffic:
    """The clients of one scenario, each with its own connection pool as separate programs
    would have: messages round-robin over the nodes, ingest to one node first, a listener on
    another, and (optionally) the throttle probe."""

    messages: MessageDriver
    ingest: IngestDriver
    listener: Listener
    probe: ThrottleProbe | None

    @classmethod
    async def start(cls, stack: contextlib.AsyncExitStack, cluster: Cluster, workload: Workload) -> Traffic:
        urls, key = cluster.serve_urls, workload.source["key"]
        ingest_order = [urls[-1], *urls[:-1]]  # the last node first; the listener is on the first
        listen_url = urls[0].replace("http://", "ws://") + f"/listen/{key}"
        session = [await stack.enter_async_context(http_client()) for _ in range(3)]
        probe = None
        if workload.throttled:
            probe = ThrottleProbe(urls, workload.throttled["key"], PROBE_RATE, session[2])
        traffic = cls(
            MessageDriver("m", urls, MESSAGE_RATE, session[0], app_id=workload.app_id, token=cluster.token),
            IngestDriver("i", ingest_order, INGEST_RATE, session[1], key=key),
            Listener(listen_url),
            probe,
        )
        await traffic.listener.start()
        stack.push_async_callback(traffic.listener.stop)
        for driver in traffic.drivers:
            driver.start()
        return traffic

    @property
    def drivers(self) -> list[Driver | ThrottleProbe]:
        return [self.messages, self.ingest, *([self.probe] if self.probe else [])]

    async def stop(self) -> None:
        """Stop sending; returns once every client is done retrying (bounded)."""
        await asyncio.gather(*(driver.stop() for driver in self.drivers))

    @property
    def accepted(self) -> set[str]:
        return self.messages.accepted | self.ingest.accepted


async def run_scenario(cluster: Cluster, name: str, fault: Fault, *, probe_throttle: bool = False) -> Row:
    async with contextlib.AsyncExitStack() as stack:
        receiver = await Receiver().start()
        stack.push_async_callback(receiver.close)
        admin = await stack.enter_async_context(httpx.AsyncClient(timeout=10))
        workload = await create_workload(cluster, admin, receiver, probe_throttle)
        stack.push_async_callback(delete_workload, cluster, admin, workload)
        watch = HealthWatch(cluster)
        stack.push_async_callback(watch.stop)
        traffic = await Traffic.start(stack, cluster, workload)
        stage = Stage(cluster, receiver)

        await asyncio.sleep(WARMUP)
        stage.fault_began, stage.fault_began_wall = time.monotonic(), time.time()
        await fault(stage)
        if stage.fault_ended is None:
            stage.fault_over()
        await asyncio.sleep(SETTLE)
        await traffic.stop()
        await _drain(receiver, traffic)
        assert stage.fault_ended is not None
        unrecovered = await cluster.wait_healthy(
            max(1.0, HEALTH_TIMEOUT - (time.monotonic() - stage.fault_ended))
        )
        await cluster.revive()

        stored = await stored_events(admin, cluster, workload.source["id"])
        row = _row(name, stage, traffic, watch, unrecovered, stored)
        if workload.throttled:
            limited = await stored_events(admin, cluster, workload.throttled["id"])
            row.notes.append(_throttle_note(limited, stage))
        return row


async def _drain(receiver: Receiver, traffic: Traffic) -> None:
    """Wait (bounded) until the receiver acknowledged, and the listener saw, all that was accepted."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while time.monotonic() < deadline:
        delivered = traffic.accepted <= receiver.first_ack.keys()
        if delivered and traffic.ingest.accepted <= traffic.listener.seen.keys():
            return
        await asyncio.sleep(0.1)


def _row(
    name: str,
    stage: Stage,
    traffic: Traffic,
    watch: HealthWatch,
    unrecovered: list[str],
    stored: list[dict[str, Any]],
) -> Row:
    receiver, end = stage.receiver, stage.fault_ended
    assert end is not None
    messages, ingest = traffic.messages, traffic.ingest
    accepted = traffic.accepted
    delivered = receiver.acknowledged(accepted)
    row = Row(
        name,
        accepted=len(accepted),
        delivered=len(delivered),
        lost=len(accepted - delivered),
        duplicated=sum(receiver.acks[pid] - 1 for pid in delivered),
        # By event id: a client's retry of a stalled request stores a second event with the same
        # payload id, which would hide the first one's absence.
        listener_missed=len({event["id"] for event in stored} - traffic.listener.copies.keys()),
        server_errors=messages.answers["500"] + ingest.answers["500"],
        unrecovered=unrecovered,
    )
    # Recovery: every process healthy, and each stream delivered something sent after the fault.
    firsts = [_first_delivery_after(driver, receiver.first_ack, end) for driver in (messages, ingest)]
    healthy = watch.first_after(end)
    if healthy is not None and all(t is not None for t in firsts):
        row.recovery = max(healthy, *firsts) - end  # type: ignore[type-var]
    backlog = [pid for d in (messages, ingest) for pid, item in d.items.items() if item.created < end]
    if not row.lost and backlog:
        acked = [receiver.first_ack[pid] for pid in backlog if pid in receiver.first_ack]
        row.drained = max(0.0, max(acked, default=end) - end)
    row.notes = [*stage.notes, *_client_notes(messages, ingest), _listener_note(traffic.listener, row)]
    if row.duplicated:
        twice = [sum(receiver.acks[pid] - 1 for pid in d.accepted & delivered) for d in (messages, ingest)]
        row.notes.append(f"duplicates: {twice[0]} of messages, {twice[1]} of inbound events")
    if row.listener_missed:
        row.notes.append(_missed_note(stored, traffic.listener, stage))
    return row


def _missed_note(stored: list[dict[str, Any]], listener: Listener, stage: Stage) -> str:
    """When the events the listener missed were stored, relative to the fault's start."""
    missed = [event for event in stored if event["id"] not in listener.copies]
    offsets = sorted(
        datetime.fromisoformat(event["receivedAt"]).timestamp() - stage.fault_began_wall for event in missed
    )
    shown = ", ".join(f"{offset:+.1f} s" for offset in offsets[:6])
    return f"missed events stored at {shown}{' …' if len(offsets) > 6 else ''} from the fault's start"


def _first_delivery_after(driver: Driver, first_ack: dict[str, float], moment: float) -> float | None:
    after = [pid for pid, item in driver.items.items() if item.created >= moment]
    return min((first_ack[pid] for pid in after if pid in first_ack), default=None)


def _client_notes(messages: MessageDriver, ingest: IngestDriver) -> list[str]:
    notes = []
    for label, driver in (("messages", messages), ("ingest", ingest)):
        # 409 only comes back to a retry whose earlier try was stored: accepted, not a failure.
        failures = Counter({k: v for k, v in driver.answers.items() if k[0] != "2" and k != "409"})
        if failures:
            shown = ", ".join(f"{k} x{v}" for k, v in failures.most_common(3))
            notes.append(f"{label} client retried after {shown}")
        if driver.slowest > SLOW_ANSWER:
            notes.append(f"{label}: a request took {driver.slowest:.1f} s")
        gave_up = len(driver.items) - len(driver.accepted)
        if gave_up:
            notes.append(f"{label}: {gave_up} never accepted (client gave up)")
    return notes


def _listener_note(listener: Listener, row: Row) -> str:
    note = f"listener missed {row.listener_missed} of {len(listener.copies) + row.listener_missed} events"
    if listener.connects > 1:
        drops = ", ".join(f"{k} x{v}" for k, v in listener.drops.items())
        note += f", reconnected {listener.connects - 1} times ({drops})"
    twice = sum(1 for count in listener.copies.values() if count > 1)
    if twice:
        note += f", {twice} events relayed to it more than once"
    return note


async def stored_events(admin: httpx.AsyncClient, cluster: Cluster, source_id: str) -> list[dict[str, Any]]:
    """Every event the source stored, through the events API."""
    url = f"{cluster.serve_urls[0]}/ingest/api/v1/source/{source_id}/event"
    events: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 250}
    for _ in range(100):
        page = (await admin.get(url, params=params, headers=cluster.headers)).json()
        events += page["data"]
        if page["done"]:
            break
        params["iterator"] = page["iterator"]
    return events


def _throttle_note(stored: list[dict[str, Any]], stage: Stage) -> str:
    """How many requests the throttle let through in any period, by the times the server stored."""
    times = [datetime.fromisoformat(event["receivedAt"]).timestamp() for event in stored]
    during = [t for t in times if t >= stage.fault_began_wall]
    return (
        f"throttle let through at most {most_in_a_period(times, THROTTLE_PERIOD)} per "
        f"{THROTTLE_PERIOD:g} s (limit {THROTTLE_LIMIT}; {most_in_a_period(during, THROTTLE_PERIOD)} "
        "from the fault on)"
    )
