"""Outbox messages left "sending" by a gateway of before 0014 (which claimed without naming
itself) go back to the outbox: nothing reclaimed them, so they were never sent (issue 20)

Revision ID: 0016
Revises: 0015
"""
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A gateway of before 0014 still sending one of these during a rolling upgrade may have it
    # taken again: sent twice, rather than never.
    op.execute("UPDATE messages SET delivery = 'retry' "
               "WHERE delivery = 'sending' AND claimed_by IS NULL AND delivered_at IS NULL")


def downgrade() -> None:
    pass  # which rows were stuck is not kept: they stay in the outbox
