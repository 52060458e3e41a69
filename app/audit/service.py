"""The audit log: who did what, and when. Entries are added in the caller's transaction, so an
action and its entry are stored together or not at all."""

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent

if TYPE_CHECKING:
    from app.auth.models import User

ACTIONS = (
    "sign_in",
    "sign_in_failed",
    "sign_out",
    "password_changed",
    "user_created",
    "user_disabled",
    "user_enabled",
    "user_role_changed",
    "user_password_reset",
    "setup_link_used",
    "triage",
    "export",
    "draft_saved",
    "draft_discarded",
    "release_published",
    "release_rolled_back",
)


def record(
    session: Session,
    *,
    actor: "User | None",
    action: str,
    target: str = "",
    detail: str = "",
    email: str | None = None,
) -> None:
    """Add an entry; `email` names the actor when there is no account (a failed sign-in)."""
    session.add(
        AuditEvent(
            actor_id=actor.id if actor else None,
            actor_email=actor.email if actor else email,
            action=action,
            target=target[:200],
            detail=detail,
        )
    )


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def events(
    session: Session,
    *,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    page: int = 1,
    per_page: int = 50,
) -> AuditPage:
    """Entries newest first, filtered by action, actor's email (part of it) and time."""
    query = select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor:
        query = query.where(col(AuditEvent.actor_email).contains(actor.lower(), autoescape=True))
    if since:
        query = query.where(AuditEvent.at >= since)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(AuditEvent.id).desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return AuditPage(list(rows), total, page, per_page)
