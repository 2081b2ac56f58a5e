"""routing: a content filter and a JavaScript transformation per endpoint

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from hookhub.store.types import Json

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("endpoint") as batch:
        batch.add_column(sa.Column("filter", Json, nullable=True))
        batch.add_column(sa.Column("transformation", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("transformation_enabled", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("endpoint") as batch:
        batch.drop_column("transformation_enabled")
        batch.drop_column("transformation")
        batch.drop_column("filter")
