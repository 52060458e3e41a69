"""Trainers' draft of the next release; the items each release marks critical.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Releases stored before this revision marked nothing critical: they get an empty list.
    with op.batch_alter_table("release", schema=None) as batch_op:
        batch_op.add_column(sa.Column("critical", sa.JSON(), server_default="[]", nullable=False))

    op.create_table(
        "content_draft",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_content_draft_one_draft")),
        sa.ForeignKeyConstraint(
            ["based_on"],
            ["release.version"],
            name=op.f("fk_content_draft_based_on_release"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["user_account.id"],
            name=op.f("fk_content_draft_updated_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_draft")),
    )


def downgrade() -> None:
    op.drop_table("content_draft")
    with op.batch_alter_table("release", schema=None) as batch_op:
        batch_op.drop_column("critical")
