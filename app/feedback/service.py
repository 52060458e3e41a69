"""Field reports: checked against the release they were written on, stored exactly once."""

import hashlib
import hmac
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
from pydantic_core import to_json
from sqlalchemy import JSON, Connection, Text, bindparam, cast, column, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

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

    @field_validator("comment", "post", "contact", "role", "practice", "item_id", "language")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        # PostgreSQL cannot keep it in text, so neither database is given it.
        if value is not None and "\x00" in value:
            raise ValueError("must not contain the NUL character (\\u0000)")
        return value


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


_OUT_FIELDS = tuple(FeedbackOut.model_fields)


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
    """A digest of the report as parsed: fields in the model's order, times in UTC, text
    stripped; so a retry that differs only in spacing or key order is the same report."""
    return hashlib.sha256(report.model_dump_json().encode()).hexdigest()


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


@dataclass
class Submission:
    """One request's reports from one client, each checked or refused before any is stored."""

    client: str
    reports: list[Any]
    checked: list[tuple[FeedbackIn, str] | AppError]


def submission(
    reports: list[Any],
    *,
    client: str,
    release: Callable[[int], Published | None],
    languages: list[str],
) -> Submission:
    """Parse and check each report, and hash the ones that pass: the work done outside the
    write transaction, so that the transaction itself is short."""
    checked: list[tuple[FeedbackIn, str] | AppError] = []
    for data in reports:
        try:
            report = parse(data)
            check(report, release(report.release_version), languages)
            checked.append((report, body_hash(report)))
        except AppError as error:
            checked.append(error)
    return Submission(client, reports, checked)


def store(
    connection: Connection, submissions: list[Submission], *, secret: str, limit: int
) -> list[list[Outcome] | AppError]:
    """Count each client's allowance, then store every admitted report whose id is new, in the
    caller's transaction: nothing is stored, and no answer may be given, before it commits.

    A report already stored, or sent earlier in the same call, is found again: the same body is
    answered as stored, a different body is a conflict.
    """
    admitted = _admit(connection, submissions, secret=secret, limit=limit)
    received_at = utcnow()
    first: dict[uuid.UUID, dict[str, Any]] = {}
    for sub, refusal in zip(submissions, admitted, strict=True):
        if refusal is None:
            for checked in sub.checked:
                if not isinstance(checked, AppError) and checked[0].id not in first:
                    report, digest = checked
                    first[report.id] = {
                        **report.model_dump(),
                        "body_hash": digest,
                        "received_at": received_at,
                        "status": "new",
                    }
    inserted: set[uuid.UUID] = set()
    if first:
        inserted = _insert(connection, list(first.values()))
    found = {row["id"]: row for row in _stored(connection, [i for i in first if i not in inserted])}
    rows = {**found, **{i: first[i] for i in inserted}}

    answers: list[list[Outcome] | AppError] = []
    created: set[uuid.UUID] = set()
    for sub, refusal in zip(submissions, admitted, strict=True):
        if refusal is not None:
            answers.append(refusal)
            continue
        outcomes = []
        for data, checked in zip(sub.reports, sub.checked, strict=True):
            if isinstance(checked, AppError):
                outcomes.append(Outcome(data, error=checked))
                continue
            report, digest = checked
            row = rows[report.id]
            if row["body_hash"] != digest:
                outcomes.append(Outcome(data, error=_conflict(report.id)))
                continue
            new = report.id in inserted and report.id not in created
            created.add(report.id)
            record = FeedbackOut.model_validate({k: row[k] for k in _OUT_FIELDS})
            outcomes.append(Outcome(data, record=record, created=new))
        answers.append(outcomes)
    return answers


def _insert(connection: Connection, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert the rows whose id is new; return the ids inserted."""
    if connection.dialect.name == "postgresql":
        reports = to_json([{name: row[name] for name in _INSERTED} for row in rows]).decode()
        return set(connection.execute(_INSERT_ON_POSTGRESQL, {"reports": reports}).scalars())
    return set(connection.execute(_INSERT_ON_SQLITE, rows).scalars())


def _stored(connection: Connection, ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    if not ids:
        return []
    return [dict(row) for row in connection.execute(_SELECT, {"ids": ids}).mappings()]


def _conflict(report_id: uuid.UUID) -> Conflict:
    return Conflict(
        f"A different report with the id {report_id} was received already; "
        "a changed report needs a new id."
    )


def _admit(
    connection: Connection, submissions: list[Submission], *, secret: str, limit: int
) -> list[TooManyRequests | None]:
    """Count every submission against its client's allowance, one statement per client: a
    submission that takes the count past `limit` is refused, and counted all the same."""
    costs: dict[str, int] = {}
    for sub in submissions:
        costs[sub.client] = costs.get(sub.client, 0) + len(sub.reports)
    counts = {}
    for client, cost in costs.items():
        after, retry_after = take_allowance(
            connection, client=client, secret=secret, limit=limit, cost=cost
        )
        counts[client] = (after - cost, retry_after)
    admitted: list[TooManyRequests | None] = []
    for sub in submissions:
        count, retry_after = counts[sub.client]
        count += len(sub.reports)
        counts[sub.client] = (count, retry_after)
        admitted.append(TooManyRequests(retry_after) if count > limit else None)
    return admitted


# Statements built once: intake is the hottest write path, and building a statement costs
# more than running it.
_FEEDBACK = Feedback.__table__  # type: ignore[attr-defined]
_RATE = RateLimit.__table__  # type: ignore[attr-defined]
_INSERTED = [*FeedbackIn.model_fields, "body_hash", "received_at", "status"]
_INSERT_ON_SQLITE = (
    sqlite_insert(_FEEDBACK).on_conflict_do_nothing(index_elements=["id"]).returning(_FEEDBACK.c.id)
)
# On PostgreSQL the rows travel as one JSON array, unpacked by the server: the statement is the
# same whatever their number, so it is prepared once, and the driver has no rows to adapt.
_REPORTS = (
    func.json_to_recordset(cast(bindparam("reports", type_=Text), JSON))
    .table_valued(*(column(name, _FEEDBACK.c[name].type) for name in _INSERTED))
    .render_derived(name="report", with_types=True)
)
_INSERT_ON_POSTGRESQL = (
    postgresql_insert(_FEEDBACK)
    .from_select(_INSERTED, select(_REPORTS))
    .on_conflict_do_nothing(index_elements=["id"])
    .returning(_FEEDBACK.c.id)
)
_SELECT = select(_FEEDBACK).where(_FEEDBACK.c.id.in_(bindparam("ids", expanding=True)))
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


def take_allowance(
    connection: Connection, *, client: str, secret: str, limit: int, cost: int = 1
) -> tuple[int, int]:
    """Count `cost` requests for `client` this minute, in the caller's transaction.

    Return the count so far, and the seconds until the count starts again.
    """
    now = utcnow()
    window = now.replace(second=0, microsecond=0)
    key = hmac.new(
        secret.encode(), f"{client}|{window.isoformat()}".encode(), hashlib.sha256
    ).hexdigest()
    count = connection.execute(_COUNT, {"rate_key": key, "cost": cost}).scalar()
    if count is None:  # the first request of this client in this minute
        connection.execute(_FORGET, {"before": window - timedelta(minutes=1)})
        values = {"key": key, "window_start": window, "count": 0}
        connection.execute(_OPEN_WINDOW[connection.dialect.name], values)
        count = connection.execute(_COUNT, {"rate_key": key, "cost": cost}).scalar() or cost
    return count, 60 - now.second
