"""Inbox rows name the gateway that took them; gateways leave a heartbeat (several replicas)

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inbox", sa.Column("owner", sa.String(100), nullable=True))
    op.create_index("ix_inbox_status_owner", "inbox", ["status", "owner"])
    op.create_table(
        "gateway_heartbeats",
        sa.Column("gateway_id", sa.String(100), primary_key=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("gateway_heartbeats")
    op.drop_index("ix_inbox_status_owner", "inbox")
    op.drop_column("inbox", "owner")
