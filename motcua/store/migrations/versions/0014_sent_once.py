"""Sent once: messages record what the platform accepted (when, and the ids of the parts) and which
gateway is sending them, so that a message is not sent again after a crash (issue 20)

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

WAITING = "delivery IS NOT NULL"
IN_FLIGHT = "claimed_by IS NOT NULL AND delivered_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("platform_ids", sa.Text, nullable=True))
        batch.add_column(sa.Column("claimed_by", sa.String(100), nullable=True))
    # Rows stored before are left as they are (no rewrite of the table): none of them is claimed by
    # a gateway, so none is taken up again.
    op.create_index("ix_messages_delivery", "messages", ["delivery"],
                    sqlite_where=sa.text(WAITING), postgresql_where=sa.text(WAITING))
    op.create_index("ix_messages_in_flight", "messages", ["claimed_by"],
                    sqlite_where=sa.text(IN_FLIGHT), postgresql_where=sa.text(IN_FLIGHT))


def downgrade() -> None:
    op.drop_index("ix_messages_in_flight", "messages")
    op.drop_index("ix_messages_delivery", "messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("claimed_by")
        batch.drop_column("platform_ids")
        batch.drop_column("delivered_at")
