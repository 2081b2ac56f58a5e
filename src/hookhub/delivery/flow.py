"""Flow control toward endpoints: the rules the queue's claim applies.

An endpoint under control has a row in ``endpoint_flow``: it has a ``maxInFlight`` (copied there
from the endpoint when it is saved), or it was paused by a 429 or 503 with ``Retry-After``. The
claim takes the rows of uncontrolled endpoints as before (one ``NOT EXISTS`` on a table that is
usually small) and the rows of controlled ones here, endpoint by endpoint: none while paused, and
no more than ``maxInFlight`` minus the endpoint's rows already leased (``sending``, by any
worker). Everything lives in the database every worker shares, so the rules hold across processes
and machines; a dead worker's leases count until they expire and are reclaimed.

A pause holds back rows that are not yet claimed; rows already leased to a worker (in flight)
go on. Held rows are not attempted, so they gain no attempt and no failure.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from hookhub.store.tables import delivery, endpoint_flow
from hookhub.store.upsert import upsert

# A 429 or 503 with Retry-After pauses the endpoint when it is one of these.
PAUSING_STATUSES = frozenset({429, 503})
# Controlled endpoints looked at in one claim.
CONTROLLED_PER_CLAIM = 256
# A literal, not a bound parameter: only then may SQLite and PostgreSQL (generic plans) use the
# partial index ``delivery_endpoint_pending``.
_PENDING = delivery.c.status == sa.literal_column("'pending'")


def uncontrolled() -> sa.ColumnElement[bool]:
    """For the claim of ordinary rows: the delivery's endpoint is not under flow control."""
    return ~sa.exists().where(endpoint_flow.c.endpoint_id == delivery.c.endpoint_id)


def pause_for(status: int, retry_after: float | None, longest: float) -> float | None:
    """Seconds to pause an endpoint for after an answer, or None (no pause)."""
    if status not in PAUSING_STATUSES or retry_after is None or retry_after <= 0 or longest <= 0:
        return None
    return min(retry_after, longest)


def limit_statement(dialect: str, endpoint_id: str, max_in_flight: int | None) -> sa.Executable:
    """Copy an endpoint's ``maxInFlight`` to its flow row (with None the row is left to the claim,
    which drops it once no pause runs)."""
    return upsert(
        endpoint_flow,
        dialect,
        {"endpoint_id": endpoint_id, "max_in_flight": max_in_flight},
        key=("endpoint_id",),
        update={"max_in_flight": max_in_flight},
    )


def pause_statements(dialect: str, endpoint_id: str, until: datetime) -> list[sa.Executable]:
    """Pause ``endpoint_id`` until ``until`` (a longer pause already set is kept).

    Its queued rows are also made due no sooner than ``until``, so that the ordinary claim, which
    walks due rows in order, does not step over a paused endpoint's backlog at every claim (only
    over what is queued while the pause runs).
    """
    hold = (
        sa.update(delivery)
        .where(delivery.c.endpoint_id == endpoint_id, _PENDING, delivery.c.next_attempt_at < until)
        .values(next_attempt_at=until)
    )
    return [_pause_row(dialect, endpoint_id, until), hold]


def _pause_row(dialect: str, endpoint_id: str, until: datetime) -> sa.Executable:
    return upsert(
        endpoint_flow,
        dialect,
        {"endpoint_id": endpoint_id, "paused_until": until},
        key=("endpoint_id",),
        update={
            "paused_until": sa.case(
                (endpoint_flow.c.paused_until > until, endpoint_flow.c.paused_until), else_=until
            )
        },
    )


def claim_controlled(conn: sa.Connection, is_sqlite: bool, limit: int, now: datetime) -> list[str]:
    """Ids of due rows of controlled endpoints that may be sent now (at most ``limit``).

    On PostgreSQL the endpoints' flow rows are locked (``SKIP LOCKED``) for the rest of the
    claim's transaction, so two workers never decide for one endpoint at once; the queries that
    follow the lock see every claim committed before it.
    """
    due = sa.exists().where(
        delivery.c.endpoint_id == endpoint_flow.c.endpoint_id,
        _PENDING,
        delivery.c.next_attempt_at <= now,
    )
    query = (
        sa.select(endpoint_flow.c.endpoint_id, endpoint_flow.c.max_in_flight)
        .where(sa.or_(endpoint_flow.c.paused_until.is_(None), endpoint_flow.c.paused_until <= now), due)
        .order_by(endpoint_flow.c.endpoint_id)
        .limit(CONTROLLED_PER_CLAIM)
    )
    if not is_sqlite:
        query = query.with_for_update(skip_locked=True, of=endpoint_flow)
    rows = conn.execute(query).all()
    if not rows:
        return []
    free = [row.endpoint_id for row in rows if row.max_in_flight is None]
    if free:  # the pause is over and nothing else controls the endpoint: back to the ordinary claim
        conn.execute(endpoint_flow.delete().where(endpoint_flow.c.endpoint_id.in_(free)))
    limited = {row.endpoint_id: row.max_in_flight for row in rows if row.max_in_flight is not None}
    busy: dict[str, int] = {}
    if limited:
        busy = dict(
            conn.execute(  # type: ignore[arg-type]
                sa.select(delivery.c.endpoint_id, sa.func.count())
                .where(delivery.c.status == "sending", delivery.c.endpoint_id.in_(list(limited)))
                .group_by(delivery.c.endpoint_id)
            ).all()
        )
    picked: list[str] = []
    for row in rows:
        room = limit - len(picked)
        if room <= 0:
            break
        if row.max_in_flight is not None:
            room = min(room, row.max_in_flight - busy.get(row.endpoint_id, 0))
            if room <= 0:
                continue
        picked += _due_ids(conn, is_sqlite, row.endpoint_id, room, now)
    return picked


def _due_ids(conn: sa.Connection, is_sqlite: bool, endpoint_id: str, room: int, now: datetime) -> list[str]:
    query = (
        sa.select(delivery.c.id)
        .where(
            delivery.c.endpoint_id == endpoint_id,
            _PENDING,
            delivery.c.next_attempt_at <= now,
        )
        .order_by(delivery.c.next_attempt_at)
        .limit(room)
    )
    if not is_sqlite:
        query = query.with_for_update(skip_locked=True)
    return list(conn.scalars(query))


def next_resume_at(now: datetime) -> sa.Select[tuple[datetime | None]]:
    """When the earliest pause still running ends."""
    return sa.select(sa.func.min(endpoint_flow.c.paused_until)).where(endpoint_flow.c.paused_until > now)


def until(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)
