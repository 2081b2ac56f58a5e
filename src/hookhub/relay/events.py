"""The listener JSON of an event, built one way for live publishing and for resume.

Ingest builds the dict it hands to ``Relay.publish`` with :func:`listener_event`; a listener that
resumes gets the same dict rebuilt from the stored row by :func:`listener_event_from_row`::

    {"id": "evt_…", "method": "POST", "path": "/sub/path", "query": {"a": "1", "b": ["1", "2"]},
     "headers": {"content-type": "application/json"}, "body": {…} | "text" | null,
     "rawBody": "<base64 of the exact bytes>", "receivedAt": "2026-…Z", "replyId": "rpl_…" | null,
     "eventType": "…" | null}

``body`` is the parsed body (JSON, form fields, or text) for convenience; ``rawBody`` is the exact
bytes received, so a forwarder can replay them and a provider signature still verifies.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson

# Never replayed to a local server: they describe one hop, not the request.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "expect",
    }
)


def normalize_headers(headers: Mapping[str, Any] | Iterable[Any] | None) -> dict[str, str]:
    """Lower-cased names; repeated headers joined with ", " (as HTTP allows)."""
    result: dict[str, str] = {}
    if headers is None:
        return result
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in pairs:
        key = (name.decode("latin-1") if isinstance(name, bytes) else str(name)).lower()
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        result[key] = f"{result[key]}, {text}" if key in result else text
    return result


def parse_query(query: str | bytes | Mapping[str, Any] | None) -> dict[str, Any]:
    """``a=1&b=1&b=2`` → ``{"a": "1", "b": ["1", "2"]}``."""
    if query is None:
        return {}
    if isinstance(query, Mapping):
        return dict(query)
    text = query.decode("latin-1") if isinstance(query, bytes) else query
    result: dict[str, Any] = {}
    for key, value in parse_qsl(text.lstrip("?"), keep_blank_values=True):
        if key not in result:
            result[key] = value
        elif isinstance(result[key], list):
            result[key].append(value)
        else:
            result[key] = [result[key], value]
    return result


def parse_body(raw: bytes, content_type: str | None) -> Any:
    """JSON or form fields when the content type says so; otherwise text; None when empty."""
    if not raw:
        return None
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        try:
            return parse_query(raw.decode("utf-8"))
        except UnicodeDecodeError:
            return None
    if kind.endswith("json") or kind.endswith("+json") or not kind:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def listener_event(
    *,
    id: str,
    method: str,
    path: str,
    query: str | bytes | Mapping[str, Any] | None,
    headers: Mapping[str, Any] | Iterable[Any] | None,
    body: bytes,
    received_at: datetime,
    reply_id: str | None = None,
    event_type: str | None = None,
) -> dict[str, Any]:
    normalized = normalize_headers(headers)
    return {
        "id": id,
        "method": method,
        "path": path or "",
        "query": parse_query(query),
        "headers": normalized,
        "body": parse_body(body, normalized.get("content-type")),
        "rawBody": base64.b64encode(body).decode("ascii"),
        "receivedAt": iso(received_at),
        "replyId": reply_id,
        "eventType": event_type,
    }


def listener_event_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The same dict from a row of the ``event`` table."""
    return listener_event(
        id=row["id"],
        method=row["method"],
        path=row["path"],
        query=row["query"],
        headers=row["headers"],
        body=bytes(row["body"] or b""),
        received_at=row["received_at"],
        reply_id=row["reply_id"],
        event_type=row["event_type"],
    )


def raw_body(event: Mapping[str, Any]) -> bytes:
    """The exact bytes of the request (falls back to re-encoding ``body`` if rawBody is absent)."""
    encoded = event.get("rawBody")
    if isinstance(encoded, str):
        return base64.b64decode(encoded)
    body = event.get("body")
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    return orjson.dumps(body)


def smee_data(event: Mapping[str, Any]) -> dict[str, Any]:
    """The ``data`` of a smee.io message: the request headers, plus ``body`` and ``query``.

    smee-client re-posts ``JSON.stringify(body)`` with every other key as a header, so hop-by-hop
    headers (which its HTTP client refuses) are left out.
    """
    headers = event.get("headers") or {}
    data: dict[str, Any] = {k: v for k, v in headers.items() if k not in HOP_BY_HOP}
    query = event.get("query") or {}
    data["query"] = {k: (v[-1] if isinstance(v, list) else v) for k, v in query.items()}
    body = event.get("body")
    data["body"] = {} if body is None else body  # smee.io's body parser gives {} for no body
    return data
