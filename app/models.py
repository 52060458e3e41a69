"""Every table of every feature: the one registry that Alembic and the tests read."""

from sqlmodel import SQLModel

from app.content.models import Release
from app.feedback.models import Feedback, RateLimit

metadata = SQLModel.metadata

__all__ = ["Feedback", "RateLimit", "Release", "metadata"]
