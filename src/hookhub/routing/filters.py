"""Content filters: a JSON document, in Hookdeck's and Convoy's syntax, matched against an event.

A filter is compiled once into nested closures (``compile_filter``; ``cached`` keeps the compiled
form per distinct filter text), so matching an event walks only the keys the filter names::

    {"body": {"type": "charge.succeeded", "data": {"amount": {"$gte": 1000}}}}

- A plain value matches by equality; an object matches when each of its keys matches the same key
  of the input (nested as deep as the input goes); an array matches an input array holding every
  one of its elements.
- Against an input array, a plain value or an object filter matches when any element matches
  (``{"tags": "vip"}`` matches ``{"tags": ["new", "vip"]}``).
- Operators: ``$eq $neq $gt $gte $lt $lte $in $nin $exist $startsWith $endsWith $contains $regex``
  on a value, and ``$and $or`` (a list of filters) and ``$not`` (one filter) at any level.

A filter that is not valid raises ``FilterError`` naming the operator and its JSON path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import orjson
import regex

Matcher = Callable[[Any], bool]

MAX_FILTER_BYTES = 16_384
MAX_DEPTH = 32
MAX_REGEX_LENGTH = 256
# A ``$regex`` runs on the ``regex`` module (a backtracking engine with a timeout): a pattern such
# as ``(a|aa)+$`` that backtracks for ever on some input gives up after this and does not match.
REGEX_TIMEOUT_SECONDS = 0.005
MAX_REGEX_SUBJECT = 4096  # characters of a string a regex looks at
_MISSING = object()
_OPERATORS = frozenset(
    {
        "$eq",
        "$neq",
        "$gt",
        "$gte",
        "$lt",
        "$lte",
        "$in",
        "$nin",
        "$exist",
        "$startsWith",
        "$endsWith",
        "$contains",
        "$regex",
        "$and",
        "$or",
        "$not",
    }
)


class FilterError(ValueError):
    """The filter is not valid; ``path`` is where (JSON path, ``$.body.amount.$gtx``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{message} (at {path})")
        self.path = path
        self.message = message


def compile_filter(document: Any) -> Matcher:
    """A function that tells whether an event (a dict) matches ``document``."""
    if not isinstance(document, dict):
        raise FilterError("$", "a filter is a JSON object")
    try:
        size = len(orjson.dumps(document))
    except TypeError:  # orjson: an integer beyond 64 bits, which no column or comparison keeps
        raise FilterError("$", "a filter's integers must fit in 64 bits") from None
    if size > MAX_FILTER_BYTES:
        raise FilterError("$", f"a filter is at most {MAX_FILTER_BYTES} bytes of JSON")
    return _compile(document, "$", 0)


@lru_cache(maxsize=4096)
def cached(text: str) -> Matcher:
    """The compiled filter of a stored filter's JSON text (compiled once per distinct text)."""
    return compile_filter(orjson.loads(text))


def matcher_of(stored: Any) -> Matcher | None:
    """The compiled filter of a column value (JSON text, bytes or a dict); None for no filter."""
    if stored is None:
        return None
    if isinstance(stored, bytes | bytearray | memoryview):
        stored = bytes(stored).decode()
    if not isinstance(stored, str):
        stored = orjson.dumps(stored, option=orjson.OPT_SORT_KEYS).decode()
    if stored == "null":
        return None
    return cached(stored)


def _compile(node: Any, path: str, depth: int) -> Matcher:
    if depth > MAX_DEPTH:
        raise FilterError(path, f"a filter nests at most {MAX_DEPTH} levels")
    if isinstance(node, dict):
        return _compile_object(node, path, depth)
    if isinstance(node, list):
        items = [_compile(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(node)]
        return _array_holds_all(items)
    return _scalar_equals(node)


def _compile_object(node: dict[str, Any], path: str, depth: int) -> Matcher:
    checks: list[Matcher] = []
    fields: list[tuple[str, Matcher]] = []
    for key, value in node.items():
        here = f"{path}.{key}"
        if key.startswith("$"):
            if key not in _OPERATORS:
                raise FilterError(here, f"unknown operator {key!r}")
            checks.append(_operator(key, value, here, depth))
        else:
            fields.append((key, _compile(value, here, depth + 1)))
    if fields:
        checks.append(_object_fields(fields, node))
    if len(checks) == 1:
        return checks[0]
    return lambda value: all(check(value) for check in checks)


def _object_fields(fields: list[tuple[str, Matcher]], node: dict[str, Any]) -> Matcher:
    def match(value: Any) -> bool:
        if isinstance(value, list):  # any element of an input array
            return any(match(item) for item in value)
        if not isinstance(value, Mapping):
            return False
        return all(check(value.get(key, _MISSING)) for key, check in fields)

    return match


def _array_holds_all(items: list[Matcher]) -> Matcher:
    def match(value: Any) -> bool:
        if not isinstance(value, list):
            return False
        return all(any(check(element) for element in value) for check in items)

    return match


def _scalar_equals(expected: Any) -> Matcher:
    def match(value: Any) -> bool:
        if isinstance(value, list):
            return any(_equal(item, expected) for item in value)
        return _equal(value, expected)

    return match


def _equal(value: Any, expected: Any) -> bool:
    # JSON has no booleans among its numbers: true is not 1.
    if isinstance(value, bool) or isinstance(expected, bool):
        return type(value) is type(expected) and value == expected
    return value is not _MISSING and value == expected


def _operator(name: str, operand: Any, path: str, depth: int) -> Matcher:
    if name in ("$and", "$or"):
        if not isinstance(operand, list) or not operand:
            raise FilterError(path, f"{name} takes a non-empty list of filters")
        parts = [_compile(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(operand)]
        if name == "$and":
            return lambda value: all(part(value) for part in parts)
        return lambda value: any(part(value) for part in parts)
    if name == "$not":
        inner = _compile(operand, path, depth + 1)
        return lambda value: not inner(value)
    if name == "$exist":
        if not isinstance(operand, bool):
            raise FilterError(path, "$exist takes true or false")
        return lambda value: (value is not _MISSING and value is not None) is operand
    if name in ("$eq", "$neq"):
        equal = _deep_equal(operand)
        return equal if name == "$eq" else (lambda value: value is not _MISSING and not equal(value))
    if name in ("$gt", "$gte", "$lt", "$lte"):
        return _comparison(name, operand, path)
    if name in ("$in", "$nin"):
        inside = _membership(operand, path, name)
        return inside if name == "$in" else (lambda value: value is not _MISSING and not inside(value))
    if name == "$contains":
        return _contains(operand)
    if name == "$regex":
        return _regex(operand, path)
    if not isinstance(operand, str):  # $startsWith, $endsWith
        raise FilterError(path, f"{name} takes a string")
    if name == "$startsWith":
        return _on_strings(lambda text: text.startswith(operand))
    return _on_strings(lambda text: text.endswith(operand))


def _deep_equal(expected: Any) -> Matcher:
    canonical = orjson.dumps(expected, option=orjson.OPT_SORT_KEYS)
    if isinstance(expected, dict | list):
        return lambda value: (
            value is not _MISSING
            and isinstance(value, dict | list)
            and orjson.dumps(value, option=orjson.OPT_SORT_KEYS) == canonical
        )
    return lambda value: _equal(value, expected)


def _comparison(name: str, operand: Any, path: str) -> Matcher:
    if isinstance(operand, bool) or not isinstance(operand, int | float | str):
        raise FilterError(path, f"{name} takes a number or a string")
    numeric = not isinstance(operand, str)

    def comparable(value: Any) -> bool:
        if numeric:
            return isinstance(value, int | float) and not isinstance(value, bool)
        return isinstance(value, str)

    if name == "$gt":
        return lambda value: comparable(value) and value > operand
    if name == "$gte":
        return lambda value: comparable(value) and value >= operand
    if name == "$lt":
        return lambda value: comparable(value) and value < operand
    return lambda value: comparable(value) and value <= operand


def _membership(operand: Any, path: str, name: str) -> Matcher:
    """``$in``: the input is one of a list (Convoy), or, given a string, contains it (Hookdeck)."""
    if isinstance(operand, str):
        return _contains(operand)
    if not isinstance(operand, list):
        raise FilterError(path, f"{name} takes a list of values or a string")
    hashable = all(isinstance(item, str | int | float) and not isinstance(item, bool) for item in operand)
    if hashable:
        members = frozenset(operand)

        def one_of(value: Any) -> bool:
            if isinstance(value, list):
                return any(_is_member(item, members) for item in value)
            return _is_member(value, members)

        return one_of
    checks = [_deep_equal(item) for item in operand]

    def any_of(value: Any) -> bool:
        values = value if isinstance(value, list) else [value]
        return any(check(item) for item in values for check in checks)

    return any_of


def _is_member(value: Any, members: frozenset[Any]) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool) and value in members


def _contains(operand: Any) -> Matcher:
    """A string holding a substring, or an array holding an element."""
    element = _deep_equal(operand)

    def match(value: Any) -> bool:
        if isinstance(value, str):
            return isinstance(operand, str) and operand in value
        if isinstance(value, list):
            return any(element(item) for item in value)
        return False

    return match


def _on_strings(test: Callable[[str], bool]) -> Matcher:
    def match(value: Any) -> bool:
        if isinstance(value, list):
            return any(isinstance(item, str) and test(item) for item in value)
        return isinstance(value, str) and test(value)

    return match


def _regex(operand: Any, path: str) -> Matcher:
    if not isinstance(operand, str):
        raise FilterError(path, "$regex takes a string")
    if len(operand) > MAX_REGEX_LENGTH:
        raise FilterError(path, f"$regex is at most {MAX_REGEX_LENGTH} characters")
    try:
        pattern = regex.compile(operand)
    except (regex.error, ValueError) as exc:
        raise FilterError(path, f"$regex is not a valid regular expression: {exc}") from None

    def search(text: str) -> bool:
        try:
            return pattern.search(text[:MAX_REGEX_SUBJECT], timeout=REGEX_TIMEOUT_SECONDS) is not None
        except TimeoutError:
            return False

    return _on_strings(search)
