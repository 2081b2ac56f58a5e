"""Base model for API bodies: camelCase on the wire, snake_case in Python."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic.alias_generators import to_camel

T = TypeVar("T")

# Svix's uid / name rule: letters, digits, '-', '_', '.', 1-256 characters.
Uid = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9\-_.]+$", min_length=1, max_length=256)]


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class ListResponse(ApiModel, Generic[T]):
    data: list[T]
    iterator: str | None
    prev_iterator: str | None
    done: bool
