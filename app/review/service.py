"""The supervisor's review of field feedback: filter, count, triage, chart and export reports."""

import csv
import io
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Engine, func, literal_column, union_all, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.auth.models import User
from app.content.published import Published
from app.content.schema import Item
from app.db import begin_write
from app.errors import AppError, Conflict, ErrorDetail, NotFound
from app.feedback.models import KINDS, Feedback
from app.review.models import STATUSES, TriageEvent

PER_PAGE = 50
PROBLEM_KINDS = ("unclear", "incorrect", "missing", "not_applicable")
# "problem" stands for every problem kind at once: what the charts count.
KIND_CHOICES = (*KINDS, "problem")
SORTS: dict[str, tuple[ColumnElement[Any], ...]] = {
    "newest": (col(Feedback.received_at).desc(), col(Feedback.id).desc()),
    "oldest": (col(Feedback.received_at).asc(), col(Feedback.id).asc()),
    "kind": (col(Feedback.kind).asc(), col(Feedback.received_at).desc()),
    "status": (col(Feedback.status).asc(), col(Feedback.received_at).desc()),
    "practice": (col(Feedback.practice).asc(), col(Feedback.received_at).desc()),
}
MAX_WORDS = 8
MAX_NUMBER = 2**31 - 1  # the largest a database integer column holds
EXPORT_CHUNK = 1000
EXPORT_COLUMNS = (
    "id",
    "received_at",
    "created_at",
    "status",
    "kind",
    "role",
    "practice",
    "item_id",
    "release_version",
    "language",
    "post",
    "contact",
    "comment",
    "resolved_in",
)
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Filters:
    """What the inbox, the charts and the exports are narrowed to: the inbox's query string."""

    role: str = ""
    practice: str = ""
    item: str = ""
    kind: str = ""
    status: str = ""
    post: str = ""
    language: str = ""
    version: int | None = None
    resolved_in: int | None = None
    received_from: date | None = None
    received_to: date | None = None
    q: str = ""
    sort: str = "newest"
    page: int = 1

    def params(self, **changes: Any) -> dict[str, str]:
        """The query parameters that give these filters (with `changes`), defaults left out."""
        current = replace(self, **changes)
        default = Filters()
        out: dict[str, str] = {}
        for field in fields(self):
            value = getattr(current, field.name)
            if value == getattr(default, field.name) or value is None:
                continue
            name = {"received_from": "from", "received_to": "to"}.get(field.name, field.name)
            out[name] = value.isoformat() if isinstance(value, date) else str(value)
        return out

    def query(self, **changes: Any) -> str:
        params = self.params(**changes)
        return "?" + urlencode(params) if params else ""

    def described(self) -> str:
        """The filters that narrow the reports, for an audit entry."""
        params = self.params(sort="newest", page=1)
        return urlencode(params) or "all reports"

    @property
    def narrowed(self) -> bool:
        return bool(self.params(sort="newest", page=1))


def _text(params: Mapping[str, str], name: str, limit: int) -> str:
    return params.get(name, "").strip()[:limit]


def filters_from(params: Mapping[str, str]) -> Filters:
    """Read filters from a query string; refuse values that name nothing, saying which."""
    errors: list[ErrorDetail] = []

    def choice(name: str, allowed: tuple[str, ...]) -> str:
        value = _text(params, name, 40)
        if value and value not in allowed:
            errors.append(ErrorDetail(f"choose one of {', '.join(allowed)}", name))
            return ""
        return value

    def number(name: str, minimum: int, default: int | None) -> int | None:
        value = _text(params, name, 12)
        if not value:
            return default
        if not value.isdigit() or not minimum <= int(value) <= MAX_NUMBER:
            errors.append(
                ErrorDetail(f"must be a whole number from {minimum} to {MAX_NUMBER}", name)
            )
            return default
        return int(value)

    def day(name: str) -> date | None:
        value = _text(params, name, 12)
        if not value:
            return None
        try:
            when = date.fromisoformat(value)
        except ValueError:
            errors.append(ErrorDetail("must be a date written YYYY-MM-DD", name))
            return None
        if when >= date.max:  # the day after it, where the range ends, has no date
            errors.append(ErrorDetail(f"must be before {date.max.isoformat()}", name))
            return None
        return when

    filters = Filters(
        role=_text(params, "role", 80),
        practice=_text(params, "practice", 80),
        item=_text(params, "item", 80),
        kind=choice("kind", KIND_CHOICES),
        status=choice("status", STATUSES),
        post=_text(params, "post", 100),
        language=_text(params, "language", 20),
        version=number("version", 1, None),
        resolved_in=number("resolved_in", 1, None),
        received_from=day("from"),
        received_to=day("to"),
        q=" ".join(_text(params, "q", 200).split()[:MAX_WORDS]),
        sort=choice("sort", tuple(SORTS)) or "newest",
        page=number("page", 1, 1) or 1,
    )
    if (
        filters.received_from
        and filters.received_to
        and filters.received_from > filters.received_to
    ):
        errors.append(ErrorDetail("must not be before the 'from' date", "to"))
    if errors:
        summary = "; ".join(str(error) for error in errors)
        raise AppError(f"Some filters are not valid: {summary}.", 422, errors)
    return filters


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def conditions(filters: Filters, dialect: str = "sqlite") -> list[ColumnElement[bool]]:
    """The WHERE clause of the filters: equal matches, so that indexes serve them, and words."""
    where: list[ColumnElement[bool]] = []
    for value, column in (
        (filters.role, Feedback.role),
        (filters.practice, Feedback.practice),
        (filters.item, Feedback.item_id),
        (filters.status, Feedback.status),
        (filters.post, Feedback.post),
        (filters.language, Feedback.language),
    ):
        if value:
            where.append(col(column) == value)
    if filters.kind == "problem":
        where.append(col(Feedback.kind).in_(PROBLEM_KINDS))
    elif filters.kind:
        where.append(col(Feedback.kind) == filters.kind)
    if filters.version is not None:
        where.append(col(Feedback.release_version) == filters.version)
    if filters.resolved_in is not None:
        where.append(col(Feedback.resolved_in) == filters.resolved_in)
    if filters.received_from:
        where.append(col(Feedback.received_at) >= _start_of(filters.received_from))
    if filters.received_to:
        where.append(col(Feedback.received_at) < _start_of(filters.received_to + timedelta(days=1)))
    for word in filters.q.split():
        # % and _ are escaped so that a word matches only itself. SQLite's LIKE already ignores
        # case (for ASCII letters, as its lower() does): lowering every comment costs 3 times
        # as much. PostgreSQL's ILIKE ignores case in every alphabet.
        escaped = word.replace("/", "//").replace("%", "/%").replace("_", "/_")
        comment = col(Feedback.comment)
        pattern = f"%{escaped}%"
        where.append(
            comment.like(pattern, escape="/")
            if dialect == "sqlite"
            else comment.ilike(pattern, escape="/")
        )
    return where


def _where(session: Session, filters: Filters) -> list[ColumnElement[bool]]:
    return conditions(filters, session.get_bind().dialect.name)


@dataclass(frozen=True)
class InboxPage:
    reports: list[Feedback]
    total: int
    filters: Filters

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PER_PAGE))


def count(session: Session, filters: Filters) -> int:
    return session.exec(
        select(func.count()).select_from(Feedback).where(*_where(session, filters))
    ).one()


def inbox(session: Session, filters: Filters) -> InboxPage:
    """One page of reports, sorted, and how many reports the filters hold in all."""
    total = count(session, filters)
    rows = session.exec(
        select(Feedback)
        .where(*_where(session, filters))
        .order_by(*SORTS[filters.sort])
        .offset((filters.page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    ).all()
    return InboxPage(list(rows), total, filters)


def parse_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("There is no report with this id.") from None


def get_report(session: Session, report_id: uuid.UUID) -> Feedback:
    report = session.get(Feedback, report_id)
    if report is None:
        raise NotFound("There is no report with this id.")
    return report


def history(session: Session, report_id: uuid.UUID) -> list[TriageEvent]:
    return list(
        session.exec(
            select(TriageEvent)
            .where(TriageEvent.feedback_id == report_id)
            .order_by(col(TriageEvent.at), col(TriageEvent.id))
        ).all()
    )


def check_status(to_status: str) -> str:
    if to_status not in STATUSES:
        raise AppError(
            f"Unknown status {to_status!r}: choose one of {', '.join(STATUSES)}.",
            422,
            [ErrorDetail("unknown status", "to_status")],
        )
    return to_status


def _record_change(
    session: Session,
    report: Feedback,
    to_status: str,
    note: str,
    actor: User,
    resolved_in: int | None = None,
) -> TriageEvent | None:
    """Change the status if nobody changed it since it was read, with its history and audit
    entry; return None, having changed nothing, if somebody did."""
    from_status = report.status
    # A report a supervisor moves on is no longer the work of the release that resolved it.
    changed = session.execute(
        update(Feedback)
        .where(col(Feedback.id) == report.id, col(Feedback.status) == from_status)
        .values(status=to_status, resolved_in=resolved_in)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    event = TriageEvent(
        feedback_id=report.id,
        actor_id=actor.id,
        actor_email=actor.email,
        from_status=from_status,
        to_status=to_status,
        note=note,
    )
    session.add(event)
    detail = f"{from_status} -> {to_status}" + (f": {note}" if note else "")
    audit.record(session, actor=actor, action="triage", target=str(report.id), detail=detail)
    return event


def _change(
    session: Session, report: Feedback, to_status: str, note: str, actor: User
) -> TriageEvent:
    # Only if nobody changed it since it was read: two supervisors never both "win".
    event = _record_change(session, report, to_status, note, actor)
    if event is None:
        session.rollback()
        raise Conflict("Someone changed this report meanwhile. Reload the page and try again.")
    return event


def _check_seen(report: Feedback, seen: str | None) -> None:
    """Refuse a change made on a page that showed another status than the report has now."""
    if seen and report.status != seen:
        raise Conflict(
            f"Someone changed this report from {seen} to {report.status} since you opened the "
            "page; nothing was changed. Reload the page and decide again."
        )


def triage(
    session: Session,
    *,
    report_id: uuid.UUID,
    to_status: str,
    note: str,
    actor: User,
    seen: str | None = None,
) -> TriageEvent:
    """Set a report's status, adding it to its history and to the audit log. `seen` is the
    status the supervisor's page showed: if the report has another by now, nothing changes."""
    check_status(to_status)
    begin_write(session)
    report = get_report(session, report_id)
    _check_seen(report, seen)
    if report.status == to_status:
        raise Conflict(f"This report is already {to_status}: choose another status.")
    event = _change(session, report, to_status, note.strip(), actor)
    session.commit()
    session.refresh(event)
    return event


MAX_BULK = 500


def form_ids(values: list[str], field: str) -> list[uuid.UUID]:
    """Report ids sent by a form; a malformed one is refused, naming the field."""
    try:
        return [uuid.UUID(value) for value in values]
    except ValueError:
        raise AppError(
            "A selected report id is not valid; reload the page and select again.",
            422,
            [ErrorDetail("not a report id", field)],
        ) from None


def triage_many(
    session: Session,
    *,
    report_ids: list[str],
    to_status: str,
    note: str,
    actor: User,
    seen: Mapping[uuid.UUID, str] | None = None,
) -> tuple[int, int]:
    """Set the status of every selected report at once; return (changed, already so).

    `seen` maps a report to the status the page showed: if any has changed since, nothing does.
    """
    check_status(to_status)
    if not report_ids:
        raise AppError(
            "Select at least one report.", 422, [ErrorDetail("select at least one report", "id")]
        )
    if len(report_ids) > MAX_BULK:
        raise AppError(f"Select at most {MAX_BULK} reports at a time.", 422)
    ids = set(form_ids(report_ids, "id"))
    begin_write(session)
    reports = session.exec(select(Feedback).where(col(Feedback.id).in_(ids))).all()
    if len(reports) != len(ids):
        raise NotFound("Some of the selected reports do not exist.")
    for report in reports:
        _check_seen(report, (seen or {}).get(report.id))
    changed = 0
    for report in reports:
        if report.status != to_status:
            _change(session, report, to_status, note.strip(), actor)
            changed += 1
    session.commit()
    return changed, len(reports) - changed


# The feedback loop: what the next release may resolve, and resolving it on publication

OPEN_STATUSES = ("new", "acknowledged", "forwarded")
CLOSED_STATUSES = ("resolved", "dismissed")
OPEN_PER_PLACE = 20

Place = tuple[str, str, str | None]  # (role, practice, item_id); no item: the whole checklist


@dataclass(frozen=True)
class OpenFeedback:
    reports: list[Feedback]  # newest first, at most OPEN_PER_PLACE
    total: int  # every open report on this place


def open_feedback(session: Session, practice_id: str | None = None) -> dict[Place, OpenFeedback]:
    """The open reports on each checklist item and whole checklist, newest first.

    One statement. The open reports are read first, through the status index, and kept apart
    (MATERIALIZED): a window over the whole table would let SQLite, once it has statistics,
    walk the (role, practice, item_id) index across every resolved and dismissed report to
    save a sort. Triage keeps the open reports few next to those, so the window then sorts the
    few; it ranks and counts each place's, and only the first OPEN_PER_PLACE of each leave the
    database. A query per place would cost a round trip per item of the guidance.
    """
    where: list[ColumnElement[bool]] = [col(Feedback.status).in_(OPEN_STATUSES)]
    if practice_id is not None:
        where.append(col(Feedback.practice) == practice_id)
    opened = select(Feedback).where(*where).cte("open_report").prefix_with("MATERIALIZED")
    place = (opened.c.role, opened.c.practice, opened.c.item_id)
    ranked = select(  # type: ignore[call-overload]
        opened,
        func.row_number()
        .over(partition_by=place, order_by=(opened.c.received_at.desc(), opened.c.id.desc()))
        .label("rank"),
        func.count().over(partition_by=place).label("total"),
    ).subquery()
    report = aliased(Feedback, ranked)
    rows = session.exec(
        select(report, ranked.c.total)  # type: ignore[call-overload]
        .where(ranked.c.rank <= OPEN_PER_PLACE)
        .order_by(ranked.c.role, ranked.c.practice, ranked.c.item_id, ranked.c.rank)
    ).all()
    found: dict[Place, OpenFeedback] = {}
    for row, total in rows:
        key = (row.role, row.practice, row.item_id)
        found.setdefault(key, OpenFeedback([], total)).reports.append(row)
    # The whole checklist before its items on both databases (they sort NULL apart).
    return dict(sorted(found.items(), key=lambda pair: _place_order(pair[0])))


def _place_order(place: Place) -> tuple[str, str, bool, str]:
    role, practice, item_id = place
    return role, practice, item_id is not None, item_id or ""


def resolve_in_release(
    session: Session, *, report_ids: list[uuid.UUID], version: int, actor: User, note: str = ""
) -> int:
    """Mark the listed open reports resolved by release `version`, in the caller's transaction.

    Reports already resolved or dismissed are left as they are; return how many were resolved.
    Nothing is committed: publishing the release and resolving its reports are one write.
    """
    ids = set(report_ids)
    if not ids:
        return 0
    reports = session.exec(
        select(Feedback).where(col(Feedback.id).in_(ids)).order_by(col(Feedback.id))
    ).all()
    if missing := ids - {report.id for report in reports}:
        named = ", ".join(sorted(str(report_id) for report_id in missing))
        raise NotFound(f"There is no report with the id {named}; nothing was resolved.")
    text = f"Resolved in v{version}" + (f": {note.strip()}" if note.strip() else "")
    resolved = 0
    # In the order of their ids, so that two writers lock the rows in the same order.
    for report in reports:
        if report.status in CLOSED_STATUSES:
            continue
        if _record_change(session, report, "resolved", text, actor, resolved_in=version) is None:
            raise Conflict(
                f"Someone changed report {report.id} while it was being resolved in "
                f"v{version}; nothing was changed. Try again."
            )
        resolved += 1
    return resolved


def item_in(published: Published | None, report: Feedback) -> Item | None:
    """The checklist item the report is about, as the release the officer read showed it."""
    if published is None or report.item_id is None:
        return None
    practice = published.practices.get(report.practice)
    if practice is None:
        return None
    for item in practice.checklists.get(report.role, []):
        if item.id == report.item_id:
            return item
    return None


# Charts


@dataclass(frozen=True)
class Counted:
    key: tuple[str, ...]
    count: int


@dataclass(frozen=True)
class ChartCounts:
    per_practice_and_role: list[Counted]  # key (practice, role)
    top_problem_items: list[Counted]  # key (role, practice, item_id)
    per_week: list[tuple[date, int]]  # (Monday, reports), empty weeks included


MAX_WEEKS = 104


def chart_counts(session: Session, filters: Filters) -> ChartCounts:
    """What the charts draw, in two passes over indexes whatever the number of reports."""
    where = _where(session, filters)
    # One scan of the (role, practice, item_id, kind) index gives both the practice and role
    # totals and the items with most problems: a few thousand groups, folded here.
    rows = session.exec(
        select(Feedback.role, Feedback.practice, Feedback.item_id, Feedback.kind, func.count())  # type: ignore[call-overload]
        .where(*where)
        .group_by(
            col(Feedback.role), col(Feedback.practice), col(Feedback.item_id), col(Feedback.kind)
        )
    ).all()
    places: dict[tuple[str, str], int] = {}
    problems: dict[tuple[str, str, str], int] = {}
    for role, practice, item_id, kind, n in rows:
        places[(practice, role)] = places.get((practice, role), 0) + n
        if item_id is not None and kind in PROBLEM_KINDS:
            key = (role, practice, item_id)
            problems[key] = problems.get(key, 0) + n
    top = sorted(problems.items(), key=lambda pair: (-pair[1], pair[0]))[:10]
    return ChartCounts(
        per_practice_and_role=[Counted(key, n) for key, n in sorted(places.items())],
        top_problem_items=[Counted(key, n) for key, n in top],
        per_week=per_week(session, filters),
    )


def per_week(session: Session, filters: Filters) -> list[tuple[date, int]]:
    """Reports per ISO week (Monday first) from the first report to the last, empty weeks too."""
    where = _where(session, filters)
    # Apart, min() and max() each read one end of the received_at index; together, every row.
    first = session.exec(select(func.min(Feedback.received_at)).where(*where)).one()
    last = session.exec(select(func.max(Feedback.received_at)).where(*where)).one()
    if first is None or last is None:
        return []
    first_monday = first.date() - timedelta(days=first.date().weekday())
    span = (last.date() - first_monday).days // 7 + 1
    mondays = [first_monday + timedelta(weeks=n) for n in range(span)][-MAX_WEEKS:]
    dates_only = not replace(filters, received_from=None, received_to=None).narrowed
    found = (
        _weeks_by_range(session, where, mondays) if dates_only else _weeks_by_day(session, where)
    )
    return [(monday, found.get(monday, 0)) for monday in mondays]


def _weeks_by_range(
    session: Session, where: list[ColumnElement[bool]], mondays: list[date]
) -> dict[date, int]:
    """One range count per week on the received_at index, in one statement: grouping by a
    computed week would sort every row instead."""
    counts: list[Any] = [
        select(literal_column(str(n)).label("week"), func.count().label("n"))
        .select_from(Feedback)
        .where(
            *where,
            col(Feedback.received_at) >= _start_of(monday),
            col(Feedback.received_at) < _start_of(monday + timedelta(weeks=1)),
        )
        for n, monday in enumerate(mondays)
    ]
    rows = session.exec(union_all(*counts)).all()  # type: ignore[call-overload]
    return {mondays[int(n)]: count for n, count in rows}


def _weeks_by_day(session: Session, where: list[ColumnElement[bool]]) -> dict[date, int]:
    """Reports per day in one pass over the reports the other filters pick, folded into weeks:
    a range count per week would walk those reports once per week."""
    day = _day(session).label("day")
    rows = session.exec(
        select(day, func.count()).where(*where).group_by(day)  # type: ignore[call-overload]
    ).all()
    weeks: dict[date, int] = {}
    for text, n in rows:
        when = date.fromisoformat(text)
        monday = when - timedelta(days=when.weekday())
        weeks[monday] = weeks.get(monday, 0) + n
    return weeks


def _day(session: Session) -> ColumnElement[str]:
    """The UTC day a report came in, as YYYY-MM-DD."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite keeps the UTC time as text "YYYY-MM-DD HH:MM:SS.ffffff": the day is its start.
        return func.substr(Feedback.received_at, 1, 10)
    return func.to_char(func.timezone("UTC", Feedback.received_at), literal_column("'YYYY-MM-DD'"))


# Export


def record_export(session: Session, *, actor: User, filters: Filters, format: str) -> None:
    audit.record(
        session,
        actor=actor,
        action="export",
        target=f"feedback.{format}",
        detail=f"format={format} {filters.described()}",
    )
    session.commit()


def _rows(engine: Engine, filters: Filters) -> Iterator[list[dict[str, Any]]]:
    """Every report under the filters, oldest first, in lists of EXPORT_CHUNK.

    One query read as it goes (a server-side cursor on PostgreSQL): one consistent snapshot,
    and never more than a chunk in memory.
    """
    columns = [getattr(Feedback, name) for name in EXPORT_COLUMNS]
    query = (
        select(*columns)  # type: ignore[call-overload]
        .where(*conditions(filters, engine.dialect.name))
        .order_by(col(Feedback.received_at), col(Feedback.id))
        .execution_options(yield_per=EXPORT_CHUNK)
    )
    with Session(engine) as session:
        result = session.exec(query)
        for chunk in result.partitions():
            yield [dict(zip(EXPORT_COLUMNS, row, strict=True)) for row in chunk]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def export_csv(engine: Engine, filters: Filters) -> Iterator[bytes]:
    """The reports as CSV in UTF-8 with a byte order mark (so spreadsheets read it as UTF-8)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(EXPORT_COLUMNS)
    yield buffer.getvalue().encode()
    for chunk in _rows(engine, filters):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([_cell(row[name]) for name in EXPORT_COLUMNS] for row in chunk)
        yield buffer.getvalue().encode()


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def export_json(engine: Engine, filters: Filters, exported_at: datetime) -> Iterator[bytes]:
    """The reports as one JSON object {"exported_at", "filters", "reports": [...]}, streamed."""
    head = {
        "exported_at": exported_at.isoformat(),
        "filters": filters.params(sort="newest", page=1),
    }
    yield (json.dumps(head, ensure_ascii=False)[:-1] + ', "reports": [').encode()
    first = True
    for chunk in _rows(engine, filters):
        parts = [
            json.dumps({k: _json_value(v) for k, v in row.items()}, ensure_ascii=False)
            for row in chunk
        ]
        text = ",\n".join(parts)
        yield (("\n" if first else ",\n") + text).encode()
        first = False
    yield b"\n]}\n"


def export_filename(format: str, today: date) -> str:
    return f"frontline-feedback-{today.isoformat()}.{format}"
