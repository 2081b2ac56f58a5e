"""Prometheus metrics: what this process counted, and the delivery queue as the database has it.

Hot paths only bump plain counters (one dict update, no lock, no label lookup: ingest runs at
tens of thousands of requests a second); the text is rendered with ``prometheus_client`` when
``/metrics`` is scraped, where the queue's depth and lag are read from the database too.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from hookhub.store.db import Database
from hookhub.store.tables import delivery

# Seconds; a delivery attempt is an HTTP round trip to a customer's server.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True, slots=True)
class QueueState:
    due: int  # pending deliveries whose time has come
    scheduled: int  # pending deliveries waiting for a later time (retries, deliverAt)
    lag_seconds: float  # how long the oldest due delivery has been waiting


class Metrics:
    """One per process (``Runtime.metrics``)."""

    def __init__(self) -> None:
        self.ingest_requests: Counter[tuple[str, int]] = Counter()  # (source id, status)
        self.deliveries: Counter[str] = Counter()  # outcome
        self.ingest_duplicates: Counter[str] = Counter()  # source id
        self._duration_counts = [0] * (len(DURATION_BUCKETS) + 1)  # the last one is +Inf
        self._duration_sum = 0.0

    def ingest_answered(self, source_id: str, status: int) -> None:
        self.ingest_requests[(source_id, status)] += 1

    def ingest_duplicate(self, source_id: str) -> None:
        self.ingest_duplicates[source_id] += 1

    def delivery_done(self, outcome: str, seconds: float | None) -> None:
        """``outcome``: success, retry, failed (given up), disabled (endpoint), cancelled."""
        self.deliveries[outcome] += 1
        if seconds is not None:
            self._duration_counts[bisect.bisect_left(DURATION_BUCKETS, seconds)] += 1
            self._duration_sum += seconds

    def render(self, queue: QueueState | None) -> bytes:
        return generate_latest(self.registry(queue))

    def registry(self, queue: QueueState | None = None) -> CollectorRegistry:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Snapshot(self, queue))
        return registry

    def serve_in_background(self, host: str, port: int) -> None:
        """``/metrics`` on a port of its own, from a thread (``hookhub worker`` serves no HTTP).

        Without the queue gauges (they need the database; every ``serve`` has them). Reading the
        counters from that thread is safe: copying a dict of str and int keys never runs Python.
        """
        start_http_server(port, host, registry=self.registry())

    def _duration_buckets(self) -> list[tuple[str, float]]:
        cumulative, total = [], 0
        for bound, count in zip((*DURATION_BUCKETS, float("inf")), self._duration_counts, strict=True):
            total += count
            cumulative.append(("+Inf" if bound == float("inf") else repr(bound), total))
        return cumulative


class _Snapshot(Collector):
    def __init__(self, metrics: Metrics, queue: QueueState | None) -> None:
        self._metrics = metrics
        self._queue = queue

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily]:
        metrics = self._metrics
        requests = CounterMetricFamily(
            "hookhub_ingest_requests",
            "Requests to ingest URLs, by source and the HTTP status answered.",
            labels=["source_id", "status"],
        )
        for (source_id, status), count in list(metrics.ingest_requests.items()):
            requests.add_metric([source_id, str(status)], count)
        yield requests
        duplicates = CounterMetricFamily(
            "hookhub_ingest_duplicates",
            "Deliveries a provider sent again, answered with the first event and stored nowhere.",
            labels=["source_id"],
        )
        for source_id, count in list(metrics.ingest_duplicates.items()):
            duplicates.add_metric([source_id], count)
        yield duplicates
        deliveries = CounterMetricFamily(
            "hookhub_deliveries",
            "Delivery attempts finished by this process's worker, by outcome.",
            labels=["outcome"],
        )
        for outcome, count in list(metrics.deliveries.items()):
            deliveries.add_metric([outcome], count)
        yield deliveries
        duration = HistogramMetricFamily(
            "hookhub_delivery_duration_seconds", "Time from sending a delivery to its response."
        )
        duration.add_metric([], metrics._duration_buckets(), metrics._duration_sum)
        yield duration
        if self._queue is not None:
            queue = self._queue
            yield GaugeMetricFamily(
                "hookhub_delivery_queue_due", "Pending deliveries whose time has come.", queue.due
            )
            yield GaugeMetricFamily(
                "hookhub_delivery_queue_scheduled",
                "Pending deliveries waiting for a later time (retries, deliverAt).",
                queue.scheduled,
            )
            yield GaugeMetricFamily(
                "hookhub_delivery_queue_lag_seconds",
                "How long the oldest due delivery has been waiting.",
                queue.lag_seconds,
            )


async def read_queue(db: Database) -> QueueState:
    now = datetime.now(UTC)
    pending = delivery.c.status == "pending"
    is_due = delivery.c.next_attempt_at <= now
    query = sa.select(
        sa.func.count().filter(is_due),
        sa.func.count().filter(sa.not_(is_due)),
        sa.func.min(delivery.c.next_attempt_at).filter(is_due),
    ).where(pending)
    async with db.read() as conn:
        due, scheduled, oldest = (await conn.execute(query)).one()
    lag = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return QueueState(due or 0, scheduled or 0, lag)
