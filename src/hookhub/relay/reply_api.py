"""``POST /ingest/api/v1/reply/{replyId}``: answer a request that waits for a reply (Losant).

No bearer token: the unguessable replyId is the capability. The first reply wins (202);
later ones get 409; an unknown or long-expired replyId gets 404; a reply hookhub will not send
(``relay/replies.py``: a header of its own, a body on a 204) gets 422 and leaves the request waiting.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from hookhub.api.content_type import refuse_non_json
from hookhub.api.deps import RuntimeDep
from hookhub.api.schemas import ReplyAcceptedOut
from hookhub.errors import validation_error
from hookhub.relay.replies import parse_reply

router = APIRouter(tags=["Relay"])

_SCHEMA = {
    "type": "object",
    "properties": {
        "status": {
            "type": "integer",
            "minimum": 200,
            "maximum": 599,
            "default": 200,
            "description": "A final status; a 204 or 304 takes no body.",
        },
        "headers": {
            "type": "object",
            "maxProperties": 100,
            "additionalProperties": {"type": "string", "maxLength": 8192, "pattern": "^[\\t\\x20-\\x7e]*$"},
            "description": "RFC 9110 names and visible-ASCII values. Headers that belong to hookhub "
            "(Set-Cookie, framing, its security policy, …) are refused: see docs/relay.md.",
        },
        "body": {"description": "A string (sent as is) or any JSON value (sent as application/json)."},
    },
}


@router.post(
    "/ingest/api/v1/reply/{replyId}",
    status_code=202,
    summary="Reply to a waiting webhook request",
    response_class=JSONResponse,
    response_model=ReplyAcceptedOut,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _SCHEMA}}}},
)
async def post_reply(
    reply_id: Annotated[str, Path(alias="replyId")], request: Request, runtime: RuntimeDep
) -> JSONResponse:
    """Body: ``{"status": 201, "headers": {…}, "body": <string or JSON>}``."""
    refuse_non_json(request.headers.get("content-type"))
    raw = await request.body()
    try:
        payload = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError as exc:
        raise validation_error(["body"], f"the body is not valid JSON: {exc}", "json_invalid") from exc
    reply = parse_reply(payload)
    await runtime.relay.post_reply(reply_id, reply)
    return JSONResponse({"replyId": reply_id, "accepted": True}, status_code=202)
