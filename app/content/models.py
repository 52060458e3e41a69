from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, Integer, Text
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class Release(SQLModel, table=True):
    """One published version of the guidance; never changed once stored."""

    __tablename__ = "release"

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    content_hash: str = Field(max_length=64, index=True)
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    notes: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # Ids of the items added or changed in this release that officers must not miss.
    critical: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


DRAFT_ID = 1


class Draft(SQLModel, table=True):
    """The next release as trainers edit it: one row at most, so never two drafts at once."""

    __tablename__ = "content_draft"
    __table_args__ = (CheckConstraint(f"id = {DRAFT_ID}", name="one_draft"),)
    # Publishing closes the row and opening the next draft reuses it. Its revision keeps
    # counting, so a save made before a publish can never land on the draft after it.

    id: int = Field(default=DRAFT_ID, primary_key=True, sa_column_kwargs={"autoincrement": False})
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    based_on: int = Field(sa_column=Column(Integer, ForeignKey("release.version"), nullable=False))
    revision: int = Field(default=1)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_by: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("user_account.id", ondelete="SET NULL")),
    )
