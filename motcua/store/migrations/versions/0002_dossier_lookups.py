"""dossier lookup audit

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dossier_lookups",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender_id", sa.String(200), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_dossier_lookups_sender_created", "dossier_lookups", ["sender_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_dossier_lookups_sender_created", table_name="dossier_lookups")
    op.drop_table("dossier_lookups")
