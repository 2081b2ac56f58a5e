"""Operational webhooks: tell the operator's URL about disabled endpoints and failing messages.

Queued durably (``operational_outbox.py``): an event is written in the same transaction as the
delivery results that caused it (``take_pending`` → ``queue.record``), then sent by whichever
worker claims it, signed like every other webhook with ``HOOKHUB_OPERATIONAL_WEBHOOK_SECRET``
and retried on the delivery schedule (``HOOKHUB_RETRY_SCHEDULE``) with the same ``webhook-id``.
The URL is read when sending, so a corrected URL takes effect for what is still queued.
It is not judged by the SSRF guard: only the operator sets it, and it often names an internal
service (docs/delivery.md, "Not guarded, on purpose").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime
from typing import Any

import orjson

from hookhub import ids
from hookhub.delivery import operational_outbox as outbox
from hookhub.delivery.retry import next_delay
from hookhub.delivery.sender import Sender
from hookhub.delivery.signing import secret_bytes, signed_headers
from hookhub.store.db import Database
from hookhub.store.outage import log_failure
from hookhub.store.types import utcnow

log = logging.getLogger("hookhub.delivery")

POLL_SECONDS = 1.0  # how often a worker looks for rows other workers queued or leases that ran out
CLAIM_LIMIT = 16


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


class OperationalWebhooks:
    def __init__(
        self,
        url: str | None,
        secret: str | None,
        sender: Sender,
        db: Database,
        retry_delays: tuple[float, ...],
        lease_seconds: float,
    ) -> None:
        self._url = url
        self._key = secret_bytes(secret) if secret else None
        self._sender = sender
        self._db = db
        self._retry_delays = retry_delays
        self._lease_seconds = lease_seconds
        self._pending: list[dict[str, Any]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def enabled(self) -> bool:
        return bool(self._url)

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        """Queue an event in memory until ``take_pending`` or ``store_pending`` writes it."""
        if not self._url:
            return
        now = utcnow()
        body = orjson.dumps({"type": event_type, "timestamp": _iso(now), "data": data})
        self._pending.append(
            {
                "id": ids.new_id("msg"),
                "event_type": event_type,
                "body": body,
                "attempt_count": 0,
                "next_attempt_at": now,
                "lease_expires_at": None,
                "created_at": now,
            }
        )

    def take_pending(self) -> list[dict[str, Any]]:
        """The rows emitted since the last call, for the caller's transaction (then ``wake``)."""
        rows, self._pending = self._pending, []
        return rows

    async def store_pending(self) -> None:
        """Write what was emitted in a transaction of its own."""
        rows = self.take_pending()
        if rows:
            await outbox.store(self._db, rows)
            self.wake()

    def wake(self) -> None:
        self._wakeup.set()

    async def start(self) -> None:
        if self.enabled and self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="hookhub-operational-webhooks")

    async def stop(self, timeout: float) -> None:
        """Let the tries under way finish (bounded); the rest stay queued for the next start."""
        self._stopping = True
        self.wake()
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            try:
                while not self._stopping and await self._send_due():
                    pass
            except Exception:
                log_failure(log, "sending operational webhooks failed; trying again shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), POLL_SECONDS)

    async def _send_due(self) -> int:
        rows = await outbox.claim_due(self._db, utcnow(), self._lease_seconds, CLAIM_LIMIT)
        await asyncio.gather(*(self._try(row) for row in rows))
        return len(rows)

    async def _try(self, row: Any) -> None:
        assert self._url
        headers = {"content-type": "application/json"}
        if self._key:
            headers |= signed_headers([self._key], row.id, int(time.time()), row.body, svix_names=True)
        response = await self._sender.post(self._url, headers, row.body, guard=False)
        attempts_made = row.attempt_count + 1
        retry_in = None if response.ok else next_delay(attempts_made, self._retry_delays)
        if not response.ok and retry_in is None:
            log.warning(
                "operational webhook %s %s given up after %d tries: %s %s",
                row.event_type,
                row.id,
                attempts_made,
                response.status,
                response.body[:200],
            )
        await outbox.settle(self._db, row.id, attempts_made, retry_in)

    # ---- the events --------------------------------------------------------------------------

    def endpoint_disabled(self, ep: Any, trigger: str = "automatic") -> None:
        self.emit(
            "endpoint.disabled",
            {
                "appId": ep.app_id,
                "sourceId": ep.source_id,
                "endpointId": ep.id,
                "endpointUid": ep.uid,
                "failSince": _iso(ep.failing_since),
                "trigger": trigger,
            },
        )

    def attempt_event(
        self, event_type: str, job: Any, attempt_id: str, status_code: int, at: datetime
    ) -> None:
        self.emit(
            event_type,
            {
                "appId": job.app_id,
                "sourceId": job.source_id,
                "msgId": job.claimed.message_id,
                "eventId": job.claimed.event_id,
                "msgEventId": job.msg_event_id,
                "endpointId": job.claimed.endpoint_id,
                "endpointUid": job.endpoint_uid,
                "lastAttempt": {"id": attempt_id, "timestamp": _iso(at), "responseStatusCode": status_code},
            },
        )
