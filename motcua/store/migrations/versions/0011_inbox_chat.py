"""Inbox rows name their chat, so that gateways answer one chat's updates in the order they came

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inbox", sa.Column("chat_key", sa.String(100), nullable=True))
    op.create_index("ix_inbox_chat_status", "inbox", ["channel", "chat_key", "status"])


def downgrade() -> None:
    op.drop_index("ix_inbox_chat_status", "inbox")
    op.drop_column("inbox", "chat_key")
