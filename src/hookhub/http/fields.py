"""HTTP fields (headers) users give hookhub to send on: endpoint and destination headers, a
reply's headers, a source's fixed content type, a test request's headers. Checked when they are
given, so that a bad one is the giver's 422 and never a caller's 500 or a split answer.

Names are RFC 9110 tokens (§5.1); values are visible ASCII, spaces and tabs (§5.5, without the
obsolete non-ASCII octets: text beyond ASCII is encoded, e.g. RFC 8187's ``filename*=UTF-8''…``),
so no value can carry a line break, a NUL or another control character.
"""

from __future__ import annotations

import re

MAX_NAME_LENGTH = 256
MAX_VALUE_LENGTH = 8192

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_NAME = re.compile(_TOKEN)
_VALUE = re.compile(r"[\t\x20-\x7e]*")
_MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}[ \t]*(;.*)?", re.DOTALL)


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a header name, or None."""
    if not isinstance(name, str) or not name:
        return "a header name must be a non-empty string"
    if len(name) > MAX_NAME_LENGTH:
        return f"a header name is at most {MAX_NAME_LENGTH} characters"
    if not _NAME.fullmatch(name):
        return "a header name is a token: letters, digits and !#$%&'*+.^_`|~- only (RFC 9110 §5.1)"
    return None


def value_problem(value: str) -> str | None:
    """Why ``value`` cannot be a header value, or None."""
    if len(value) > MAX_VALUE_LENGTH:
        return f"a header value is at most {MAX_VALUE_LENGTH} characters"
    if not _VALUE.fullmatch(value):
        return (
            "a header value may hold visible ASCII characters, spaces and tabs only: no line breaks, "
            "NUL or other control characters, and no text beyond ASCII (encode it, e.g. RFC 8187)"
        )
    return None


def media_type_problem(value: str) -> str | None:
    """Why ``value`` cannot be a Content-Type, or None."""
    problem = value_problem(value)
    if problem is None and not _MEDIA_TYPE.fullmatch(value):
        problem = "a content type is a media type such as text/plain or application/json; charset=utf-8"
    return problem


def field_problem(name: str, value: str) -> str | None:
    """Why ``name: value`` cannot be sent as a header, or None (the message names the header)."""
    problem = name_problem(name)
    if problem is not None:
        return f"{name!r}: {problem}"
    problem = value_problem(value)
    return None if problem is None else f"the value of header {name!r}: {problem}"
