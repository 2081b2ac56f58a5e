"""Custom replies (Losant): the body a listener posts, turned into the caller's HTTP response."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import orjson

from hookhub.errors import validation_error
from hookhub.http.fields import field_problem

# Headers the server computes itself; a reply may not set them.
_RESERVED = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade"})


@dataclass(slots=True)
class Reply:
    """What a listener answered for a waiting event; becomes the original caller's response."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def parse_reply(payload: Any) -> Reply:
    """``{"status": 201, "headers": {…}, "body": <string or JSON>}`` → Reply (422 when malformed).

    A string body is sent as is (text/plain unless a content type is given); any other JSON value
    is serialised (application/json).
    """
    if not isinstance(payload, dict):
        raise validation_error(["body"], "the reply must be a JSON object")
    status = payload.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
        raise validation_error(["body", "status"], "status must be an HTTP status code from 200 to 599")
    raw_headers = payload.get("headers") or {}
    if not isinstance(raw_headers, dict):
        raise validation_error(["body", "headers"], "headers must be an object of strings")
    headers: dict[str, str] = {}
    for name, value in raw_headers.items():
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise validation_error(["body", "headers", name], "header names and values must be strings")
        problem = field_problem(name, str(value))
        if problem:
            raise validation_error(["body", "headers", name], problem)
        if name.lower() not in _RESERVED:
            headers[name] = str(value)
    body = payload.get("body")
    if body is None:
        data = b""
    elif isinstance(body, str):
        data = body.encode()
        _default_type(headers, "text/plain; charset=utf-8")
    else:
        data = orjson.dumps(body)
        _default_type(headers, "application/json")
    return Reply(status=status, headers=headers, body=data)


def reply_to_wire(reply: Reply) -> dict[str, Any]:
    return {"status": reply.status, "headers": reply.headers, "body": base64.b64encode(reply.body).decode()}


def reply_from_wire(data: dict[str, Any]) -> Reply:
    return Reply(status=data["status"], headers=dict(data["headers"]), body=base64.b64decode(data["body"]))


def _default_type(headers: dict[str, str], content_type: str) -> None:
    if not any(name.lower() == "content-type" for name in headers):
        headers["content-type"] = content_type
