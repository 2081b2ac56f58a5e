"""FastAPI dependencies: the runtime and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from hookhub.auth.tokens import Principal
from hookhub.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def get_principal(
    request: Request, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> Principal:
    return await get_runtime(request).tokens.authenticate(authorization)


async def get_org_principal(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    principal.require_org()
    return principal


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
OrgPrincipalDep = Annotated[Principal, Depends(get_org_principal)]
