"""Indexes for the supervisor's review: chart counts and filtered inboxes read from indexes alone.

Two wider indexes take the place of three narrower ones they begin with, so that a report
stored still updates as many indexes as before.

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
        batch_op.drop_index("ix_feedback_role_practice_item")
        batch_op.drop_index("ix_feedback_received_at")
        batch_op.drop_index("ix_feedback_status")
        # Reports per practice and role, the items with most problems, and reports per day of
        # one role, practice or item, in one index scan.
        batch_op.create_index(
            "ix_feedback_place_kind_received",
            ["role", "practice", "item_id", "kind", "received_at"],
            unique=False,
        )
        # A date range, newest first, with what the charts group it by.
        batch_op.create_index(
            "ix_feedback_received_kind_place",
            ["received_at", "kind", "role", "practice", "item_id"],
            unique=False,
        )
        # The inbox of new reports, newest first, and its count over a date range.
        batch_op.create_index(
            "ix_feedback_status_received_at", ["status", "received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_status_received_at")
        batch_op.drop_index("ix_feedback_received_kind_place")
        batch_op.drop_index("ix_feedback_place_kind_received")
        batch_op.create_index("ix_feedback_status", ["status"], unique=False)
        batch_op.create_index("ix_feedback_received_at", ["received_at"], unique=False)
        batch_op.create_index(
            "ix_feedback_role_practice_item", ["role", "practice", "item_id"], unique=False
        )
