"""FastAPI dependencies: the runtime and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPBearer

from hookhub.auth.tokens import Principal
from hookhub.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# Declares the bearer scheme in the OpenAPI document (each route that authenticates names it);
# never fails itself: ``tokens.authenticate`` reads the header and answers 401 its own way.
_BEARER = HTTPBearer(auto_error=False)


async def get_reading_principal(
    request: Request,
    _scheme: Annotated[object, Depends(_BEARER)],
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    """The caller, for routes that change nothing whatever their method (precheck, logout)."""
    return await get_runtime(request).tokens.authenticate(authorization)


async def get_principal(
    principal: Annotated[Principal, Depends(get_reading_principal)], request: Request
) -> Principal:
    """The caller; a read-only (portal) token may only read."""
    if request.method not in SAFE_METHODS:
        principal.require_write()
    return principal


async def get_org_principal(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    principal.require_org()
    return principal


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
ReadingPrincipalDep = Annotated[Principal, Depends(get_reading_principal)]
OrgPrincipalDep = Annotated[Principal, Depends(get_org_principal)]
