import uuid
from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow

KINDS = ("unclear", "incorrect", "missing", "not_applicable", "worked_well", "other")


class Feedback(SQLModel, table=True):
    """A report from the field on a checklist item, or on a whole checklist (no item)."""

    __tablename__ = "feedback"
    __table_args__ = (
        Index(
            "ix_feedback_place_kind_received", "role", "practice", "item_id", "kind", "received_at"
        ),
        Index(
            "ix_feedback_received_kind_place", "received_at", "kind", "role", "practice", "item_id"
        ),
        Index("ix_feedback_status_received_at", "status", "received_at"),
        Index("ix_feedback_kind", "kind"),
        Index("ix_feedback_release_version", "release_version"),
        Index("ix_feedback_post", "post"),
        Index("ix_feedback_language", "language"),
        Index("ix_feedback_resolved_in", "resolved_in"),
    )

    id: uuid.UUID = Field(primary_key=True)  # made on the phone: the idempotency key
    kind: str = Field(max_length=20)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    post: str | None = Field(default=None, max_length=100)
    contact: str | None = Field(default=None, max_length=200)
    role: str = Field(max_length=80)
    practice: str = Field(max_length=80)
    item_id: str | None = Field(default=None, max_length=80)
    release_version: int
    language: str = Field(max_length=20)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)  # the phone's clock
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    status: str = Field(default="new", max_length=20)
    body_hash: str = Field(max_length=64)
    # The release whose publication resolved the report; cleared when a supervisor changes it.
    resolved_in: int | None = None


class RateLimit(SQLModel, table=True):
    """Requests counted per client and minute, shared by every instance.

    The key is a keyed hash of the client's address and the minute: no address is stored.
    """

    __tablename__ = "rate_limit"

    key: str = Field(primary_key=True, max_length=64)
    window_start: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    count: int = 0
