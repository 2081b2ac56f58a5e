"""Source destinations that republish events as messages of an outbound application.

A destination whose URL is ``hookhub://app/{app id}`` is not sent over HTTP: each event becomes a
message of that application (event type: the event's, payload: its JSON body), which its own
endpoints then receive like any message. The message's ``eventId`` is the inbound event's id, so a
retried or replayed delivery finds it already there instead of publishing it twice.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import orjson
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from hookhub.auth.tokens import Principal
from hookhub.delivery.jobs import Job
from hookhub.delivery.sender import Response
from hookhub.errors import Conflict, HookhubError, validation_error
from hookhub.outbound.message_models import MessageIn
from hookhub.outbound.message_writer import message_row, write_message
from hookhub.outbound.scope import app_ref_clause
from hookhub.outbound.wire import REPUBLISH_PREFIX as PREFIX
from hookhub.store.db import Database
from hookhub.store.tables import application

# The event type of republished events that have none (their source sets no ``eventTypeFrom``).
DEFAULT_EVENT_TYPE = "hookhub.inbound"
_SYSTEM = Principal(token_id="", token_hash="", app_id=None)  # the engine acts for the operator


def is_republish(url: str) -> bool:
    return url.startswith(PREFIX)


async def canonical_url(conn: AsyncConnection, owner_column: str, url: str) -> str:
    """``hookhub://app/{id or uid}`` → ``hookhub://app/{id}``, for a source's destination only."""
    if owner_column != "source_id":
        raise validation_error(
            ["body", "url"], "only a source's destinations can republish to an application"
        )
    ref = url.removeprefix(PREFIX)
    app_id = await conn.scalar(sa.select(application.c.id).where(app_ref_clause(ref)).limit(1))
    if app_id is None:
        raise validation_error(["body", "url"], f"no application {ref!r} to republish to")
    return PREFIX + app_id


def payload_of(body: bytes) -> dict[str, Any]:
    """The event's JSON object as the message payload; anything else wrapped as ``{"body": …}``."""
    try:
        parsed = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        parsed = body.decode("utf-8", "replace")
    return parsed if isinstance(parsed, dict) else {"body": parsed}


async def deliver(db: Database, job: Job, *, first_delay: float, retention_days: int) -> Response:
    """Store the event as a message of the target application; the outcome as an attempt's response."""
    started = time.perf_counter()

    def done(status: int, text: str) -> Response:
        return Response(status, text, int((time.perf_counter() - started) * 1000))

    app_id = job.url.removeprefix(PREFIX)
    event_type = job.event_type or DEFAULT_EVENT_TYPE
    payload = payload_of(job.body)
    try:
        body = MessageIn.model_validate(
            {"eventType": event_type, "eventId": job.subject_id, "payload": payload}
        )
    except ValidationError as exc:
        return done(422, f"cannot republish: {exc.errors()[0]['msg']}")
    row = message_row(body, orjson.dumps(payload).decode())
    write = partial(
        write_message,
        principal=_SYSTEM,
        app_ref=app_id,
        body=body,
        row=row,
        first_delay=first_delay,
        retention_days=retention_days,
    )
    outcome = await db.run_write(write)
    if isinstance(outcome, Conflict):
        return done(200, f"already republished to {app_id} (eventId {job.subject_id})")
    if isinstance(outcome, HookhubError):
        return done(outcome.status, f"cannot republish to {app_id}: {outcome.detail}")
    return done(202, f"republished to {app_id} as {row['id']} ({outcome} deliveries)")
