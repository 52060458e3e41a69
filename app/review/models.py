import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Text, Uuid
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow

STATUSES = ("new", "acknowledged", "forwarded", "resolved", "dismissed")


class TriageEvent(SQLModel, table=True):
    """One change of a report's status, with who made it and why: the report's history."""

    __tablename__ = "triage_event"

    id: int | None = Field(default=None, primary_key=True)
    feedback_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid, ForeignKey("feedback.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    actor_id: int | None = None
    actor_email: str | None = Field(default=None, max_length=254)
    from_status: str = Field(max_length=20)
    to_status: str = Field(max_length=20)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
