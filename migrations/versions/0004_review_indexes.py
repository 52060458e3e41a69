"""Covering indexes for the supervisor's review: chart counts and the status-filtered inbox.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        # Reports per practice and role and the items with most problems, in one index scan.
        batch_op.create_index(
            "ix_feedback_role_practice_item_kind",
            ["role", "practice", "item_id", "kind"],
            unique=False,
        )
        # The inbox of new reports, newest first, and its count over a date range.
        batch_op.create_index(
            "ix_feedback_status_received_at", ["status", "received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_status_received_at")
        batch_op.drop_index("ix_feedback_role_practice_item_kind")
