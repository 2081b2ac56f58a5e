"""Key paths into a request: ``query.homey``, ``headers['X-Device-Id']``, ``body.items[0].id``.

The grammar is identifiers, member access and literal key lookups only (as Homey documents);
it is parsed here, never evaluated as code::

    path    := root ( "." IDENT | "[" INT "]" | "[" STRING "]" )*
    root    := "body" | "headers" | "query" | "path" | "method"
    STRING  := '…' or "…" (backslash escapes the quote)

Header names match case-insensitively.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ROOTS = ("body", "headers", "query", "path", "method")
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")
_INT = re.compile(r"-?\d+")


class KeyPathError(ValueError):
    """The key path is not valid."""


@dataclass(frozen=True, slots=True)
class KeyPath:
    text: str
    root: str
    steps: tuple[str | int, ...]

    def resolve(self, request: Mapping[str, Any]) -> Any:
        """The value at this path in ``request`` (keys: body, headers, query, path, method), or None."""
        value = request.get(self.root)
        for index, step in enumerate(self.steps):
            if value is None:
                return None
            if self.root == "headers" and index == 0 and isinstance(step, str):
                value = _header(value, step)
            elif isinstance(step, int):
                if not isinstance(value, list) or not -len(value) <= step < len(value):
                    return None
                value = value[step]
            elif isinstance(value, Mapping):
                value = value.get(step)
            else:
                return None
        return value


def _header(headers: Any, name: str) -> Any:
    lowered = name.lower()
    if isinstance(headers, Mapping):
        for key, value in headers.items():
            if key.lower() == lowered:
                return value
    return None


def parse(text: str) -> KeyPath:
    source = text.strip()
    match = _IDENT.match(source)
    if not match or match.group() not in ROOTS:
        raise KeyPathError(f"key path {text!r} must start with one of: {', '.join(ROOTS)}")
    root = match.group()
    pos = match.end()
    steps: list[str | int] = []
    while pos < len(source):
        char = source[pos]
        if char == ".":
            ident = _IDENT.match(source, pos + 1)
            if not ident:
                raise KeyPathError(f"key path {text!r}: expected a name after '.' at position {pos + 1}")
            steps.append(ident.group())
            pos = ident.end()
        elif char == "[":
            pos, step = _bracket(source, pos + 1, text)
            steps.append(step)
        else:
            raise KeyPathError(f"key path {text!r}: unexpected {char!r} at position {pos}")
    return KeyPath(text=source, root=root, steps=tuple(steps))


def _bracket(source: str, pos: int, text: str) -> tuple[int, str | int]:
    if pos < len(source) and source[pos] in "'\"":
        quote = source[pos]
        pos += 1
        chars: list[str] = []
        while pos < len(source) and source[pos] != quote:
            if source[pos] == "\\" and pos + 1 < len(source):
                pos += 1
            chars.append(source[pos])
            pos += 1
        if pos >= len(source):
            raise KeyPathError(f"key path {text!r}: unterminated string")
        pos += 1
        step: str | int = "".join(chars)
    else:
        number = _INT.match(source, pos)
        if not number:
            raise KeyPathError(f"key path {text!r}: expected a number or a quoted key at position {pos}")
        step = int(number.group())
        pos = number.end()
    if pos >= len(source) or source[pos] != "]":
        raise KeyPathError(f"key path {text!r}: expected ']' at position {pos}")
    return pos + 1, step
