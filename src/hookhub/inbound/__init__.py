"""Inbound sources: the sources API, the ingest URL ``/webhook/{key}``, verifiers, handshakes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter

if TYPE_CHECKING:
    from hookhub.http.dispatch import ASGIApp
    from hookhub.runtime import Runtime


def ingest_app(runtime: Runtime) -> ASGIApp:
    """The ASGI app to mount at ``/webhook/``."""
    from hookhub.inbound.ingest_app import IngestApp
    from hookhub.inbound.service import inbound_for

    return IngestApp(runtime, inbound_for(runtime))


def inbound_routers() -> list[APIRouter]:
    from hookhub.inbound import api, events_api
    from hookhub.outbound.endpoints import build_endpoint_router

    destinations = build_endpoint_router(
        api.PREFIX + "/{source_id}/endpoint",
        api.find_source_id,
        owner_column="source_id",
        tags=["Source destinations"],
    )
    return [api.router, events_api.router, destinations]
