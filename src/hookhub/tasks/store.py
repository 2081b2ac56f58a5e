"""Background task rows: start one, render one (Svix ``BackgroundTaskOut``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hookhub import ids
from hookhub.store.tables import background_task
from hookhub.store.types import utcnow
from hookhub.tasks.operations import QUEUES_DELIVERIES


async def start(
    conn: AsyncConnection, task: str, params: dict[str, Any], *, app_id: str | None
) -> dict[str, Any]:
    """Record a new ``running`` task in the caller's transaction; its row."""
    now = utcnow()
    row = {
        "id": ids.new_id("qtask"),
        "task": task,
        "status": "running",
        "app_id": app_id,
        "params": params,
        "data": {"messagesSent": 0} if task in QUEUES_DELIVERIES else {},
        "cursor": None,
        "worker_id": None,
        "lease_expires_at": None,
        "created_at": now,
        "updated_at": now,
    }
    await conn.execute(background_task.insert().values(**row))
    return row


def render(row: Any) -> dict[str, Any]:
    mapping = row if isinstance(row, dict) else row._mapping
    return {
        "id": mapping["id"],
        "status": mapping["status"],
        "task": mapping["task"],
        "data": mapping["data"],
        "updatedAt": mapping["updated_at"],
    }


def visible_to(app_id: str | None) -> sa.ColumnElement[bool]:
    """The tasks a principal may see: all for org tokens (``None``), an app's own otherwise."""
    return sa.true() if app_id is None else background_task.c.app_id == app_id
