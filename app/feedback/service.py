"""Field reports: checked against the release they were written on, stored exactly once."""

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from sqlalchemy import bindparam, delete, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from app.content.published import Published
from app.db import utcnow
from app.errors import AppError, Conflict, ErrorDetail
from app.feedback.models import KINDS, Feedback, RateLimit

Kind = Literal["unclear", "incorrect", "missing", "not_applicable", "worked_well", "other"]
assert set(Kind.__args__) == set(KINDS)  # type: ignore[attr-defined]


class FeedbackIn(BaseModel):
    """A report as the phone sends it; `id` is made on the phone and names it for ever."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: uuid.UUID
    kind: Kind
    comment: str = Field(default="", max_length=2000)
    post: str | None = Field(default=None, max_length=100)
    contact: str | None = Field(default=None, max_length=200)
    role: str = Field(max_length=80)
    practice: str = Field(max_length=80)
    item_id: str | None = Field(default=None, max_length=80)
    release_version: int = Field(ge=1)
    language: str = Field(max_length=20)
    created_at: AwareDatetime

    @field_validator("created_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @field_validator("post", "contact", "item_id")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None


class FeedbackOut(BaseModel):
    id: uuid.UUID
    kind: str
    comment: str
    post: str | None
    contact: str | None
    role: str
    practice: str
    item_id: str | None
    release_version: int
    language: str
    created_at: datetime
    received_at: datetime
    status: str


class Unprocessable(AppError):
    def __init__(self, errors: list[ErrorDetail]) -> None:
        summary = "; ".join(str(error) for error in errors)
        super().__init__(f"The report cannot be accepted: {summary}", 422, errors)


class TooManyRequests(AppError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many reports from this client; try again in {retry_after} s.",
            429,
            headers={"Retry-After": str(retry_after)},
        )


def body_hash(report: FeedbackIn) -> str:
    canonical = json.dumps(report.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check(report: FeedbackIn, published: Published | None, languages: list[str]) -> None:
    """Refuse a report that names something its release does not have."""
    errors = []
    if report.language not in languages:
        errors.append(ErrorDetail(f"unknown language {report.language!r}", "body.language"))
    if published is None:
        errors.append(
            ErrorDetail(f"there is no release v{report.release_version}", "body.release_version")
        )
    elif report.role not in published.roles:
        errors.append(ErrorDetail(f"unknown role {report.role!r}", "body.role"))
    elif report.practice not in published.practices:
        errors.append(ErrorDetail(f"unknown practice {report.practice!r}", "body.practice"))
    elif report.item_id is not None:
        items = published.practices[report.practice].checklists.get(report.role, [])
        if report.item_id not in {item.id for item in items}:
            errors.append(
                ErrorDetail(
                    f"no item {report.item_id!r} in the {report.role} checklist of "
                    f"{report.practice!r} in v{report.release_version}",
                    "body.item_id",
                )
            )
    if errors:
        raise Unprocessable(errors)


@dataclass(frozen=True)
class Outcome:
    """What became of one report: stored (created or found again) or refused."""

    data: Any
    record: FeedbackOut | None = None
    created: bool = False
    error: AppError | None = None


def parse(data: Any) -> FeedbackIn:
    try:
        return FeedbackIn.model_validate(data)
    except ValidationError as exc:
        raise Unprocessable(
            [
                ErrorDetail(error["msg"], ".".join(["body", *map(str, error["loc"])]))
                for error in exc.errors()
            ]
        ) from exc


def stage(
    session: Session,
    reports: list[Any],
    *,
    client: str,
    secret: str,
    limit: int,
    release: Callable[[int], Published | None],
    languages: list[str],
) -> list[Outcome]:
    """Count the client's allowance, then check and store each report, in the caller's
    transaction: nothing is stored, and no answer may be given, before the caller commits.

    A report already stored with the same body is found again, not stored twice.
    """
    retry_after = take_allowance(
        session, client=client, secret=secret, limit=limit, cost=len(reports)
    )
    if retry_after is not None:
        raise TooManyRequests(retry_after)  # the refused requests are counted all the same
    outcomes = []
    for data in reports:
        try:
            report = parse(data)
            check(report, release(report.release_version), languages)
            row, created = _store(session, report)
            outcomes.append(Outcome(data, record=to_out(row), created=created))
        except AppError as error:
            outcomes.append(Outcome(data, error=error))
    return outcomes


# Statements built once: intake is the hottest write path, and building a statement costs
# more than running it.
_FEEDBACK = Feedback.__table__  # type: ignore[attr-defined]
_RATE = RateLimit.__table__  # type: ignore[attr-defined]
_INSERT = {
    "postgresql": postgresql_insert(_FEEDBACK)
    .on_conflict_do_nothing(index_elements=["id"])
    .returning(_FEEDBACK.c.id),
    "sqlite": sqlite_insert(_FEEDBACK)
    .on_conflict_do_nothing(index_elements=["id"])
    .returning(_FEEDBACK.c.id),
}
_COUNT = (
    update(_RATE)
    .where(_RATE.c.key == bindparam("rate_key"))
    .values(count=_RATE.c.count + bindparam("cost"))
    .returning(_RATE.c.count)
)
_OPEN_WINDOW = {
    name: insert(_RATE).on_conflict_do_nothing(index_elements=["key"])
    for name, insert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}
_FORGET = delete(_RATE).where(_RATE.c.window_start < bindparam("before"))


def _store(session: Session, report: FeedbackIn) -> tuple[Feedback, bool]:
    """Insert the report unless its id is stored already; a report sent twice at once is
    inserted by one and found by the other."""
    digest = body_hash(report)
    row = Feedback(**report.model_dump(), body_hash=digest, received_at=utcnow())
    connection = session.connection()
    inserted = connection.execute(_INSERT[connection.dialect.name], row.model_dump()).first()
    if inserted is not None:
        return row, True
    existing = session.get(Feedback, report.id)
    if existing is None:  # pragma: no cover - the conflicting row cannot vanish
        raise RuntimeError(f"report {report.id} conflicted but is not stored")
    return _same(existing, digest), False


def _same(existing: Feedback, digest: str) -> Feedback:
    if existing.body_hash != digest:
        raise Conflict(
            f"A different report with the id {existing.id} was received already; "
            "a changed report needs a new id."
        )
    return existing


def take_allowance(
    session: Session, *, client: str, secret: str, limit: int, cost: int = 1
) -> int | None:
    """Count `cost` requests for `client` this minute, in the caller's transaction.

    Return the seconds to wait when the client is past `limit`, else None.
    """
    now = utcnow()
    window = now.replace(second=0, microsecond=0)
    key = hmac.new(
        secret.encode(), f"{client}|{window.isoformat()}".encode(), hashlib.sha256
    ).hexdigest()
    connection = session.connection()
    count = connection.execute(_COUNT, {"rate_key": key, "cost": cost}).scalar()
    if count is None:  # the first request of this client in this minute
        connection.execute(_FORGET, {"before": window - timedelta(minutes=1)})
        values = {"key": key, "window_start": window, "count": 0}
        connection.execute(_OPEN_WINDOW[connection.dialect.name], values)
        count = connection.execute(_COUNT, {"rate_key": key, "cost": cost}).scalar() or cost
    return 60 - now.second if count > limit else None


def to_out(row: Feedback) -> FeedbackOut:
    return FeedbackOut.model_validate(row, from_attributes=True)
