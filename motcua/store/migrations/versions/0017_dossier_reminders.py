"""Dossier reminders: a follower is reminded the working day before the appointment to collect the
result; the subscription records for which due date it was reminded, so that exactly one gateway
sends it, once per due date (issue 19)

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing subscriptions start with no reminder sent: each gets one for its current due date.
    with op.batch_alter_table("dossier_subscriptions") as batch:
        batch.add_column(sa.Column("reminded_due_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dossier_subscriptions") as batch:
        batch.drop_column("reminded_due_at")
