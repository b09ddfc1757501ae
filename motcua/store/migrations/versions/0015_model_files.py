"""Model files in the store: every Rasa replica pulls the published model from the gateways
(Rasa's model-server protocol), wherever it runs, without a shared volume

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_files",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("base_hash", sa.String(32), nullable=True),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_model_files_published_at", "model_files", ["published_at"])


def downgrade() -> None:
    op.drop_index("ix_model_files_published_at", table_name="model_files")
    op.drop_table("model_files")
