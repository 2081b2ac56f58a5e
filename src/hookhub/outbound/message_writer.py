"""Creating messages, with group commit.

Concurrent creates are queued and written by one task, many per transaction: one query resolves
the applications and their enabled endpoints, one multi-row insert writes the messages, one the
pending deliveries (store/fanout.py's matching rule), both straight on the driver
(``raw_insert``). On SQLite the whole batch is one hop to a writer thread (``Database.run_write``).

Every message is still all-or-nothing: problems known before the insert (unknown app, wrong
scope, duplicate ``eventId``) fail only that message; a database error during the insert makes
the writer retry the batch one message per transaction, so only the culprit fails. A create is
answered only after its transaction has committed.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from hookhub import ids
from hookhub.auth.tokens import Principal
from hookhub.errors import Conflict, HookhubError, NotFound, validation_error
from hookhub.outbound.message_models import MessageIn
from hookhub.runtime import Runtime
from hookhub.store.fanout import DELIVERY_COLUMNS, delivery_rows, matching_endpoint_ids
from hookhub.store.raw_insert import RawInsert
from hookhub.store.tables import application, delivery, endpoint, message
from hookhub.store.types import utcnow

MAX_BATCH = 256
_MESSAGE_COLUMNS = (
    "id",
    "app_id",
    "event_id",
    "event_type",
    "payload",
    "channels",
    "tags",
    "deliver_at",
    "payload_expires_at",
    "created_at",
)
_INSERT_MESSAGES = RawInsert(message, _MESSAGE_COLUMNS)
_INSERT_DELIVERIES = RawInsert(delivery, DELIVERY_COLUMNS)
_DUPLICATE = "A message with this eventId already exists for this application."
_APP_TAKEN = "An application with this uid already exists."


@dataclass(slots=True)
class _Pending:
    principal: Principal
    app_ref: str
    body: MessageIn
    row: dict[str, Any]
    future: asyncio.Future[int] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass(slots=True)
class _App:
    id: str
    endpoints: list[Any]


def _load_apps(conn: sa.Connection, refs: set[str]) -> dict[str, _App]:
    """Applications named by id or uid in ``refs``, with their enabled endpoints' match fields."""
    query = (
        sa.select(
            application.c.id.label("app_id"),
            application.c.uid.label("app_uid"),
            endpoint.c.id,
            endpoint.c.filter_types,
            endpoint.c.channels,
        )
        .select_from(application)
        .outerjoin(endpoint, sa.and_(endpoint.c.app_id == application.c.id, endpoint.c.disabled.is_(False)))
        .where(sa.or_(application.c.id.in_(refs), application.c.uid.in_(refs)))
    )
    apps: dict[str, _App] = {}
    for row in conn.execute(query).all():
        app = apps.get(row.app_id)
        if app is None:
            app = apps[row.app_id] = _App(row.app_id, [])
            if row.app_uid is not None:
                apps[row.app_uid] = app
        if row.id is not None:
            app.endpoints.append(row)
    return apps


def _existing_event_ids(conn: sa.Connection, wanted: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (app_id, event_id) pairs among ``wanted`` that are already stored."""
    if not wanted:
        return set()
    query = sa.select(message.c.app_id, message.c.event_id).where(
        message.c.app_id.in_({app_id for app_id, _ in wanted}),  # leads the unique index
        message.c.event_id.in_({event_id for _, event_id in wanted}),
    )
    return {(row.app_id, row.event_id) for row in conn.execute(query).all()} & wanted


def _resolve_app(conn: sa.Connection, apps: dict[str, _App], item: _Pending) -> _App:
    app = apps.get(item.app_ref)
    if app is None:
        if item.body.application is None:
            raise NotFound(f"Application {item.app_ref!r} not found.")
        item.principal.require_org()
        values = item.body.application.all_values()
        if values["uid"] is None and not item.app_ref.startswith("app_"):
            values["uid"] = item.app_ref
        app = apps[item.app_ref] = _App(ids.new_id("app"), [])
        now = utcnow()
        conn.execute(application.insert().values(id=app.id, **values, created_at=now, updated_at=now))
        return app
    item.principal.require_app(app.id)
    return app


def _write(conn: sa.Connection, batch: list[_Pending], first_delay: float) -> list[int | HookhubError]:
    """Insert what can be inserted; per message, the number of deliveries or the reason it failed.

    Synchronous: runs through ``Database.run_write`` (one thread switch per batch on SQLite).
    """
    apps = _load_apps(conn, {item.app_ref for item in batch})
    resolved: list[_App | HookhubError] = []
    for item in batch:
        try:
            resolved.append(_resolve_app(conn, apps, item))
        except HookhubError as exc:
            resolved.append(exc)
    taken = _existing_event_ids(
        conn,
        {
            (app.id, item.body.event_id)
            for item, app in zip(batch, resolved, strict=True)
            if isinstance(app, _App) and item.body.event_id is not None
        },
    )
    outcomes: list[int | HookhubError] = []
    messages: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    now = utcnow()
    for item, app in zip(batch, resolved, strict=True):
        if isinstance(app, HookhubError):
            outcomes.append(app)
            continue
        event_id = item.body.event_id
        if event_id is not None:
            if (app.id, event_id) in taken:
                outcomes.append(Conflict(_DUPLICATE))
                continue
            taken.add((app.id, event_id))
        item.row["app_id"] = app.id
        messages.append(item.row)
        targets = matching_endpoint_ids(app.endpoints, item.body.event_type, item.body.channels)
        deliveries += delivery_rows(
            targets, message_id=item.row["id"], due_at=item.body.deliver_at, now=now, first_delay=first_delay
        )
        outcomes.append(len(targets))
    if messages:
        _INSERT_MESSAGES.run(conn, messages)
    if deliveries:
        _INSERT_DELIVERIES.run(conn, deliveries)
    return outcomes


class MessageWriter:
    """One per process and runtime; ``submit`` returns once the message is committed."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._first_delay = runtime.settings.retry_delays[0]
        self._queue: list[_Pending] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: _Pending) -> int:
        self._queue.append(item)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain())
        return await item.future

    async def _drain(self) -> None:
        batch: list[_Pending] = []
        try:
            await asyncio.sleep(0)  # let the requests that are already runnable join this batch
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._commit(batch)
        except BaseException as exc:  # a bug or shutdown: nobody may wait forever
            failure = exc if isinstance(exc, Exception) else RuntimeError("message writer stopped")
            for item in [*batch, *self._queue]:
                if not item.future.done():
                    item.future.set_exception(failure)
            self._queue = []
            raise
        finally:
            self._task = None

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            outcomes = await self._runtime.db.run_write(
                partial(_write, batch=batch, first_delay=self._first_delay)
            )
        except Exception as exc:
            if len(batch) > 1:  # find the culprit: one message per transaction
                for item in batch:
                    await self._commit([item])
                return
            failure: BaseException = exc
            if isinstance(exc, IntegrityError):
                # A concurrent writer took the eventId after our check, or the application to
                # create alongside the message has a uid that is taken.
                failure = Conflict(_DUPLICATE if batch[0].body.event_id is not None else _APP_TAKEN)
            if not batch[0].future.done():
                batch[0].future.set_exception(failure)
            return
        enqueued = False
        for item, outcome in zip(batch, outcomes, strict=True):
            if item.future.done():
                continue
            if isinstance(outcome, HookhubError):
                item.future.set_exception(outcome)
            else:
                enqueued = enqueued or outcome > 0
                item.future.set_result(outcome)
        if enqueued:
            self._runtime.deliveries_enqueued()


_writers: weakref.WeakKeyDictionary[Runtime, MessageWriter] = weakref.WeakKeyDictionary()


def writer_for(runtime: Runtime) -> MessageWriter:
    writer = _writers.get(runtime)
    if writer is None:
        writer = _writers[runtime] = MessageWriter(runtime)
    return writer


def _payload_expiry(body: MessageIn, now: datetime, default_days: int) -> datetime:
    if body.payload_retention_hours is not None:
        return now + timedelta(hours=body.payload_retention_hours)
    return now + timedelta(days=body.payload_retention_period or default_days)


async def create_message(
    runtime: Runtime, principal: Principal, app_ref: str, body: MessageIn, *, with_content: bool
) -> bytes:
    """Store and fan out one message; the JSON answer (Svix ``MessageOut``) as bytes."""
    try:
        payload = orjson.dumps(body.payload).decode()
    except orjson.JSONEncodeError as exc:
        raise validation_error(["body", "payload"], f"payload cannot be stored as JSON: {exc}") from None
    now = utcnow()
    row = {
        "id": ids.new_id("msg"),
        "event_id": body.event_id,
        "event_type": body.event_type,
        "payload": payload,
        "channels": body.channels,
        "tags": body.tags,
        "deliver_at": body.deliver_at,
        "payload_expires_at": _payload_expiry(body, now, runtime.settings.message_retention_days),
        "created_at": now,
    }
    await writer_for(runtime).submit(_Pending(principal, app_ref, body, row))
    return orjson.dumps(
        {
            "id": row["id"],
            "eventType": body.event_type,
            "eventId": body.event_id,
            "payload": orjson.Fragment(payload) if with_content else {},
            "channels": body.channels,
            "tags": body.tags,
            "timestamp": now,
            "deliverAt": body.deliver_at,
        }
    )
