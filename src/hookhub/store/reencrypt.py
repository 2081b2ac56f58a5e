"""``hookhub secrets encrypt``: every stored secret rewritten with the newest encryption key; and
the start-up check that the configured keys open the stored secrets."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from hookhub.store.db import Database
from hookhub.store.secrets import PREFIX, PREFIX_BYTES
from hookhub.store.tables import endpoint, idempotency_key, source

# Reading a row decrypts with whichever key opens it; writing it back encrypts with the newest.
# Each table with the rows to rewrite: a stored Idempotency-Key answer once it is complete (it
# never changes then; one still being processed is written by its request).
_COLUMNS: tuple[tuple[sa.Table, tuple[str, ...], sa.ColumnElement[bool]], ...] = (
    (endpoint, ("secret", "previous_secrets", "headers"), sa.true()),
    (source, ("config", "relay_secret", "previous_relay_secrets"), sa.true()),
    (idempotency_key, ("body",), idempotency_key.c.state == "done"),
)


async def rewrite_secrets(db: Database) -> dict[str, int]:
    """Rows rewritten per table, all in one transaction."""
    counts: dict[str, int] = {}
    async with db.write() as conn:
        for table, names, rows_to_rewrite in _COLUMNS:
            key = table.primary_key.columns[0]
            query = sa.select(key, *(table.c[name] for name in names)).where(rows_to_rewrite)
            rows = (await conn.execute(query)).all()
            for row in rows:
                values = {name: getattr(row, name) for name in names}
                await conn.execute(table.update().where(key == row[0]).values(**values))
            counts[table.name] = len(rows)
    return counts


def _encrypted(column: sa.Column[Any]) -> sa.ColumnElement[bool]:
    """Rows whose value in ``column`` is encrypted (compared as the database holds it)."""
    if isinstance(column.type.impl, sa.LargeBinary):
        return sa.func.substr(column, 1, len(PREFIX_BYTES)) == sa.literal(PREFIX_BYTES, sa.LargeBinary)
    return sa.cast(column, sa.Text).like(f"%{PREFIX}%")


async def check_keys_open_secrets(db: Database) -> None:
    """Fail now, with the reason, if some stored secret is encrypted and no configured key opens
    it (rather than later, as failed deliveries and 500s). Reads one encrypted value per column."""
    async with db.read() as conn:
        for table, names, _ in _COLUMNS:
            for name in names:
                query = sa.select(table.c[name]).where(_encrypted(table.c[name])).limit(1)
                (await conn.execute(query)).first()  # decrypting raises SecretsLocked
