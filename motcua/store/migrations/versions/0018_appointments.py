"""Appointments at the one-stop office (LH-YYYY-NNNNNN), the claims that make a double booking
impossible, and their yearly numbering (issue 19)

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(20), nullable=False, unique=True),
        sa.Column("sender_id", sa.String(200), nullable=False, index=True),
        sa.Column("procedure_id", sa.String(64), nullable=False),
        sa.Column("procedure_name", sa.Text, nullable=False),
        sa.Column("counter_id", sa.String(64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="booked"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.String(200), nullable=True),
        sa.Column("cancel_reason", sa.Text, nullable=True),
        sa.Column("reminded_evening_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_soon_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "appointment_claims",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("appointment_id", sa.Integer, sa.ForeignKey("appointments.id", ondelete="CASCADE"),
                  nullable=False, index=True),
    )
    op.create_table(
        "appointment_counters",
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("last", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("appointment_counters")
    op.drop_table("appointment_claims")
    op.drop_table("appointments")
