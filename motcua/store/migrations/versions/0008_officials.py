"""Officials, web sessions, ratings, formal-route guidance; complaint location, photo,
assignment and escalation

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "officials",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("full_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False, server_default="official"),
        sa.Column("agency", sa.String(64), nullable=True),
        sa.Column("telegram_user_id", sa.String(32), nullable=True, unique=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("official_id", sa.Integer, sa.ForeignKey("officials.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender_id", sa.String(200), nullable=False, index=True),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("subject_ref", sa.String(64), nullable=False, server_default=""),
        sa.Column("agency", sa.String(64), nullable=True),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender_id", sa.String(200), nullable=False, index=True),
        sa.Column("status", sa.String(12), nullable=False, server_default="waiting"),
        sa.Column("official", sa.String(200), nullable=True),
        sa.Column("officials_post_id", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(200), nullable=True),
    )
    op.create_table(
        "formal_guidance",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender_id", sa.String(200), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(sa.Column("latitude", sa.Float, nullable=True))
        batch.add_column(sa.Column("longitude", sa.Float, nullable=True))
        batch.add_column(sa.Column("photo", sa.Text, nullable=True))
        batch.add_column(sa.Column("assigned_to", sa.Integer, nullable=True))
        batch.add_column(sa.Column("due_soon_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("escalated_to", sa.String(64), nullable=True))
        batch.add_column(sa.Column("officials_post_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("search_text", sa.Text, nullable=False, server_default=""))
        batch.create_foreign_key("fk_complaints_assigned_to", "officials", ["assigned_to"], ["id"],
                                 ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.drop_constraint("fk_complaints_assigned_to", type_="foreignkey")
        for column in ("search_text", "officials_post_id", "escalated_to", "escalated_at", "due_soon_at", "assigned_to",
                       "photo", "longitude", "latitude"):
            batch.drop_column(column)
    for table in ("handoffs", "formal_guidance", "ratings", "web_sessions", "officials"):
        op.drop_table(table)
