"""Operational webhooks: tell the operator's URL about disabled endpoints and failing messages.

Best effort: sent from memory with a few quick retries, signed like every other webhook with
``HOOKHUB_OPERATIONAL_WEBHOOK_SECRET``. They are notifications, not data, so they are not queued
durably.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

import orjson

from hookhub import ids
from hookhub.delivery.sender import Sender
from hookhub.delivery.signing import secret_bytes, signed_headers
from hookhub.store.types import utcnow

log = logging.getLogger("hookhub.delivery")

_RETRY_DELAYS = (0.0, 1.0, 5.0)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


class OperationalWebhooks:
    def __init__(self, url: str | None, secret: str | None, sender: Sender) -> None:
        self._url = url
        self._key = secret_bytes(secret) if secret else None
        self._sender = sender
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        return bool(self._url)

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        if not self._url:
            return
        task = asyncio.get_running_loop().create_task(self._send(event_type, data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, event_type: str, data: dict[str, Any]) -> None:
        assert self._url
        msg_id = ids.new_id("msg")
        body = orjson.dumps({"type": event_type, "timestamp": _iso(utcnow()), "data": data})
        for delay in _RETRY_DELAYS:
            await asyncio.sleep(delay)
            headers = {"content-type": "application/json"}
            if self._key:
                headers |= signed_headers([self._key], msg_id, int(time.time()), body, svix_names=True)
            response = await self._sender.post(self._url, headers, body, guard=False)
            if response.ok:
                return
        log.warning(
            "operational webhook %s not delivered: %s %s", event_type, response.status, response.body[:200]
        )

    async def drain(self, timeout: float) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in list(self._tasks):
            task.cancel()

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
