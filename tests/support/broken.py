"""A deliberately broken database: a trigger that makes chosen inserts fail with a database error
(not a constraint violation), so that a test can watch a real server meet an unexpected one."""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg
import sqlalchemy as sa


def fail_inserts(database_url: str, table: str, when: str = "TRUE") -> None:
    """From now on, inserting a row of ``table`` for which the SQL condition ``when`` holds (it
    may name the new row as ``NEW``) raises a database error."""
    name = f"hookhub_test_fail_{table}"
    if database_url.startswith("sqlite"):
        path = sa.make_url(database_url).database
        with sqlite3.connect(path) as conn:
            # json() of malformed text is a run-time error (SQLITE_ERROR), unlike RAISE(ABORT),
            # which is a constraint violation.
            conn.execute(
                f"CREATE TRIGGER {name} BEFORE INSERT ON {table} WHEN {when} "
                "BEGIN SELECT json('deliberately broken'); END"
            )
        return

    async def install() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'deliberately broken'; END $$"
            )
            await conn.execute(
                f"CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW WHEN ({when}) "
                f"EXECUTE FUNCTION {name}()"
            )
        finally:
            await conn.close()

    asyncio.run(install())
