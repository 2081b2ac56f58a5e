"""What flows between the worker's stages: a claimed row, a prepared job, a decided result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum


class AttemptStatus(IntEnum):
    """Svix MessageStatus, as stored in ``attempt.status``."""

    SUCCESS = 0
    PENDING = 1
    FAIL = 2
    SENDING = 3


class Trigger(IntEnum):
    SCHEDULED = 0
    MANUAL = 1


@dataclass(slots=True, frozen=True)
class Claimed:
    """A delivery row this worker leased: ids only, everything else is reloaded."""

    id: str
    endpoint_id: str
    message_id: str | None
    event_id: str | None
    attempt_count: int
    trigger_type: int


@dataclass(slots=True)
class Job:
    """A claimed delivery with everything needed to send it (the prepare stage's output)."""

    claimed: Claimed
    url: str
    body: bytes
    content_type: str
    custom_headers: dict[str, str]
    keys: list[bytes]
    throttle_rate: int | None
    # For operational webhooks: who the endpoint belongs to and which message it carries.
    app_id: str | None
    source_id: str | None
    endpoint_uid: str | None
    msg_event_id: str | None
    failing_since: datetime | None
    event_type: str | None = None  # the message's or inbound event's
    transformation: str | None = None  # the endpoint's JavaScript, when enabled
    method: str = "POST"  # a transformation may choose PUT or PATCH
    max_in_flight: int | None = None  # the endpoint's limit: a result frees one of its places

    @property
    def subject_id(self) -> str:
        """The ``webhook-id``: the message id, or the inbound event id."""
        return self.claimed.message_id or self.claimed.event_id or ""


@dataclass(slots=True)
class Result:
    """One finished attempt (or a skip), ready to be recorded."""

    claimed: Claimed
    job: Job | None
    status_code: int
    response: str
    duration_ms: int
    success: bool
    # False: no attempt row (the delivery was cancelled before sending).
    attempted: bool = True
    # Seconds until the next try; None with success False means give up.
    retry_in: float | None = None
    disable_endpoint: bool = False
    # Why the delivery was dropped without an attempt (endpoint gone/disabled).
    cancelled: str | None = None
    created_at: datetime | None = None
    attempt_id: str | None = None
    # The delivery's final status when it is neither sent nor failed (a transformation cancelled it).
    final_status: str | None = None


# A delivery row's status as Svix's MessageStatus, and Svix's status texts.
DELIVERY_STATUS = {"success": 0, "pending": 1, "failed": 2, "sending": 3}
STATUS_TEXT = {0: "success", 1: "pending", 2: "fail", 3: "sending", 4: "canceled"}
