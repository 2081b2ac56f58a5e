"""HTTP field (header) names and values as RFC 9110 has them: what hookhub accepts for a header
it will send on (endpoint and destination headers, a reply's headers, a source's content type,
a test request's headers), checked when it is saved rather than when it would break a request."""

from __future__ import annotations

import re

# token = 1*tchar
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Visible ASCII, spaces, tabs and obs-text (read as Latin-1): no NUL, CR, LF, other control
# characters or DEL, nor anything a header cannot carry as one byte.
_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")


def is_token(name: str) -> bool:
    return _TOKEN.fullmatch(name) is not None


def is_field_value(value: str) -> bool:
    return _VALUE.fullmatch(value) is not None


def field_problem(name: str, value: str) -> str | None:
    """Why ``name: value`` cannot be sent as a header, or None."""
    if not is_token(name):
        return f"{name!r} is not a valid header name (letters, digits and !#$%&'*+-.^_`|~)"
    if not is_field_value(value):
        return f"the value of header {name!r} holds a control character (NUL, CR, LF …) or a non-Latin-1 one"
    return None
