"""dossier subscriptions and pushed messages

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("push", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "dossier_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender_id", sa.String(200), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("last_status", sa.String(20), nullable=False),
        sa.Column("last_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("sender_id", "code", name="uq_subscription_sender_code"),
    )
    op.create_index("ix_dossier_subscriptions_code", "dossier_subscriptions", ["code"])


def downgrade() -> None:
    op.drop_index("ix_dossier_subscriptions_code", table_name="dossier_subscriptions")
    op.drop_table("dossier_subscriptions")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("push")
