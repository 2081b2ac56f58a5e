"""``GET /api/v1/health``: each component's status, and why one is down; 503 when one is.
``GET /api/v1/health/ping``: 204 whenever the process answers (Svix's liveness check).

Each check is bounded in time, so a stalled database or Redis makes the answer say so instead
of hanging.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from hookhub.api.deps import RuntimeDep
from hookhub.api.schemas import HealthOut
from hookhub.store.outage import describe

router = APIRouter(tags=["Health"])
CHECK_TIMEOUT_SECONDS = 2.0


@router.get(
    "/api/v1/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "A component is down"}},
    response_class=JSONResponse,
)
async def health(runtime: RuntimeDep) -> JSONResponse:
    async def database() -> bool:
        async with runtime.db.read() as conn:
            await conn.execute(sa.text("SELECT 1"))
        return True

    checks: dict[str, Callable[[], Awaitable[bool]]] = {"database": database, **runtime.health_checks}
    components: dict[str, str] = {}
    reasons: dict[str, str] = {}
    for name, check in checks.items():
        reason = await _failure(check)
        components[name] = "error" if reason else "ok"
        if reason:
            reasons[name] = reason
    body: dict[str, object] = {"status": "error" if reasons else "ok", "components": components}
    if reasons:
        body["reasons"] = reasons
    return JSONResponse(body, status_code=503 if reasons else 200)


@router.get("/api/v1/health/ping", status_code=204, summary="Ping")
@router.head("/api/v1/health/ping", status_code=204, summary="Ping")
async def ping() -> Response:
    """No content: the server is up. Checks nothing else (see ``GET /api/v1/health``)."""
    return Response(status_code=204)


async def _failure(check: Callable[[], Awaitable[bool]]) -> str | None:
    """Why ``check`` failed, or None when it passed."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            healthy = await check()
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT_SECONDS:g} s"
    except Exception as exc:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        return describe(cause)
    return None if healthy else "not running"
