"""``GET /api/v1/background-task[/{task_id}]`` (Svix's background-task API).

Tasks are kept as long as the rows they worked on may be (the retention cleaner removes them
after 90 days); an app-scoped token sees the tasks of its own application only.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Response

from hookhub.api.deps import ReadingPrincipalDep, RuntimeDep
from hookhub.api.pagination import Ordering, Page, paginate
from hookhub.api.schemas import BackgroundTaskOut, ListResponse
from hookhub.errors import NotFound
from hookhub.outbound.wire import json_response
from hookhub.store.tables import background_task
from hookhub.tasks.store import render, visible_to

router = APIRouter(prefix="/api/v1/background-task", tags=["Background task"])


@router.get("", response_model=ListResponse[BackgroundTaskOut], summary="List background tasks")
async def list_tasks(
    runtime: RuntimeDep,
    principal: ReadingPrincipalDep,
    page: Annotated[Page, Depends()],
    status: Annotated[str | None, Query(pattern="^(running|finished|failed)$")] = None,
    task: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    query = sa.select(background_task).where(visible_to(principal.app_id))
    if status is not None:
        query = query.where(background_task.c.status == status)
    if task is not None:
        query = query.where(background_task.c.task == task)
    async with runtime.db.read() as conn:
        result = await paginate(
            conn, query, background_task.c.id, page, render, default_order=Ordering.descending
        )
    return json_response(result)


@router.get("/{task_id}", response_model=BackgroundTaskOut, summary="Get a background task")
async def get_task(runtime: RuntimeDep, principal: ReadingPrincipalDep, task_id: str) -> Response:
    async with runtime.db.read() as conn:
        row = (
            await conn.execute(
                sa.select(background_task).where(
                    background_task.c.id == task_id, visible_to(principal.app_id)
                )
            )
        ).first()
    if row is None:
        raise NotFound("No background task with this id.")
    return json_response(render(row))
