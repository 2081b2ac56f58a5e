"""The identity adapters a SQLite database registers keep ``None`` a NULL and ``bytes`` a BLOB,
byte for byte, through ``executemany`` (the raw inserts) and through SQLAlchemy."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from hookhub.store.db import Database
from tests.support.databases import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="sqlite3's parameter binding")

VALUES = [None, b"", b"\x00\xff raw \x00", "text", 7, 2.5, bytearray(b"ba")]
EXPECTED = [
    ("null", None),
    ("blob", b""),
    ("blob", b"\x00\xff raw \x00"),
    ("text", "text"),
    ("integer", 7),
    ("real", 2.5),
    ("blob", b"ba"),
]


def test_none_and_bytes_are_stored_as_null_and_blob(tmp_path: Path) -> None:
    path = tmp_path / "binding.db"

    async def scenario() -> None:
        db = Database(f"sqlite:///{path}")
        try:
            async with db.write() as conn:
                await conn.execute(sa.text("CREATE TABLE kept (position INTEGER, value)"))

            def write(conn: sa.Connection) -> None:
                driver = conn.connection.driver_connection
                driver.executemany("INSERT INTO kept VALUES (?, ?)", list(enumerate(VALUES)))
                conn.execute(
                    sa.text("INSERT INTO kept VALUES (:position, :value)"),
                    [{"position": 100 + index, "value": value} for index, value in enumerate(VALUES)],
                )

            await db.run_write(write)
        finally:
            await db.close()

    asyncio.run(scenario())
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT position, typeof(value), value FROM kept ORDER BY position").fetchall()
    assert [(kind, value) for position, kind, value in rows if position < 100] == EXPECTED
    assert [(kind, value) for position, kind, value in rows if position >= 100] == EXPECTED
