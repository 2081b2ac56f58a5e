"""flow control toward endpoints: maxInFlight, a row per controlled endpoint, pending deliveries by endpoint

Revision ID: 0011
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from hookhub.store.types import UtcDateTime

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "endpoint_flow",
        sa.Column(
            "endpoint_id", sa.String(40), sa.ForeignKey("endpoint.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("max_in_flight", sa.Integer()),
        sa.Column("paused_until", UtcDateTime()),
    )
    with op.batch_alter_table("endpoint") as batch:
        batch.add_column(sa.Column("max_in_flight", sa.Integer()))
    pending = sa.text("status = 'pending'")
    op.create_index(
        "delivery_endpoint_pending",
        "delivery",
        ["endpoint_id", "next_attempt_at"],
        sqlite_where=pending,
        postgresql_where=pending,
    )


def downgrade() -> None:
    with op.batch_alter_table("endpoint") as batch:
        batch.drop_column("max_in_flight")
    op.drop_index("delivery_endpoint_pending", table_name="delivery")
    op.drop_table("endpoint_flow")
