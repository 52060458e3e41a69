from typing import Literal

from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app.content import service as content


class Health(BaseModel):
    status: Literal["ok", "degraded", "error"]
    database: Literal["ok", "unreachable"]
    release: int | None


def check(session: Session) -> Health:
    try:
        version = content.latest_version(session)
    except SQLAlchemyError:
        return Health(status="error", database="unreachable", release=None)
    return Health(status="ok" if version else "degraded", database="ok", release=version)
