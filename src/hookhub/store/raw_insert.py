"""Multi-row INSERT and plain SELECT straight on the driver, for hot batches (messages, events).

SQLAlchemy's per-row parameter processing costs more than the database's own work on a batch
insert. Values are converted as the column types would store them (``UtcDateTime`` as naive UTC,
``Json`` as JSON text, ``None`` as SQL NULL), so reads through SQLAlchemy see the same data
either way. Both run on the DB-API cursor of ``conn``, inside its transaction
(``Database.run_write``): on SQLite the sqlite3 cursor, on PostgreSQL SQLAlchemy's asyncpg
adapter cursor, which begins the adapter's transaction before its first statement. (Calling
asyncpg's connection directly would not: each statement would commit on its own, and a fault
between the message and its deliveries would leave the message stored alone.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from hookhub.store.types import UtcDateTime


def _naive_utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def _sqlite_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without the "+00:00"


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


Converter = Callable[[Any], Any]


def _converters(table: sa.Table, columns: Sequence[str], dialect: str) -> list[tuple[int, Converter, bool]]:
    """(position, converter, shared) for the columns whose values need converting; ``shared``:
    worth converting once per batch (rows of a batch share their timestamp objects)."""
    datetime_to = _sqlite_datetime if dialect == "sqlite" else _naive_utc
    converters: list[tuple[int, Converter, bool]] = []
    for position, name in enumerate(columns):
        column_type = table.c[name].type
        if isinstance(column_type, UtcDateTime):
            converters.append((position, datetime_to, True))
        elif isinstance(column_type, sa.JSON):
            converters.append((position, _json, False))
    return converters


class RawInsert:
    """``run(conn, rows)``: insert dict rows (keys = ``columns``) in one ``executemany``."""

    def __init__(self, table: sa.Table, columns: Sequence[str], *, skip_existing: bool = False) -> None:
        """``skip_existing``: a row whose key is already stored is left out, not an error (for
        writes that may be repeated after a commit whose outcome was unknown)."""
        self.columns = tuple(columns)
        names = ", ".join(self.columns)
        tail = " ON CONFLICT DO NOTHING" if skip_existing else ""
        sqlite_marks = ", ".join("?" * len(self.columns))
        postgresql_marks = ", ".join(f"${i}" for i in range(1, len(self.columns) + 1))
        self.sql = {
            "sqlite": f"INSERT INTO {table.name} ({names}) VALUES ({sqlite_marks}){tail}",
            "postgresql": f"INSERT INTO {table.name} ({names}) VALUES ({postgresql_marks}){tail}",
        }
        self._values_of = itemgetter(*self.columns)
        self._convert = {dialect: _converters(table, self.columns, dialect) for dialect in self.sql}

    def values(self, rows: Sequence[dict[str, Any]], dialect: str) -> list[list[Any]]:
        """The rows as the driver takes them."""
        values_of = self._values_of
        converters = self._convert[dialect]
        done: dict[int, Any] = {}  # id(shared value) -> converted; the rows keep the objects alive
        out = []
        for row in rows:
            values = list(values_of(row))
            for position, convert, shared in converters:
                value = values[position]
                if not shared:
                    values[position] = convert(value)
                elif (converted := done.get(id(value), _MISSING)) is not _MISSING:
                    values[position] = converted
                else:
                    values[position] = done[id(value)] = convert(value)
            out.append(values)
        return out

    def run(self, conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
        dialect = conn.dialect.name
        sql = self.sql[dialect]
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(sql, self.values(rows, dialect))
        except conn.dialect.loaded_dbapi.IntegrityError as exc:
            raise IntegrityError(sql, None, exc) from exc
        finally:
            cursor.close()


_MISSING = object()


def fetch_rows(conn: sa.Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    """Rows (plain tuples) of one SELECT run straight on the DB-API cursor, inside ``conn``'s
    transaction.

    ``sql`` uses the driver's own placeholders (``?`` on SQLite, ``$1`` … on PostgreSQL); values
    come back as the driver returns them (JSON as text, booleans as 0/1 on SQLite).
    """
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()
