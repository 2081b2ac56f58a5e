"""The documents filters are matched against.

Outbound (a message): ``{payload, eventType, channels, tags}``. Inbound (a source's event):
``{body, headers, query, path, method}``, with the body parsed as the pipeline parses it (JSON,
form fields, text), header names in lower case and the query as a dict (a repeated name gives a
list). The same event gives the same document at ingest, on replay and in the filter tester.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson

from hookhub.inbound.verifiers.base import pairs_to_dict


def outbound_document(
    payload: Any, event_type: str, channels: list[str] | None, tags: list[str] | None
) -> dict[str, Any]:
    return {"payload": payload, "eventType": event_type, "channels": channels or [], "tags": tags or []}


def inbound_document(
    body: Any, headers: Any, query: dict[str, Any] | str, path: str, method: str
) -> dict[str, Any]:
    if isinstance(query, str):
        query = pairs_to_dict(parse_qsl(query, keep_blank_values=True)) if query else {}
    return {"body": body, "headers": _lower(headers), "query": query, "path": path, "method": method}


def stored_event_document(row: Any) -> dict[str, Any]:
    """The document of a stored event (``event`` table row, or a mapping with its columns)."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    headers = _lower(get("headers"))
    body = parse_body(bytes(get("body") or b""), headers.get("content-type"), get("method"), get("query"))
    return inbound_document(body, headers, get("query") or "", get("path") or "", get("method"))


def parse_body(raw: bytes, content_type: str | None, method: str, query_string: str) -> Any:
    """The body as the ingest pipeline parses it; what it cannot parse is None."""
    if not raw:
        if method == "GET" and query_string:
            return pairs_to_dict(parse_qsl(query_string, keep_blank_values=True))
        return None
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        return pairs_to_dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    if kind.endswith("json") or not kind:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _lower(headers: Any) -> dict[str, Any]:
    if isinstance(headers, str | bytes):
        headers = orjson.loads(headers)
    items = headers.items() if isinstance(headers, dict) else (headers or ())
    return {str(name).lower(): value for name, value in items}
