"""``/api/v1/auth/…``: app-scoped tokens for the consumer portal.

``POST /api/v1/auth/app-portal-access/{app}`` → ``{url, token}``; the token can only reach that
application (see ``scope.find_app``). ``…/app/{app}/expire-all`` revokes them; ``/logout``
revokes the calling app token.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Response
from pydantic import Field

from hookhub.api.deps import OrgPrincipalDep, ReadingPrincipalDep, RuntimeDep
from hookhub.api.models import ApiModel
from hookhub.api.schemas import AppPortalAccessOut
from hookhub.auth.tokens import create_token
from hookhub.errors import Forbidden, NotFound
from hookhub.outbound.applications import ApplicationIn, create_app
from hookhub.outbound.scope import app_ref_clause, find_app_id
from hookhub.outbound.wire import json_response, no_content
from hookhub.store.tables import api_token, application
from hookhub.store.types import utcnow

router = APIRouter(prefix="/api/v1/auth", tags=["Authentication"])

DEFAULT_EXPIRY_SECONDS = 7 * 24 * 3600


class AppPortalAccessIn(ApiModel):
    application: ApplicationIn | None = None
    expiry: Annotated[int, Field(ge=1, le=365 * 24 * 3600)] | None = None
    read_only: bool | None = None


class TokenExpireIn(ApiModel):
    expiry: Annotated[int, Field(ge=0, le=365 * 24 * 3600)] | None = None


@router.post(
    "/app-portal-access/{app_id}",
    response_model=AppPortalAccessOut,
    summary="Create a consumer-portal link for one application",
)
async def app_portal_access(
    runtime: RuntimeDep, principal: OrgPrincipalDep, app_id: str, body: AppPortalAccessIn | None = None
) -> Response:
    body = body or AppPortalAccessIn()
    async with runtime.db.write() as conn:
        found = await conn.scalar(sa.select(application.c.id).where(app_ref_clause(app_id)))
        if found is None:
            if body.application is None:
                raise NotFound(f"Application {app_id!r} not found.")
            values = body.application.all_values()
            if values["uid"] is None and not app_id.startswith("app_"):
                values["uid"] = app_id
            found = (await create_app(conn, values)).id
    expires_at = utcnow() + timedelta(seconds=body.expiry or DEFAULT_EXPIRY_SECONDS)
    token = await create_token(
        runtime.db,
        app_id=found,
        description="app portal (read-only)" if body.read_only else "app portal",
        expires_at=expires_at,
        read_only=bool(body.read_only),
    )
    return json_response({"url": f"{runtime.settings.base_url}/portal#token={token}", "token": token})


@router.post("/app/{app_id}/expire-all", status_code=204, summary="Revoke an application's portal tokens")
async def expire_all(
    runtime: RuntimeDep, principal: OrgPrincipalDep, app_id: str, body: TokenExpireIn | None = None
) -> Response:
    expiry = body.expiry if body and body.expiry else 0
    async with runtime.db.write() as conn:
        found = await find_app_id(conn, principal, app_id)
        await conn.execute(
            api_token.update()
            .where(api_token.c.app_id == found)
            .values(expires_at=utcnow() + timedelta(seconds=expiry))
        )
    runtime.tokens.forget()
    return no_content()


@router.post("/logout", status_code=204, summary="Revoke the calling app-scoped token")
async def logout(runtime: RuntimeDep, principal: ReadingPrincipalDep) -> Response:
    if principal.is_org:
        raise Forbidden("Only app-scoped (portal) tokens can log out.")
    async with runtime.db.write() as conn:
        await conn.execute(api_token.delete().where(api_token.c.id == principal.token_id))
    runtime.tokens.forget(principal.token_hash)
    return no_content()
