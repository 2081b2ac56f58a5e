"""Creating messages, with group commit.

Concurrent creates are queued and written by one task, many per transaction: one query resolves
the applications and their enabled endpoints, one multi-row insert writes the messages, one the
pending deliveries (store/fanout.py's matching rule), both straight on the driver
(``raw_insert``). On SQLite the whole batch runs on the event loop's thread (``Database.run_write``).

Every message is still all-or-nothing: problems known before the insert (unknown app, wrong
scope, duplicate ``eventId``) fail only that message; a database error during the insert makes
the writer retry the batch one message per transaction, so only the culprit fails. A create is
answered only after its transaction has committed.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache, partial
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from hookhub import ids
from hookhub.auth.tokens import Principal
from hookhub.errors import Conflict, HookhubError, NotFound, validation_error
from hookhub.outbound.message_models import MessageIn
from hookhub.routing.documents import outbound_document
from hookhub.runtime import Runtime
from hookhub.store.fanout import DELIVERY_COLUMNS, Destination, delivery_rows, route
from hookhub.store.group_commit import GroupCommitter
from hookhub.store.outage import DatabaseUnavailable
from hookhub.store.raw_insert import RawInsert, fetch_rows
from hookhub.store.tables import application, delivery, message
from hookhub.store.types import utcnow

MAX_BATCH = 256
_GATHER_TURNS = 4
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


class _Taken(Exception):
    """The message's eventId, or the uid of the application created with it, was taken by a
    concurrent writer (any other failure of the batch is not a conflict)."""


@dataclass(slots=True)
class _Pending:
    principal: Principal
    app_ref: str
    body: MessageIn
    row: dict[str, Any]  # the message row; app_id and the times are set by the batch
    future: asyncio.Future[int] | None  # None: written by ``write_message``, nobody waits


@dataclass(slots=True)
class _App:
    id: str
    endpoints: list[Destination]


_APPS_SQL = (
    "SELECT a.id, a.uid, e.id, e.filter_types, e.channels, e.filter FROM application AS a "
    "LEFT OUTER JOIN endpoint AS e ON e.app_id = a.id AND e.disabled = {false} "
    "WHERE a.id {refs} OR a.uid {refs}"
)
_PG_APPS_SQL = _APPS_SQL.format(false="false", refs="= ANY($1::text[])")
_PG_EVENT_IDS_SQL = (
    "SELECT app_id, event_id FROM message WHERE app_id = ANY($1::text[]) AND event_id = ANY($2::text[])"
)


@lru_cache(maxsize=64)
def _sqlite_in(count: int) -> str:
    return f"IN ({', '.join('?' * count)})"


def _load_apps(conn: sa.Connection, refs: set[str]) -> dict[str, _App]:
    """Applications named by id or uid in ``refs``, with their enabled endpoints' match fields.

    Read inside the batch's transaction (so no message misses an endpoint committed before it),
    straight on the driver: this runs once per batch and SQLAlchemy's statement handling cost
    more than the query.
    """
    wanted = list(refs)
    if conn.dialect.name == "sqlite":
        in_refs = _sqlite_in(len(wanted))
        rows = fetch_rows(conn, _APPS_SQL.format(false="0", refs=in_refs), wanted + wanted)
    else:
        rows = fetch_rows(conn, _PG_APPS_SQL, [wanted])
    apps: dict[str, _App] = {}
    for app_id, app_uid, endpoint_id, filter_types, channels, content_filter in rows:
        app = apps.get(app_id)
        if app is None:
            app = apps[app_id] = _App(app_id, [])
            if app_uid is not None:
                apps[app_uid] = app
        if endpoint_id is not None:
            app.endpoints.append(Destination.from_driver(endpoint_id, filter_types, channels, content_filter))
    return apps


def _existing_event_ids(conn: sa.Connection, wanted: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (app_id, event_id) pairs among ``wanted`` that are already stored."""
    if not wanted:
        return set()
    app_ids = list({app_id for app_id, _ in wanted})  # leads the unique index
    event_ids = list({event_id for _, event_id in wanted})
    if conn.dialect.name == "sqlite":
        sql = (
            f"SELECT app_id, event_id FROM message WHERE app_id {_sqlite_in(len(app_ids))} "
            f"AND event_id {_sqlite_in(len(event_ids))}"
        )
        rows = fetch_rows(conn, sql, app_ids + event_ids)
    else:
        rows = fetch_rows(conn, _PG_EVENT_IDS_SQL, [app_ids, event_ids])
    return {(app_id, event_id) for app_id, event_id in rows} & wanted


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
        try:
            conn.execute(application.insert().values(id=app.id, **values, created_at=now, updated_at=now))
        except IntegrityError as exc:  # a concurrent writer took the uid after our lookup
            raise _Taken(_APP_TAKEN) from exc
        return app
    item.principal.require_app(app.id)
    return app


def _write(
    conn: sa.Connection, batch: list[_Pending], first_delay: float, retention_days: int
) -> list[int | HookhubError]:
    """Insert what can be inserted; per message, the number of deliveries or the reason it failed.

    Synchronous: runs through ``Database.run_write`` (on the event loop's thread on SQLite). The
    messages of a batch share their timestamp (the batch's time, just before it commits) and so
    the converted values of it.
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
    expiries = _Expiries(now, retention_days)
    due = now + timedelta(seconds=first_delay) if first_delay else now
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
        row = item.row
        row["app_id"] = app.id
        row["created_at"] = now
        row["payload_expires_at"] = expiries.of(item.body)
        messages.append(row)
        body = item.body
        targets, filtered = route(
            app.endpoints,
            body.event_type,
            body.channels,
            lambda body=body: outbound_document(body.payload, body.event_type, body.channels, body.tags),
        )
        deliveries += delivery_rows(targets, message_id=row["id"], due_at=body.deliver_at or due, now=now)
        if filtered:
            deliveries += delivery_rows(filtered, message_id=row["id"], now=now, status="filtered")
        outcomes.append(len(targets))
    if messages:
        try:
            _INSERT_MESSAGES.run(conn, messages)
        except IntegrityError as exc:  # a concurrent writer took an eventId after our check
            raise _Taken(_DUPLICATE) from exc
    if deliveries:
        _INSERT_DELIVERIES.run(conn, deliveries)
    return outcomes


def write_message(
    conn: sa.Connection,
    principal: Principal,
    app_ref: str,
    body: MessageIn,
    row: dict[str, Any],
    *,
    first_delay: float,
    retention_days: int,
) -> int | HookhubError:
    """One message in the caller's transaction, outside the group-committed batches: the number
    of deliveries, or why it was not stored (a duplicate ``eventId`` is a ``Conflict``)."""
    return _write(conn, [_Pending(principal, app_ref, body, row, None)], first_delay, retention_days)[0]


def message_row(body: MessageIn, payload: str) -> dict[str, Any]:
    """The columns of a new message that do not depend on its batch."""
    return {
        "id": ids.new_id("msg"),
        "event_id": body.event_id,
        "event_type": body.event_type,
        "payload": payload,
        "channels": body.channels,
        "tags": body.tags,
        "deliver_at": body.deliver_at,
    }


class MessageWriter:
    """One per process and runtime; ``submit`` returns once the message is committed."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._first_delay = runtime.settings.retry_delays[0]
        self._retention_days = runtime.settings.message_retention_days
        self._batches = GroupCommitter(
            self._commit,
            max_batch=MAX_BATCH,
            gather_turns=_GATHER_TURNS,
            in_flight=runtime.db.batches_in_flight,
            name="hookhub-message-writer",
        )

    def submit(
        self, principal: Principal, app_ref: str, body: MessageIn, row: dict[str, Any]
    ) -> asyncio.Future[int]:
        """Queue the message for the next batch; await the future for its number of deliveries,
        set once committed. (A plain function: one coroutine less per message.)"""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._batches.add(_Pending(principal, app_ref, body, row, future))
        return future

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            outcomes = await self._runtime.db.run_write(
                partial(
                    _write, batch=batch, first_delay=self._first_delay, retention_days=self._retention_days
                )
            )
        except Exception as exc:
            if len(batch) > 1 and not isinstance(exc, DatabaseUnavailable):
                # Find the culprit: one message per transaction. (An outage has none: every
                # message of the batch fails with it, at once.)
                for item in batch:
                    await self._commit([item])
                return
            failure: BaseException = Conflict(str(exc)) if isinstance(exc, _Taken) else exc
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(failure)
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


class _Expiries:
    """When each message's payload expires; one datetime per distinct retention in a batch."""

    def __init__(self, now: datetime, default_days: int) -> None:
        self._now = now
        self._by_hours: dict[int, datetime] = {}
        self._default_hours = default_days * 24

    def of(self, body: MessageIn) -> datetime:
        hours = body.payload_retention_hours
        if hours is None:
            days = body.payload_retention_period
            hours = self._default_hours if days is None else days * 24
        expiry = self._by_hours.get(hours)
        if expiry is None:
            expiry = self._by_hours[hours] = self._now + timedelta(hours=hours)
        return expiry


async def create_message(
    writer: MessageWriter, principal: Principal, app_ref: str, body: MessageIn, *, with_content: bool
) -> bytes:
    """Store and fan out one message; the JSON answer (Svix ``MessageOut``) as bytes."""
    row, committed = queue_message(writer, principal, app_ref, body)
    await committed
    return message_out(row, body, with_content=with_content)


def queue_message(
    writer: MessageWriter, principal: Principal, app_ref: str, body: MessageIn
) -> tuple[dict[str, Any], asyncio.Future[int]]:
    """``create_message`` in two plain functions, for the fast path (no coroutine of its own): the
    message's row, queued, and the future to await (its number of deliveries, once committed)."""
    try:
        payload = orjson.dumps(body.payload).decode()
    except orjson.JSONEncodeError as exc:
        raise validation_error(["body", "payload"], f"payload cannot be stored as JSON: {exc}") from None
    row = message_row(body, payload)
    return row, writer.submit(principal, app_ref, body, row)


def message_out(row: dict[str, Any], body: MessageIn, *, with_content: bool) -> bytes:
    """The answer to a committed create (Svix ``MessageOut``) as JSON bytes."""
    return orjson.dumps(
        {
            "id": row["id"],
            "eventType": body.event_type,
            "eventId": body.event_id,
            "payload": orjson.Fragment(row["payload"]) if with_content else {},
            "channels": body.channels,
            "tags": body.tags,
            "timestamp": row["created_at"],
            "deliverAt": body.deliver_at,
        }
    )
