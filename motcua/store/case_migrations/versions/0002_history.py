"""original appointment and status history

Revision ID: c0002
Revises: c0001
"""
import sqlalchemy as sa
from alembic import op

revision = "c0002"
down_revision = "c0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("original_due_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE dossiers SET original_due_at = due_at")
    op.create_table(
        "dossier_status_history",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), sa.ForeignKey("dossiers.code", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_dossier_status_history_code", "dossier_status_history", ["code"])


def downgrade() -> None:
    op.drop_index("ix_dossier_status_history_code", table_name="dossier_status_history")
    op.drop_table("dossier_status_history")
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("original_due_at")
