from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
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
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
