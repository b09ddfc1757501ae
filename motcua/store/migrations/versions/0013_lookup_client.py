"""Dossier lookups name the web chat client they came from (a hash of its address), so that
failures from one address across many fresh chats lock that address's lookups

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dossier_lookups") as batch:
        batch.add_column(sa.Column("client_key", sa.String(32), nullable=True))
    op.create_index("ix_dossier_lookups_client_created", "dossier_lookups", ["client_key", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_dossier_lookups_client_created", "dossier_lookups")
    with op.batch_alter_table("dossier_lookups") as batch:
        batch.drop_column("client_key")
