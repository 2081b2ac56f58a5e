"""The migrations, applied in order to an empty database, produce exactly the declared schema."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hookhub.store.db import Database
from hookhub.store.tables import metadata


def _diff(database_url: str) -> list[object]:
    async def run() -> list[object]:
        db = Database(database_url)
        try:
            await db.migrate()
            async with db.engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
                )
        finally:
            await db.close()

    return asyncio.run(run())


def test_migrations_match_tables(make_database: Callable[[], str]) -> None:
    assert _diff(make_database()) == []


def test_migrating_twice_is_a_no_op(make_database: Callable[[], str]) -> None:
    url = make_database()
    _diff(url)
    assert _diff(url) == []


def test_delivery_subject_indexes_are_partial(make_database: Callable[[], str]) -> None:
    """Each of delivery_message / delivery_event skips the rows of the other kind (NULL there)."""

    async def definitions(database_url: str) -> dict[str, str]:
        db = Database(database_url)
        try:
            await db.migrate()
            async with db.engine.connect() as conn:
                if db.is_sqlite:
                    query = (
                        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'delivery'"
                    )
                else:
                    query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'delivery'"
                rows = (await conn.exec_driver_sql(query)).all()
                return {name: (sql or "") for name, sql in rows}
        finally:
            await db.close()

    found = asyncio.run(definitions(make_database()))
    assert (
        "WHERE" in found["delivery_message"].upper() and "message_id IS NOT NULL" in found["delivery_message"]
    )
    assert "WHERE" in found["delivery_event"].upper() and "event_id IS NOT NULL" in found["delivery_event"]
    assert "WHERE" not in found["delivery_due"].upper()
