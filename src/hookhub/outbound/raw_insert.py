"""Multi-row INSERT straight on SQLite's DB-API cursor, for the message-create batch.

SQLAlchemy's per-row parameter processing costs more than SQLite's own work on a batch insert.
Values are converted exactly as the column types would store them (``UtcDateTime`` as naive-UTC
text, ``Json`` as JSON text, ``None`` included as ``null``), so reads through SQLAlchemy see the
same data either way. PostgreSQL keeps the ordinary SQLAlchemy path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from hookhub.store.types import UtcDateTime


def _datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _converter(column: sa.Column) -> Callable[[Any], Any] | None:
    if isinstance(column.type, UtcDateTime):
        return _datetime
    if isinstance(column.type, sa.JSON):
        return _json
    return None


class RawInsert:
    """``run(conn, rows)``: insert dict rows (keys = ``columns``) in one ``executemany``."""

    def __init__(self, table: sa.Table, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        marks = ", ".join("?" * len(self.columns))
        self.sql = f"INSERT INTO {table.name} ({', '.join(self.columns)}) VALUES ({marks})"
        self._convert = [(name, _converter(table.c[name])) for name in self.columns]

    def run(self, conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
        if conn.dialect.name != "sqlite":
            raise RuntimeError("RawInsert is for SQLite; use SQLAlchemy elsewhere")
        values = [
            tuple(row[name] if convert is None else convert(row[name]) for name, convert in self._convert)
            for row in rows
        ]
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(self.sql, values)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(self.sql, None, exc) from exc
        finally:
            cursor.close()
