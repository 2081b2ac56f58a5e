"""a per-source relay secret: hookhub signs what it relays to listeners (Standard Webhooks)

Existing sources get a fresh secret here, encrypted when the process has an encryption key (every
hookhub command configures it before migrating).

Revision ID: 0013
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

from hookhub.delivery.signing import generate_secret
from hookhub.store.secrets import EncryptedJson, EncryptedText
from hookhub.store.types import Json

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source") as batch:
        batch.add_column(sa.Column("relay_secret", sa.Text(), nullable=True))
        batch.add_column(sa.Column("previous_relay_secrets", Json, nullable=True))
    connection = op.get_bind()
    source = sa.table(
        "source",
        sa.column("id", sa.String()),
        sa.column("relay_secret", EncryptedText()),
        sa.column("previous_relay_secrets", EncryptedJson()),
    )
    for (source_id,) in connection.execute(sa.select(source.c.id)).all():
        connection.execute(
            source.update()
            .where(source.c.id == source_id)
            .values(relay_secret=generate_secret(), previous_relay_secrets=[])
        )


def downgrade() -> None:
    with op.batch_alter_table("source") as batch:
        batch.drop_column("previous_relay_secrets")
        batch.drop_column("relay_secret")
