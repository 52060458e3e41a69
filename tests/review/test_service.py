import uuid
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import bindparam, text
from sqlmodel import Session, col, func, select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.db import UTCDateTime
from app.errors import AppError, Conflict, NotFound
from app.feedback.models import Feedback
from app.review import service as review
from app.review.models import TriageEvent
from tests.review.conftest import START, report, store


def sql_count(session: Session, where: str, **params: object) -> int:
    """The count the filters must give, written by hand."""
    statement = text(f"SELECT count(*) FROM feedback WHERE {where}")
    for name, value in params.items():
        if isinstance(value, str):
            statement = statement.bindparams(bindparam(name, value))
        else:
            statement = statement.bindparams(bindparam(name, value, type_=UTCDateTime))
    return int(session.execute(statement).scalar_one())


CASES = [
    ({}, "1 = 1", {}),
    ({"role": "licensing"}, "role = :v", {"v": "licensing"}),
    ({"practice": "enforcement"}, "practice = :v", {"v": "enforcement"}),
    ({"item": "customs-know-legal-powers"}, "item_id = :v", {"v": "customs-know-legal-powers"}),
    ({"kind": "missing"}, "kind = :v", {"v": "missing"}),
    (
        {"kind": "problem"},
        "kind IN ('unclear', 'incorrect', 'missing', 'not_applicable')",
        {},
    ),
    ({"status": "resolved"}, "status = :v", {"v": "resolved"}),
    ({"post": "North"}, "post = :v", {"v": "North"}),
    ({"language": "ar"}, "language = :v", {"v": "ar"}),
    ({"version": "2"}, "release_version = 2", {}),
    (
        {"from": "2026-03-10", "to": "2026-03-20"},
        "received_at >= :a AND received_at < :b",
        {"a": review._start_of(date(2026, 3, 10)), "b": review._start_of(date(2026, 3, 21))},
    ),
    ({"q": "border"}, "lower(comment) LIKE '%border%'", {}),
    (
        {"q": "Crossing  BORDER"},
        "lower(comment) LIKE '%crossing%' AND lower(comment) LIKE '%border%'",
        {},
    ),
    ({"q": "100%"}, "comment LIKE '%100!%%' ESCAPE '!'", {}),
    ({"q": "50_percent"}, "comment LIKE '%50!_percent%' ESCAPE '!'", {}),
    ({"q": "0_p"}, "comment LIKE '%0!_p%' ESCAPE '!'", {}),
    ({"q": "مكتب"}, "comment LIKE '%مكتب%'", {}),
    (
        {"role": "customs", "kind": "unclear", "status": "new"},
        "role = 'customs' AND kind = 'unclear' AND status = 'new'",
        {},
    ),
]


@pytest.mark.parametrize(("query", "where", "params"), CASES)
def test_each_filter_counts_what_a_direct_count_finds(
    session: Session,
    reports: list[Feedback],
    query: dict[str, str],
    where: str,
    params: dict[str, object],
) -> None:
    filters = review.filters_from(query)

    expected = sql_count(session, where, **params)
    page = review.inbox(session, filters)

    assert review.count(session, filters) == expected
    assert page.total == expected
    assert len(page.reports) == min(expected, review.PER_PAGE)
    assert expected > 0


def test_a_wildcard_is_only_itself(session: Session, reports: list[Feedback]) -> None:
    assert review.count(session, review.filters_from({"q": "%"})) == sql_count(
        session, "comment LIKE '%!%%' ESCAPE '!'"
    )
    assert review.count(session, review.filters_from({"q": "_"})) == sql_count(
        session, "comment LIKE '%!_%' ESCAPE '!'"
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "closed"}, "status"),
        ({"kind": "rude"}, "kind"),
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"version": "-1"}, "version"),
        ({"resolved_in": "0"}, "resolved_in"),
        ({"resolved_in": "v7"}, "resolved_in"),
        ({"sort": "random"}, "sort"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "to"),
    ],
)
def test_a_bad_filter_is_refused_naming_it(query: dict[str, str], field: str) -> None:
    with pytest.raises(AppError) as refused:
        review.filters_from(query)

    assert refused.value.status_code == 422
    assert [error.loc for error in refused.value.errors] == [field]


def test_filters_give_back_the_query_that_made_them() -> None:
    query = {
        "role": "customs",
        "resolved_in": "7",
        "from": "2026-03-01",
        "q": "a b",
        "sort": "kind",
        "page": "2",
    }

    filters = review.filters_from(query)

    assert filters.params() == query
    assert review.filters_from(filters.params()) == filters


def test_pages_are_sorted_and_do_not_overlap(session: Session, reports: list[Feedback]) -> None:
    first = review.inbox(session, review.filters_from({"sort": "oldest"}))
    second = review.inbox(session, review.filters_from({"sort": "oldest", "page": "2"}))

    seen = [r.received_at for r in first.reports + second.reports]
    assert seen == sorted(r.received_at for r in reports)
    assert first.pages == 2
    assert len(second.reports) == 10
    assert {r.id for r in first.reports}.isdisjoint({r.id for r in second.reports})


def test_triage_changes_the_status_and_writes_history_and_audit(
    session: Session, supervisor: User
) -> None:
    [stored] = store(session, report())

    review.triage(
        session, report_id=stored.id, to_status="forwarded", note="Sent to legal", actor=supervisor
    )
    session.rollback()

    assert session.get(Feedback, stored.id).status == "forwarded"  # type: ignore[union-attr]
    [event] = review.history(session, stored.id)
    assert (event.from_status, event.to_status, event.note) == ("new", "forwarded", "Sent to legal")
    assert event.actor_email == supervisor.email
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "triage")).all()
    assert [(a.target, a.detail, a.actor_email) for a in audit] == [
        (str(stored.id), "new -> forwarded: Sent to legal", supervisor.email)
    ]


def test_triage_to_the_same_status_is_refused(session: Session, supervisor: User) -> None:
    [stored] = store(session, report(status="resolved"))

    with pytest.raises(Conflict, match="already resolved"):
        review.triage(session, report_id=stored.id, to_status="resolved", note="", actor=supervisor)
    session.rollback()

    assert session.exec(select(func.count()).select_from(TriageEvent)).one() == 0


def test_triage_to_an_unknown_status_or_report_is_refused(
    session: Session, supervisor: User
) -> None:
    [stored] = store(session, report())

    with pytest.raises(AppError) as unknown_status:
        review.triage(session, report_id=stored.id, to_status="gone", note="", actor=supervisor)
    with pytest.raises(NotFound):
        review.triage(
            session, report_id=uuid.uuid4(), to_status="resolved", note="", actor=supervisor
        )

    assert unknown_status.value.status_code == 422


def test_bulk_triage_changes_each_report_once(session: Session, supervisor: User) -> None:
    stored = store(session, report(), report(), report(status="dismissed"), report())
    chosen = [str(r.id) for r in stored[:3]]

    changed, unchanged = review.triage_many(
        session, report_ids=chosen, to_status="dismissed", note="Duplicate", actor=supervisor
    )
    session.rollback()

    assert (changed, unchanged) == (2, 1)
    statuses = session.exec(select(Feedback.status).order_by(col(Feedback.status))).all()
    assert list(statuses) == ["dismissed", "dismissed", "dismissed", "new"]
    assert session.exec(select(func.count()).select_from(TriageEvent)).one() == 2
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.action == "triage")).all()
    assert len(actions) == 2


def test_bulk_triage_needs_a_selection_of_existing_reports(
    session: Session, supervisor: User
) -> None:
    with pytest.raises(AppError) as nothing:
        review.triage_many(session, report_ids=[], to_status="new", note="", actor=supervisor)
    with pytest.raises(NotFound):
        review.triage_many(
            session, report_ids=[str(uuid.uuid4())], to_status="new", note="", actor=supervisor
        )

    assert nothing.value.status_code == 422


@pytest.mark.parametrize(
    "query", [{}, {"role": "customs"}, {"kind": "missing", "from": "2026-03-09"}, {"q": "border"}]
)
def test_chart_counts_agree_with_the_reports(
    session: Session, reports: list[Feedback], query: dict[str, str]
) -> None:
    filters = review.filters_from(query)
    total = review.count(session, filters)

    counts = review.chart_counts(session, filters)

    assert sum(c.count for c in counts.per_practice_and_role) == total
    assert sum(n for _, n in counts.per_week) == total
    for counted in counts.per_practice_and_role:
        practice, role = counted.key
        narrowed = replace(filters, practice=practice, role=role)
        assert counted.count == review.count(session, narrowed)


def test_reports_per_practice_and_role_match_a_direct_count(
    session: Session, reports: list[Feedback]
) -> None:
    counts = review.chart_counts(session, review.Filters())

    expected = session.execute(
        text("SELECT practice, role, count(*) FROM feedback GROUP BY practice, role")
    ).all()
    assert {c.key: c.count for c in counts.per_practice_and_role} == {
        (practice, role): n for practice, role, n in expected
    }


def test_weeks_start_on_monday_and_keep_empty_weeks(session: Session) -> None:
    store(
        session,
        report(received_at=START.replace(day=4)),  # Wednesday 4 March
        report(received_at=START.replace(day=8, hour=23)),  # Sunday 8 March
        report(received_at=START.replace(day=24)),  # Tuesday 24 March
    )

    weeks = review.per_week(session, review.Filters())

    assert weeks == [
        (date(2026, 3, 2), 2),
        (date(2026, 3, 9), 0),
        (date(2026, 3, 16), 0),
        (date(2026, 3, 23), 1),
    ]


def test_top_items_count_only_problems(session: Session) -> None:
    store(
        session,
        *[report(item_id="a", kind="unclear") for _ in range(3)],
        *[report(item_id="b", kind="missing") for _ in range(2)],
        *[report(item_id="c", kind="worked_well") for _ in range(5)],
        report(item_id=None, kind="incorrect"),
    )

    counts = review.chart_counts(session, review.Filters())

    assert [(c.key[2], c.count) for c in counts.top_problem_items] == [("a", 3), ("b", 2)]
