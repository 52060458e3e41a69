"""Field feedback, and request counts for rate limits.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("post", sa.String(length=100), nullable=True),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=80), nullable=False),
        sa.Column("practice", sa.String(length=80), nullable=False),
        sa.Column("item_id", sa.String(length=80), nullable=True),
        sa.Column("release_version", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    op.create_index("ix_feedback_kind", "feedback", ["kind"])
    op.create_index("ix_feedback_received_at", "feedback", ["received_at"])
    op.create_index("ix_feedback_release_version", "feedback", ["release_version"])
    op.create_index("ix_feedback_role_practice_item", "feedback", ["role", "practice", "item_id"])
    op.create_index("ix_feedback_status", "feedback", ["status"])
    op.create_table(
        "rate_limit",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit")),
    )
    op.create_index(op.f("ix_rate_limit_window_start"), "rate_limit", ["window_start"])


def downgrade() -> None:
    op.drop_index(op.f("ix_rate_limit_window_start"), table_name="rate_limit")
    op.drop_table("rate_limit")
    for index in ("status", "role_practice_item", "release_version", "received_at", "kind"):
        op.drop_index(f"ix_feedback_{index}", table_name="feedback")
    op.drop_table("feedback")
