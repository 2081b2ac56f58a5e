"""``hookhub secrets encrypt``: every stored secret rewritten with the newest encryption key."""

from __future__ import annotations

import sqlalchemy as sa

from hookhub.store.db import Database
from hookhub.store.tables import endpoint, source

# Reading a row decrypts with whichever key opens it; writing it back encrypts with the newest.
_COLUMNS = ((endpoint, ("secret", "previous_secrets", "headers")), (source, ("config",)))


async def rewrite_secrets(db: Database) -> dict[str, int]:
    """Rows rewritten per table, all in one transaction."""
    counts: dict[str, int] = {}
    async with db.write() as conn:
        for table, names in _COLUMNS:
            rows = (await conn.execute(sa.select(table.c.id, *(table.c[name] for name in names)))).all()
            for row in rows:
                values = {name: getattr(row, name) for name in names}
                await conn.execute(table.update().where(table.c.id == row.id).values(**values))
            counts[table.name] = len(rows)
    return counts
