"""Every table of every feature: the one registry that Alembic and the tests read."""

from sqlmodel import SQLModel

from app.audit.models import AuditEvent
from app.auth.models import SetupToken, SignInFailure, User, UserSession
from app.content.models import Release
from app.feedback.models import Feedback, RateLimit
from app.review.models import TriageEvent

metadata = SQLModel.metadata

__all__ = [
    "AuditEvent",
    "Feedback",
    "RateLimit",
    "Release",
    "SetupToken",
    "SignInFailure",
    "TriageEvent",
    "User",
    "UserSession",
    "metadata",
]
