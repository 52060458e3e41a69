from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow

ROLES = ("officer", "trainer", "supervisor", "administrator")


class User(SQLModel, table=True):
    """Someone who signs in: an administrator, supervisor, trainer or (where required) officer."""

    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)  # kept in lower case
    role: str = Field(max_length=20)
    password_hash: str = Field(max_length=255)
    disabled: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    password_changed_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False
    )


class UserSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "user_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


class SetupToken(SQLModel, table=True):
    """A one-time link to create the first administrator; only its hash is stored."""

    __tablename__ = "setup_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SignInFailure(SQLModel, table=True):
    """Failed sign-ins counted per account and per client in a time window, shared by every
    instance. The key is a keyed hash of the address or email and the window: neither is stored."""

    __tablename__ = "sign_in_failure"

    key: str = Field(primary_key=True, max_length=64)
    window_start: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    count: int = 0
