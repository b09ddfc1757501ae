"""messages remember their inbox update

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("inbox_id", sa.Integer, nullable=True))
        batch.create_unique_constraint("uq_messages_inbox_id", ["inbox_id"])


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint("uq_messages_inbox_id", type_="unique")
        batch.drop_column("inbox_id")
