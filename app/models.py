"""Every table of every feature: the one registry that Alembic and the tests read."""

from sqlmodel import SQLModel

from app.content.models import Release

metadata = SQLModel.metadata

__all__ = ["Release", "metadata"]
