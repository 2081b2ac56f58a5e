"""Multi-row INSERT and plain SELECT straight on the driver, for hot batches (message create).

SQLAlchemy's per-row parameter processing costs more than the database's own work on a batch
insert. Values are converted exactly as the column types would store them (``UtcDateTime`` as
naive UTC, ``Json`` as JSON text with ``None`` as ``null``), so reads through SQLAlchemy see the
same data either way. SQLite: ``executemany`` on the DB-API cursor (called on the writer thread).
PostgreSQL: asyncpg's ``executemany``, awaited from inside ``AsyncConnection.run_sync``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.util import await_only

from hookhub.store.types import UtcDateTime


def _naive_utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def _sqlite_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _converters(table: sa.Table, columns: Sequence[str], dialect: str) -> list[Callable[[Any], Any] | None]:
    datetime_to = _sqlite_datetime if dialect == "sqlite" else _naive_utc
    converters: list[Callable[[Any], Any] | None] = []
    for name in columns:
        column_type = table.c[name].type
        if isinstance(column_type, UtcDateTime):
            converters.append(datetime_to)
        elif isinstance(column_type, sa.JSON):
            converters.append(_json)
        else:
            converters.append(None)
    return converters


class RawInsert:
    """``run(conn, rows)``: insert dict rows (keys = ``columns``) in one ``executemany``."""

    def __init__(self, table: sa.Table, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        names = ", ".join(self.columns)
        self.sql = {
            "sqlite": f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(self.columns))})",
            "postgresql": (
                f"INSERT INTO {table.name} ({names}) "
                f"VALUES ({', '.join(f'${i}' for i in range(1, len(self.columns) + 1))})"
            ),
        }
        self._convert = {dialect: _converters(table, self.columns, dialect) for dialect in self.sql}

    def run(self, conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
        dialect = conn.dialect.name
        pairs = list(zip(self.columns, self._convert[dialect], strict=True))
        # Rows of one batch share their timestamps (the same objects): convert each value once.
        converted: dict[tuple[int, Any], Any] = {}

        def once(convert: Callable[[Any], Any], value: Any) -> Any:
            key = (id(value), convert)
            if key not in converted:
                converted[key] = convert(value)
            return converted[key]

        values = [
            tuple(row[name] if convert is None else once(convert, row[name]) for name, convert in pairs)
            for row in rows
        ]
        driver = conn.connection.driver_connection
        sql = self.sql[dialect]
        if dialect == "sqlite":
            cursor = driver.cursor()  # type: ignore[union-attr]
            try:
                cursor.executemany(sql, values)
            except sqlite3.IntegrityError as exc:
                raise IntegrityError(sql, None, exc) from exc
            finally:
                cursor.close()
            return
        try:
            await_only(driver.executemany(sql, values))  # type: ignore[union-attr]
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(sql, None, exc) from exc


def fetch_rows(conn: sa.Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    """Rows (plain tuples) of one SELECT run straight on the driver, inside ``conn``'s transaction.

    ``sql`` uses the driver's own placeholders (``?`` on SQLite, ``$1`` … on PostgreSQL); values
    come back as the driver returns them (JSON as text, booleans as 0/1 on SQLite).
    """
    driver = conn.connection.driver_connection
    if conn.dialect.name == "sqlite":
        cursor = driver.cursor()  # type: ignore[union-attr]
        try:
            return cursor.execute(sql, params).fetchall()
        finally:
            cursor.close()
    return await_only(driver.fetch(sql, *params))  # type: ignore[union-attr]
