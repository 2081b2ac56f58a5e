"""Tenant scoping in the data layer: load an application by id or uid *for a principal*.

Every outbound route that names an application goes through ``find_app``; an app-scoped token
(consumer portal) can only ever reach its own application, so no call site has to remember it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from hookhub.auth.tokens import Principal
from hookhub.errors import NotFound
from hookhub.store.tables import application


def app_ref_clause(app_ref: str) -> sa.ColumnElement[bool]:
    """Match an application by its id or its uid."""
    if app_ref.startswith("app_"):
        return sa.or_(application.c.id == app_ref, application.c.uid == app_ref)
    return application.c.uid == app_ref


async def find_app(conn: AsyncConnection, principal: Principal, app_ref: str) -> Row:
    """The application named ``app_ref`` (id or uid), if this principal may see it."""
    row = (await conn.execute(sa.select(application).where(app_ref_clause(app_ref)).limit(1))).first()
    if row is None:
        raise NotFound(f"Application {app_ref!r} not found.")
    principal.require_app(row.id)
    return row


async def find_app_id(conn: AsyncConnection, principal: Principal, app_ref: str) -> str:
    """Like ``find_app`` but only the id (the ``resolve_owner`` of the app endpoint router)."""
    query = sa.select(application.c.id).where(app_ref_clause(app_ref)).limit(1)
    app_id = await conn.scalar(query)
    if app_id is None:
        raise NotFound(f"Application {app_ref!r} not found.")
    principal.require_app(app_id)
    return app_id
