"""The durable delivery queue, in the database: claim, reload, record, release.

Claiming leases rows to one worker: ``status='sending'``, ``worker_id``, ``lease_expires_at``.
A worker that dies leaves its rows leased; once the lease passes, any worker claims them again
(at-least-once). PostgreSQL picks rows with ``FOR UPDATE SKIP LOCKED`` so concurrent workers
never wait on or take each other's rows; SQLite has a single writer, so the one
``UPDATE … RETURNING`` is already exclusive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from hookhub import ids
from hookhub.delivery import flow, operational_outbox
from hookhub.delivery.jobs import AttemptStatus, Claimed, Job, Result
from hookhub.delivery.signing import signing_keys
from hookhub.store.db import Database
from hookhub.store.raw_insert import RawInsert
from hookhub.store.tables import attempt, delivery, endpoint, event, message
from hookhub.store.types import utcnow

# Attempts go in with one driver-level executemany (SQLAlchemy's per-row processing costs more).
# A batch whose commit may or may not have happened is recorded again: its attempts are skipped.
_INSERT_ATTEMPTS = RawInsert(
    attempt,
    (
        "id",
        "delivery_id",
        "endpoint_id",
        "message_id",
        "event_id",
        "url",
        "response_status_code",
        "response",
        "response_duration_ms",
        "status",
        "trigger_type",
        "created_at",
    ),
    skip_existing=True,
)

_CLAIMED_COLUMNS = (
    delivery.c.id,
    delivery.c.endpoint_id,
    delivery.c.message_id,
    delivery.c.event_id,
    delivery.c.attempt_count,
    delivery.c.trigger_type,
)


def due_clause(now: datetime) -> sa.ColumnElement[bool]:
    # Only pending rows: the claim then walks the (status, next_attempt_at) index in order.
    # Expired leases are turned back into pending rows by ``reclaim_expired``.
    return sa.and_(delivery.c.status == "pending", delivery.c.next_attempt_at <= now)


async def reclaim_expired(db: Database) -> int:
    """Rows whose worker's lease has passed (it died or hung) become pending again, due now."""
    now = utcnow()
    async with db.write() as conn:
        result = await conn.execute(
            delivery.update()
            .where(delivery.c.status == "sending", delivery.c.lease_expires_at < now)
            .values(status="pending", worker_id=None, lease_expires_at=None, updated_at=now)
        )
    return result.rowcount or 0


async def claim(db: Database, worker_id: str, limit: int, lease_seconds: float) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries to ``worker_id``."""
    now = utcnow()
    return await db.run_write(
        lambda conn: _claim_rows(conn, db.is_sqlite, worker_id, limit, lease_seconds, now)
    )


def _claim_rows(
    conn: sa.Connection, is_sqlite: bool, worker_id: str, limit: int, lease_seconds: float, now: datetime
) -> list[Claimed]:
    """Controlled endpoints' rows under their rules (flow.py), then the others' in due order."""
    lease = {
        "status": "sending",
        "worker_id": worker_id,
        "lease_expires_at": now + timedelta(seconds=lease_seconds),
        "updated_at": now,
    }
    claimed: list[Claimed] = []
    controlled = flow.claim_controlled(conn, is_sqlite, limit, now)
    if controlled:
        statement = (
            sa.update(delivery)
            .where(delivery.c.id.in_(controlled))
            .values(**lease)
            .returning(*_CLAIMED_COLUMNS)
        )
        claimed += [Claimed(*row) for row in conn.execute(statement)]
    room = limit - len(claimed)
    if room > 0:
        picked = (
            sa.select(delivery.c.id)
            .where(due_clause(now), flow.uncontrolled())
            .order_by(delivery.c.next_attempt_at)
            .limit(room)
        )
        if not is_sqlite:
            picked = picked.with_for_update(skip_locked=True)
        statement = (
            sa.update(delivery)
            .where(delivery.c.id.in_(picked.scalar_subquery()))
            .values(**lease)
            .returning(*_CLAIMED_COLUMNS)
        )
        claimed += [Claimed(*row) for row in conn.execute(statement)]
    return claimed


async def claim_and_prepare(
    db: Database, worker_id: str, limit: int, lease_seconds: float
) -> tuple[list[Claimed], list[Job], list[Result]]:
    """``claim`` and ``prepare`` in one transaction (the worker's hot path)."""
    now = utcnow()

    def claim_and_load(conn: sa.Connection) -> tuple[list[Claimed], list[Job], list[Result]]:
        claimed = _claim_rows(conn, db.is_sqlite, worker_id, limit, lease_seconds, now)
        if not claimed:
            return [], [], []
        jobs, skipped = _load(conn, claimed, now)
        return claimed, jobs, skipped

    # One synchronous transaction (on SQLite, on the event loop's thread).
    return await db.run_write(claim_and_load)


async def next_due_at(db: Database, after: datetime) -> datetime | None:
    """When the worker should next claim, after a claim at ``after`` that found nothing: the
    earliest pending delivery due later, or the end of the earliest pause (rows due by ``after``
    but not claimed are held by flow control)."""
    async with db.read() as conn:
        due = await conn.scalar(
            sa.select(sa.func.min(delivery.c.next_attempt_at)).where(
                delivery.c.status == "pending", delivery.c.next_attempt_at > after
            )
        )
        resume = await conn.scalar(flow.next_resume_at(after))
    return min((t for t in (due, resume) if t is not None), default=None)


def _header(headers: Any, name: str) -> str | None:
    """A header from stored event headers (a dict or a list of pairs), case-insensitively."""
    items = headers.items() if isinstance(headers, dict) else (headers or ())
    for key, value in items:
        if str(key).lower() == name:
            return str(value)
    return None


async def prepare(db: Database, claimed: Sequence[Claimed], now: datetime) -> tuple[list[Job], list[Result]]:
    """Reload endpoints and bodies for a claimed batch (three queries, whatever its size).

    Returns the jobs to send and the results of rows that must not be sent (endpoint disabled
    or gone, body expunged).
    """
    async with db.read() as conn:
        return await conn.run_sync(_load, claimed, now)


def _load(conn: sa.Connection, claimed: Sequence[Claimed], now: datetime) -> tuple[list[Job], list[Result]]:
    endpoint_ids = {c.endpoint_id for c in claimed}
    message_ids = {c.message_id for c in claimed if c.message_id}
    event_ids = {c.event_id for c in claimed if c.event_id}
    endpoints = {
        row.id: row for row in conn.execute(sa.select(endpoint).where(endpoint.c.id.in_(endpoint_ids)))
    }
    messages = {}
    if message_ids:
        query = sa.select(
            message.c.id, message.c.payload, message.c.event_id, message.c.app_id, message.c.event_type
        ).where(message.c.id.in_(message_ids))
        messages = {row.id: row for row in conn.execute(query)}
    events = {}
    if event_ids:
        query = sa.select(event.c.id, event.c.body, event.c.headers, event.c.event_type).where(
            event.c.id.in_(event_ids)
        )
        events = {row.id: row for row in conn.execute(query)}
    jobs: list[Job] = []
    skipped: list[Result] = []
    for item in claimed:
        ep = endpoints.get(item.endpoint_id)
        if ep is None or ep.disabled:
            skipped.append(_cancelled(item, "endpoint disabled" if ep is not None else "endpoint deleted"))
            continue
        msg_event_id = event_type = None
        if item.message_id:
            msg = messages.get(item.message_id)
            if msg is None or msg.payload is None:
                skipped.append(_cancelled(item, "message payload no longer stored"))
                continue
            body, content_type, msg_event_id = msg.payload.encode(), "application/json", msg.event_id
            event_type = msg.event_type
        else:
            evt = events.get(item.event_id)
            if evt is None:
                skipped.append(_cancelled(item, "event no longer stored"))
                continue
            body, event_type = bytes(evt.body), evt.event_type
            content_type = _header(evt.headers, "content-type") or "application/octet-stream"
        jobs.append(
            Job(
                claimed=item,
                url=ep.url,
                body=body,
                content_type=content_type,
                custom_headers=dict(ep.headers or {}),
                keys=signing_keys(ep.secret, ep.previous_secrets or [], now),
                throttle_rate=ep.throttle_rate,
                app_id=ep.app_id,
                source_id=ep.source_id,
                endpoint_uid=ep.uid,
                msg_event_id=msg_event_id,
                failing_since=ep.failing_since,
                event_type=event_type,
                transformation=ep.transformation if ep.transformation_enabled else None,
                max_in_flight=ep.max_in_flight,
            )
        )
    return jobs, skipped


def _cancelled(item: Claimed, reason: str) -> Result:
    return Result(item, None, 0, reason, 0, success=False, attempted=False, cancelled=reason)


async def record(
    db: Database,
    worker_id: str,
    results: Iterable[Result],
    now: datetime,
    operational: Sequence[dict[str, Any]] = (),
) -> None:
    """Write a batch of results in one transaction: attempts, delivery states, endpoint health,
    and the operational webhooks they cause."""
    results = list(results)
    attempts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    successes: list[str] = []
    healthy: set[str] = set()
    failing: set[str] = set()
    disable: set[str] = set()
    for res in results:
        item = res.claimed
        count = item.attempt_count + (1 if res.attempted else 0)
        if res.attempted:
            attempts.append(
                {
                    "id": res.attempt_id or ids.new_id("atmpt"),
                    "delivery_id": item.id,
                    "endpoint_id": item.endpoint_id,
                    "message_id": item.message_id,
                    "event_id": item.event_id,
                    "url": res.job.url if res.job else "",
                    "response_status_code": res.status_code,
                    "response": res.response,
                    "response_duration_ms": res.duration_ms,
                    "status": int(AttemptStatus.SUCCESS if res.success else AttemptStatus.FAIL),
                    "trigger_type": item.trigger_type,
                    "created_at": res.created_at or now,
                }
            )
            (healthy if res.success else failing).add(item.endpoint_id)
        if res.disable_endpoint:
            disable.add(item.endpoint_id)
        if res.success and res.attempted:
            successes.append(item.id)  # the common case: one UPDATE for all of them
            continue
        if res.final_status is not None:
            status, next_at = res.final_status, None
        elif res.retry_in is not None:
            status, next_at = "pending", now + timedelta(seconds=res.retry_in)
        else:
            status, next_at = "failed", None
        updates.append(
            {"b_id": item.id, "b_status": status, "b_count": count, "b_next": next_at, "b_now": now}
        )

    def write(conn: sa.Connection) -> None:
        if attempts:
            _INSERT_ATTEMPTS.run(conn, attempts)
        if successes:
            conn.execute(
                sa.update(delivery)
                .where(
                    delivery.c.id.in_(successes),
                    delivery.c.worker_id == worker_id,
                    delivery.c.status == "sending",
                )
                .values(
                    status="success",
                    attempt_count=delivery.c.attempt_count + 1,
                    next_attempt_at=None,
                    lease_expires_at=None,
                    worker_id=None,
                    updated_at=now,
                )
            )
        if updates:
            conn.execute(
                sa.update(delivery)
                .where(
                    delivery.c.id == sa.bindparam("b_id"),
                    delivery.c.worker_id == worker_id,
                    delivery.c.status == "sending",
                )
                .values(
                    status=sa.bindparam("b_status"),
                    attempt_count=sa.bindparam("b_count"),
                    next_attempt_at=sa.bindparam("b_next", type_=delivery.c.next_attempt_at.type),
                    lease_expires_at=None,
                    worker_id=None,
                    updated_at=sa.bindparam("b_now", type_=delivery.c.updated_at.type),
                ),
                updates,
            )
        _update_endpoint_health(conn, healthy, failing - healthy, disable, now)
        if operational:
            operational_outbox.insert(conn, list(operational))

    await db.run_write(write)


def _update_endpoint_health(
    conn: sa.Connection, healthy: set[str], failing: set[str], disable: set[str], now: datetime
) -> None:
    if healthy:
        conn.execute(
            endpoint.update()
            .where(endpoint.c.id.in_(healthy), endpoint.c.failing_since.is_not(None))
            .values(failing_since=None)
        )
    if failing:
        conn.execute(
            endpoint.update()
            .where(endpoint.c.id.in_(failing), endpoint.c.failing_since.is_(None))
            .values(failing_since=now)
        )
    if disable:
        conn.execute(
            endpoint.update()
            .where(endpoint.c.id.in_(disable), endpoint.c.disabled.is_(False))
            .values(disabled=True, updated_at=now)
        )


async def disable_long_failing(db: Database, failing_before: datetime) -> list[Any]:
    """Disable every enabled endpoint failing since before ``failing_before``; returns them."""
    async with db.write() as conn:
        rows = (
            await conn.execute(
                endpoint.update()
                .where(
                    endpoint.c.disabled.is_(False),
                    endpoint.c.failing_since.is_not(None),
                    endpoint.c.failing_since < failing_before,
                )
                .values(disabled=True, updated_at=utcnow())
                .returning(
                    endpoint.c.id,
                    endpoint.c.uid,
                    endpoint.c.app_id,
                    endpoint.c.source_id,
                    endpoint.c.failing_since,
                )
            )
        ).all()
    return list(rows)


async def renew_leases(db: Database, worker_id: str, lease_seconds: float) -> int:
    """Extend the lease of every row ``worker_id`` holds (sending, or sent and not yet recorded),
    so that no other worker takes a delivery that is still in flight."""
    now = utcnow()
    async with db.write() as conn:
        result = await conn.execute(
            delivery.update()
            .where(delivery.c.worker_id == worker_id, delivery.c.status == "sending")
            .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
        )
    return result.rowcount or 0


async def release(db: Database, worker_id: str, delivery_ids: Sequence[str]) -> None:
    """Give leased rows back to the queue (graceful shutdown): due again immediately."""
    if not delivery_ids:
        return
    now = utcnow()
    async with db.write() as conn:
        await conn.execute(
            delivery.update()
            .where(
                delivery.c.id.in_(delivery_ids),
                delivery.c.worker_id == worker_id,
                delivery.c.status == "sending",
            )
            .values(
                status="pending", worker_id=None, lease_expires_at=None, next_attempt_at=now, updated_at=now
            )
        )


async def requeue(db: Database, worker_id: str, delivery_id: str, delay: float) -> None:
    """Put one leased row back for later without counting an attempt (throttled)."""
    now = utcnow()
    async with db.write() as conn:
        await conn.execute(
            delivery.update()
            .where(delivery.c.id == delivery_id, delivery.c.worker_id == worker_id)
            .values(
                status="pending",
                worker_id=None,
                lease_expires_at=None,
                next_attempt_at=now + timedelta(seconds=delay),
                updated_at=now,
            )
        )
