"""delivery_message and delivery_event index only the rows they can find

A delivery has either a message or an event: each of the two indexes held a NULL entry for
every delivery of the other kind, written (and paged into the WAL) for nothing on every insert.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_PARTIAL = (("delivery_message", "message_id"), ("delivery_event", "event_id"))


def upgrade() -> None:
    for name, column in _PARTIAL:
        where = sa.text(f"{column} IS NOT NULL")
        op.drop_index(name, table_name="delivery")
        op.create_index(name, "delivery", [column], sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for name, column in _PARTIAL:
        op.drop_index(name, table_name="delivery")
        op.create_index(name, "delivery", [column])
