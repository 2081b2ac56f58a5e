"""Every router of the Svix-compatible API, in mounting order (``app.build_api`` includes them)."""

from __future__ import annotations

from fastapi import APIRouter

from hookhub.outbound import applications, event_types, messages, portal_access
from hookhub.outbound.endpoints import build_endpoint_router
from hookhub.outbound.scope import find_app_id


def outbound_routers() -> list[APIRouter]:
    return [
        applications.router,
        event_types.router,
        build_endpoint_router("/api/v1/app/{app_id}/endpoint", find_app_id, owner_column="app_id"),
        messages.router,
        portal_access.router,
    ]
