"""Base model for API bodies: camelCase on the wire, snake_case in Python; the field types that
keep a body within what the database and the JSON serialiser can hold."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

T = TypeVar("T")

# Svix's uid / name rule: letters, digits, '-', '_', '.', 1-256 characters.
Uid = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9\-_.]+$", min_length=1, max_length=256)]
# Svix types these as uint16 (messages per second; the endpoint's version).
ThrottleRate = Annotated[int, Field(ge=0, le=65_535)]
MaxInFlight = Annotated[int, Field(ge=1, le=10_000)]
Version = Annotated[int, Field(ge=1, le=65_535)]


def _in_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # a time without an offset is taken as UTC
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("has no UTC equivalent before year 10000") from None


# A time in a body or a query, as stored and compared: aware, in UTC.
UtcTime = Annotated[datetime, AfterValidator(_in_utc)]

# orjson, which writes every answer, takes integers in this range and no others.
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


def _unstorable(value: Any, pointer: str) -> str | None:
    """Why ``value`` (parsed JSON) could not be stored and read back, or None."""
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _unstorable(item, f"{pointer}/{key}")
            if problem:
                return problem
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problem = _unstorable(item, f"{pointer}/{index}")
            if problem:
                return problem
    elif isinstance(value, bool):
        return None
    elif isinstance(value, int) and not _INT_MIN <= value <= _INT_MAX:
        return f"the integer at '{pointer or '/'}' is beyond 64 bits"
    elif isinstance(value, float) and not math.isfinite(value):
        return f"the number at '{pointer or '/'}' is too large for a double"
    return None


def storable(value: T) -> T:
    problem = _unstorable(value, "")
    if problem:
        raise ValueError(f"{problem}: it could not be stored and read back exactly")
    return value


# JSON kept as sent (schemas, settings, test bodies): refused with a 422 naming the field and the
# place in it when it holds a number the stored copy could not give back.
StorableJson = AfterValidator(storable)
JsonObject = Annotated[dict[str, Any], StorableJson]


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class ListResponse(ApiModel, Generic[T]):
    data: list[T]
    iterator: str | None
    prev_iterator: str | None
    done: bool
