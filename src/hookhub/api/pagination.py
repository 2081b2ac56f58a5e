"""Svix-style cursor pagination: ``limit``, ``iterator`` (an id), ``order``.

``iterator`` continues after that id in list order; a ``-`` prefix goes back before it
(that is what ``prevIterator`` hands out).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Query
from sqlalchemy.ext.asyncio import AsyncConnection

from hookhub.errors import validation_error

# A list keyed by id takes an id as its cursor (a KSUID with its prefix, as ``ids`` makes them);
# one keyed by name (event types) takes a name.
_ID_CURSOR = re.compile(r"-?[a-z]{1,12}_[0-9A-Za-z]{27}")
_NAME_CURSOR = re.compile(r"-?[a-zA-Z0-9\-_.]{1,256}")


class Ordering(StrEnum):
    ascending = "ascending"
    descending = "descending"


class Page:
    """Query parameters of a list call, as a FastAPI dependency."""

    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=250)] = 50,
        iterator: Annotated[str | None, Query(max_length=300)] = None,
        order: Ordering | None = None,
    ) -> None:
        self.limit = limit
        self.iterator = iterator
        self.order = order


async def paginate(
    conn: AsyncConnection,
    query: sa.Select,
    key: sa.ColumnElement[Any],
    page: Page,
    render: Callable[[Any], Any],
    *,
    default_order: Ordering = Ordering.ascending,
) -> dict[str, Any]:
    order = page.order or default_order
    if page.iterator is not None:
        shape = _ID_CURSOR if key.key == "id" else _NAME_CURSOR
        if not shape.fullmatch(page.iterator):
            # Not one this list handed out: a 422, never a silently empty page.
            raise validation_error(["query", "iterator"], "Not an iterator this list returned.")
    backwards = bool(page.iterator and page.iterator.startswith("-"))
    cursor = page.iterator[1:] if backwards and page.iterator else page.iterator
    ascending = (order is Ordering.ascending) != backwards
    if cursor:
        query = query.where(key > cursor if ascending else key < cursor)
    query = query.order_by(key.asc() if ascending else key.desc()).limit(page.limit + 1)
    rows = list((await conn.execute(query)).all())
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    if backwards:
        rows.reverse()
    data = [render(row) for row in rows]
    keys = [row._mapping[key.key] for row in rows]
    return {
        "data": data,
        "iterator": keys[-1] if keys else cursor,
        "prevIterator": f"-{keys[0]}" if keys else None,
        "done": not more if not backwards else False,
    }
