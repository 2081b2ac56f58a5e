"""Custom replies (Losant): the body a listener posts, turned into the caller's HTTP response.

A reply is served on hookhub's own origin, beside the dashboard and the API, on a connection that
hookhub frames. So it is checked when it is posted, and refused with a 422 that names the problem
(never turned into a 500 for the waiting caller): a final status (no 1xx), no body with a 204 or
304, header names and values RFC 9110 allows, and none of the headers in ``forbidden_reason``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import orjson

from hookhub.errors import validation_error
from hookhub.http import fields
from hookhub.http.responses import NO_CONTENT

MAX_HEADERS = 100

_FRAMING = "hookhub frames the answer itself (a hop-by-hop or framing header)"
_ORIGIN = "it would act on hookhub's own origin, where the dashboard and the API live"
_POLICY = "hookhub sets the security policy of answers on /webhook/ itself"
_OWN = "hookhub sets it itself"

# Lower-case names a reply may not set, and why (docs/relay.md lists them).
_FORBIDDEN = {
    **dict.fromkeys(
        [
            "connection",
            "keep-alive",
            "transfer-encoding",
            "content-length",
            "upgrade",
            "te",
            "trailer",
            "http2-settings",
        ],
        _FRAMING,
    ),
    **dict.fromkeys(
        [
            "set-cookie",
            "set-cookie2",
            "clear-site-data",
            "strict-transport-security",
            "alt-svc",
            "service-worker-allowed",
            "nel",
            "report-to",
            "reporting-endpoints",
            "accept-ch",
            "critical-ch",
            "origin-agent-cluster",
            "public-key-pins",
            "public-key-pins-report-only",
            "expect-ct",
            "set-login",
            "www-authenticate",
        ],
        _ORIGIN,
    ),
    **dict.fromkeys(
        [
            "content-security-policy",
            "content-security-policy-report-only",
            "x-content-type-options",
            "x-frame-options",
            "x-xss-protection",
            "permissions-policy",
            "feature-policy",
            "timing-allow-origin",
            "x-permitted-cross-domain-policies",
        ],
        _POLICY,
    ),
    "date": _OWN,
}
_FORBIDDEN_PREFIXES = (
    ("proxy-", _FRAMING),
    ("access-control-", _POLICY),
    ("cross-origin-", _POLICY),
    ("x-hookhub-", _OWN),
)


@dataclass(slots=True)
class Reply:
    """What a listener answered for a waiting event; becomes the original caller's response."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def forbidden_reason(name: str) -> str | None:
    """Why a reply may not set the header ``name``, or None when it may."""
    lowered = name.lower()
    reason = _FORBIDDEN.get(lowered)
    if reason is None:
        for prefix, why in _FORBIDDEN_PREFIXES:
            if lowered.startswith(prefix):
                return why
    return reason


def header_problem(name: Any, value: Any) -> str | None:
    """Why a reply may not send ``name: value``, or None."""
    problem = fields.name_problem(name)
    if problem is None and (reason := forbidden_reason(name)) is not None:
        problem = f"a reply may not set {name}: {reason}"
    if problem is None:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            problem = "a header value must be a string (or a number)"
        elif name.lower() == "content-type":
            problem = fields.media_type_problem(str(value))
        else:
            problem = fields.value_problem(str(value))
    return problem


def parse_reply(payload: Any) -> Reply:
    """``{"status": 201, "headers": {…}, "body": <string or JSON>}`` → Reply (422 when refused).

    A string body is sent as is (text/plain unless a content type is given); any other JSON value
    is serialised (application/json).
    """
    if not isinstance(payload, dict):
        raise validation_error(["body"], "the reply must be a JSON object")
    status = payload.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
        raise validation_error(
            ["body", "status"], "status must be a final HTTP status from 200 to 599 (a 1xx is not an answer)"
        )
    raw_headers = payload.get("headers") or {}
    if not isinstance(raw_headers, dict):
        raise validation_error(["body", "headers"], "headers must be an object of strings")
    if len(raw_headers) > MAX_HEADERS:
        raise validation_error(["body", "headers"], f"a reply sets at most {MAX_HEADERS} headers")
    headers: dict[str, str] = {}
    for name, value in raw_headers.items():
        problem = header_problem(name, value)
        if problem is not None:
            raise validation_error(["body", "headers", name], problem)
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
    if data and status in NO_CONTENT:
        raise validation_error(
            ["body", "body"], f"a {status} answer has no body: send this body with another status, or none"
        )
    return Reply(status=status, headers=headers, body=data)


def reply_to_wire(reply: Reply) -> dict[str, Any]:
    return {"status": reply.status, "headers": reply.headers, "body": base64.b64encode(reply.body).decode()}


def reply_from_wire(data: dict[str, Any]) -> Reply:
    return Reply(status=data["status"], headers=dict(data["headers"]), body=base64.b64decode(data["body"]))


def _default_type(headers: dict[str, str], content_type: str) -> None:
    if not any(name.lower() == "content-type" for name in headers):
        headers["content-type"] = content_type
