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
