"""``hookhub secrets encrypt``: every stored secret rewritten with the newest encryption key; and
the start-up check that the configured keys open the stored secrets."""

from __future__ import annotations

import sqlalchemy as sa

from hookhub.store.db import Database
from hookhub.store.secrets import PREFIX
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


async def check_keys_open_secrets(db: Database) -> None:
    """Fail now, with the reason, if some stored secret is encrypted and no configured key opens
    it (rather than later, as failed deliveries and 500s). Reads one encrypted value per column."""
    async with db.read() as conn:
        for table, names in _COLUMNS:
            for name in names:
                stored_text = sa.cast(table.c[name], sa.Text)
                query = sa.select(table.c[name]).where(stored_text.like(f"%{PREFIX}%")).limit(1)
                (await conn.execute(query)).first()  # decrypting raises SecretsLocked
