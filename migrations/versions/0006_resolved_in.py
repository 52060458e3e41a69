"""The release whose publication resolved a report.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Reports stored before this revision were resolved by hand, if at all: no release.
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolved_in", sa.Integer(), nullable=True))
        # The inbox filtered to what one release resolved.
        batch_op.create_index("ix_feedback_resolved_in", ["resolved_in"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_resolved_in")
        batch_op.drop_column("resolved_in")
