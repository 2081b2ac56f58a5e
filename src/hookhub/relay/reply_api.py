"""``POST /ingest/api/v1/reply/{replyId}``: answer a request that waits for a reply (Losant).

No bearer token: the unguessable replyId is the capability. The first reply wins (202);
later ones get 409; an unknown or long-expired replyId gets 404.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hookhub.api.deps import RuntimeDep
from hookhub.errors import validation_error
from hookhub.relay.replies import parse_reply

router = APIRouter(tags=["Relay"])


@router.post(
    "/ingest/api/v1/reply/{reply_id}",
    status_code=202,
    summary="Reply to a waiting webhook request",
    response_class=JSONResponse,
)
async def post_reply(reply_id: str, request: Request, runtime: RuntimeDep) -> JSONResponse:
    """Body: ``{"status": 201, "headers": {…}, "body": <string or JSON>}``."""
    raw = await request.body()
    try:
        payload = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError as exc:
        raise validation_error(["body"], f"the body is not valid JSON: {exc}", "json_invalid") from exc
    reply = parse_reply(payload)
    await runtime.relay.post_reply(reply_id, reply)
    return JSONResponse({"replyId": reply_id, "accepted": True}, status_code=202)
