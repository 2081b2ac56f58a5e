"""Svix background tasks (``qtask_…``): what replays and recoveries answer.

These operations only queue rows, so they run inside the request and answer a task that is
already finished, with what it did in ``data``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response

from hookhub import ids
from hookhub.outbound.wire import json_response
from hookhub.store.types import utcnow


def finished_task(kind: str, data: dict[str, Any]) -> Response:
    """A 202 answer: the Svix ``BackgroundTaskOut`` of a task that ran in the request."""
    return json_response(
        {"id": ids.new_id("qtask"), "status": "finished", "task": kind, "updatedAt": utcnow(), "data": data},
        202,
    )
