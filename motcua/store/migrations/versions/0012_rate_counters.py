"""Rate counters in the store (a limit that several gateways must agree on is counted here), and
the index the per-code lookup lock reads

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_counters",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("window", sa.Integer, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("key", "window"),
    )
    op.create_index("ix_dossier_lookups_code_created", "dossier_lookups", ["code", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_dossier_lookups_code_created", "dossier_lookups")
    op.drop_table("rate_counters")
