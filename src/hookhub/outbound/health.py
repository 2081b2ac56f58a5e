"""``GET /api/v1/health``: each component's status; 503 when one is down."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from hookhub.api.deps import RuntimeDep

router = APIRouter(tags=["Health"])


@router.get("/api/v1/health", response_class=JSONResponse)
async def health(runtime: RuntimeDep) -> JSONResponse:
    components: dict[str, str] = {}
    try:
        async with runtime.db.read() as conn:
            await conn.execute(sa.text("SELECT 1"))
        components["database"] = "ok"
    except Exception:
        components["database"] = "error"
    for name, check in runtime.health_checks.items():
        try:
            components[name] = "ok" if await check() else "error"
        except Exception:
            components[name] = "error"
    healthy = all(status == "ok" for status in components.values())
    return JSONResponse(
        {"status": "ok" if healthy else "error", "components": components},
        status_code=200 if healthy else 503,
    )
