"""NLU inbox, model history and model events (admins improve the bot, issue 8)

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nlu_inbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender_id", sa.String(200), nullable=False, index=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("folded", sa.String(500), nullable=False, index=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("source_id", sa.Integer, nullable=True),
        sa.Column("intent", sa.String(64), nullable=True),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("ranking", sa.JSON, nullable=True),
        sa.Column("procedure", sa.String(64), nullable=True),
        sa.Column("status", sa.String(12), nullable=False, server_default="new", index=True),
        sa.Column("resolved_intent", sa.String(64), nullable=True),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("source", "source_id", name="uq_nlu_inbox_source"),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=True, index=True),
        sa.Column("status", sa.String(12), nullable=False, server_default="running"),
        sa.Column("stage", sa.String(200), nullable=False, server_default=""),
        sa.Column("progress", sa.Integer, nullable=False, server_default="0"),
        sa.Column("started_by", sa.String(200), nullable=False, server_default=""),
        sa.Column("data_hash", sa.String(32), nullable=True),
        sa.Column("scores", sa.JSON, nullable=True),
        sa.Column("baseline_id", sa.Integer, sa.ForeignKey("model_versions.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("baseline_scores", sa.JSON, nullable=True),
        sa.Column("reasons", sa.JSON, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("log_tail", sa.Text, nullable=True),
        sa.Column("train_seconds", sa.Float, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "model_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("model_versions.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("action", sa.String(12), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("swap_seconds", sa.Float, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("model_events")
    op.drop_table("model_versions")
    op.drop_table("nlu_inbox")
