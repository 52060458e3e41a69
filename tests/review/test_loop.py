"""The feedback loop: open reports per checklist place, resolved by the release that fixes them."""

import csv
import io
import json
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, col, func, select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.errors import NotFound
from app.feedback.models import Feedback
from app.review import service as review
from app.review.models import TriageEvent
from tests.review.conftest import START, report, store

ITEM = ("customs", "legal-framework", "customs-know-legal-powers")
CHECKLIST = ("customs", "legal-framework", None)
OTHER = ("police", "enforcement", "police-seize")
HOUR = timedelta(hours=1)


def at(role: str, practice: str, item_id: str | None, **fields: object) -> Feedback:
    return report(role=role, practice=practice, item_id=item_id, **fields)


def statuses(session: Session) -> dict[uuid.UUID, tuple[str, int | None]]:
    session.rollback()
    rows = session.exec(select(Feedback.id, Feedback.status, Feedback.resolved_in)).all()
    return {report_id: (status, resolved_in) for report_id, status, resolved_in in rows}


def triage_audit(session: Session) -> list[tuple[str, str, str | None]]:
    session.rollback()
    rows = session.exec(
        select(AuditEvent).where(AuditEvent.action == "triage").order_by(col(AuditEvent.id))
    ).all()
    return [(a.target, a.detail, a.actor_email) for a in rows]


def test_open_feedback_groups_by_place_newest_first_and_keeps_twenty(session: Session) -> None:
    on_item = [
        at(*ITEM, status=("new", "acknowledged", "forwarded")[n % 3], received_at=START + n * HOUR)
        for n in range(25)
    ]
    on_checklist = [at(*CHECKLIST, received_at=START + n * HOUR) for n in range(3)]
    closed = [
        at(*ITEM, status="resolved", received_at=START + 100 * HOUR),
        at(*ITEM, status="dismissed", received_at=START + 101 * HOUR),
        at(*OTHER, status="resolved"),
    ]
    store(session, *on_item, *on_checklist, *closed, at(*OTHER, status="forwarded"))

    found = review.open_feedback(session)

    assert list(found) == [CHECKLIST, ITEM, OTHER]
    assert [found[key].total for key in found] == [3, 25, 1]
    newest_first = sorted(on_item, key=lambda r: r.received_at, reverse=True)
    assert [r.id for r in found[ITEM].reports] == [r.id for r in newest_first[:20]]
    assert [r.id for r in found[CHECKLIST].reports] == [r.id for r in reversed(on_checklist)]
    assert [r.status for r in found[OTHER].reports] == ["forwarded"]


def test_open_feedback_narrows_to_one_practice(session: Session) -> None:
    store(session, at(*ITEM), at(*ITEM), at(*CHECKLIST), at(*OTHER), at(*OTHER))

    found = review.open_feedback(session, "enforcement")

    assert list(found) == [OTHER]
    assert (found[OTHER].total, len(found[OTHER].reports)) == (2, 2)
    assert review.open_feedback(session, "no-such-practice") == {}


def test_resolve_in_release_resolves_only_open_reports_with_history_and_audit(
    session: Session, supervisor: User
) -> None:
    stored = store(
        session,
        report(status="new"),
        report(status="acknowledged"),
        report(status="forwarded"),
        report(status="resolved"),
        report(status="dismissed"),
    )
    untouched = store(session, report(status="new"))[0]

    resolved = review.resolve_in_release(
        session,
        report_ids=[r.id for r in stored],
        version=2,
        actor=supervisor,
        note="The powers are now listed",
    )
    session.commit()

    assert resolved == 3
    assert statuses(session) == {
        stored[0].id: ("resolved", 2),
        stored[1].id: ("resolved", 2),
        stored[2].id: ("resolved", 2),
        stored[3].id: ("resolved", None),
        stored[4].id: ("dismissed", None),
        untouched.id: ("new", None),
    }
    note = "Resolved in v2: The powers are now listed"
    for before, stored_report in zip(("new", "acknowledged", "forwarded"), stored, strict=False):
        [event] = review.history(session, stored_report.id)
        assert (event.from_status, event.to_status, event.note) == (before, "resolved", note)
        assert event.actor_email == supervisor.email
    assert review.history(session, stored[3].id) == []
    assert sorted(triage_audit(session)) == sorted(
        (str(r.id), f"{before} -> resolved: {note}", supervisor.email)
        for before, r in zip(("new", "acknowledged", "forwarded"), stored, strict=False)
    )


def test_resolve_in_release_leaves_the_commit_to_its_caller(
    session: Session, supervisor: User
) -> None:
    [stored] = store(session, report())

    resolved = review.resolve_in_release(
        session, report_ids=[stored.id], version=2, actor=supervisor
    )
    session.rollback()

    assert resolved == 1
    assert statuses(session) == {stored.id: ("new", None)}
    assert session.exec(select(func.count()).select_from(TriageEvent)).one() == 0
    assert triage_audit(session) == []


def test_resolve_in_release_without_a_note_says_only_the_release(
    session: Session, supervisor: User
) -> None:
    [stored] = store(session, report())

    review.resolve_in_release(
        session, report_ids=[stored.id, stored.id], version=7, actor=supervisor, note="  "
    )
    session.commit()

    assert [event.note for event in review.history(session, stored.id)] == ["Resolved in v7"]
    assert triage_audit(session) == [
        (str(stored.id), "new -> resolved: Resolved in v7", supervisor.email)
    ]


def test_resolve_in_release_refuses_unknown_ids_and_changes_nothing(
    session: Session, supervisor: User
) -> None:
    stored = store(session, report(), report(status="acknowledged"))
    unknown = uuid.UUID("00000000-0000-4000-8000-000000000042")

    with pytest.raises(NotFound) as refused:
        review.resolve_in_release(
            session, report_ids=[stored[0].id, unknown, stored[1].id], version=2, actor=supervisor
        )
    session.commit()  # whatever the call left in the transaction would be stored now

    assert str(unknown) in refused.value.message
    assert str(stored[0].id) not in refused.value.message
    assert statuses(session) == {stored[0].id: ("new", None), stored[1].id: ("acknowledged", None)}
    assert session.exec(select(func.count()).select_from(TriageEvent)).one() == 0
    assert triage_audit(session) == []


def test_resolve_in_release_of_no_report_resolves_none(session: Session, supervisor: User) -> None:
    assert review.resolve_in_release(session, report_ids=[], version=2, actor=supervisor) == 0


def test_a_supervisor_moving_a_resolved_report_on_clears_its_release(
    session: Session, supervisor: User
) -> None:
    [stored] = store(session, report())
    review.resolve_in_release(session, report_ids=[stored.id], version=2, actor=supervisor)
    session.commit()

    review.triage(
        session, report_id=stored.id, to_status="new", note="Still unclear", actor=supervisor
    )

    assert statuses(session) == {stored.id: ("new", None)}
    assert [(e.from_status, e.to_status) for e in review.history(session, stored.id)] == [
        ("new", "resolved"),
        ("resolved", "new"),
    ]
    assert review.open_feedback(session)[ITEM].total == 1


def resolve(session: Session, actor: User, reports: list[Feedback], version: int) -> None:
    review.resolve_in_release(
        session, report_ids=[r.id for r in reports], version=version, actor=actor
    )
    session.commit()


def test_the_resolved_in_filter_counts_what_a_direct_count_finds(
    session: Session, supervisor: User, reports: list[Feedback]
) -> None:
    # Of those listed, the ones already resolved or dismissed keep their state.
    still_open = [r.status in review.OPEN_STATUSES for r in reports]
    resolve(session, supervisor, reports[:30], 2)
    resolve(session, supervisor, reports[30:45], 3)

    expected = session.execute(
        text("SELECT count(*) FROM feedback WHERE resolved_in = 2")
    ).scalar_one()
    filters = review.filters_from({"resolved_in": "2"})

    assert expected == sum(still_open[:30]) == 22
    assert review.count(session, filters) == expected
    assert review.inbox(session, filters).total == expected
    assert review.count(session, review.filters_from({"resolved_in": "3"})) == sum(
        still_open[30:45]
    )
    assert review.count(session, review.filters_from({"resolved_in": "4"})) == 0


def test_the_inbox_and_the_report_show_the_release_that_resolved_a_report(
    reviewer: TestClient, session: Session, supervisor: User
) -> None:
    stored = store(session, report(comment="Which law?"), report(comment="Still open"))
    resolve(session, supervisor, stored[:1], 2)

    inbox = reviewer.get("/admin/feedback").text
    filtered = reviewer.get("/admin/feedback?resolved_in=2").text
    page = reviewer.get(f"/admin/feedback/{stored[0].id}").text
    open_page = reviewer.get(f"/admin/feedback/{stored[1].id}").text

    link = '<a href="/admin/feedback?resolved_in=2">resolved in v2</a>'
    assert inbox.count(link) == 1
    assert "2 reports" in inbox
    assert "1 report · showing 1 to 1" in filtered
    assert filtered.count('name="id"') == 1
    assert "Which law?" in filtered and "Still open" not in filtered
    assert 'name="resolved_in" value="2"' in filtered
    assert '<dd><a href="/admin/feedback?resolved_in=2">v2</a></dd>' in page
    assert "new → resolved" in page
    assert "Resolved in v2" in page
    assert "resolved_in=" not in open_page


def test_a_bad_resolved_in_filter_gets_a_clear_422(reviewer: TestClient) -> None:
    page = reviewer.get("/admin/feedback?resolved_in=0")

    assert page.status_code == 422
    assert "resolved_in: must be a whole number from 1 to 2147483647" in page.text


def test_exports_carry_the_release_that_resolved_each_report(
    reviewer: TestClient, session: Session, supervisor: User
) -> None:
    stored = store(
        session, report(received_at=START), report(received_at=START + timedelta(minutes=1))
    )
    resolve(session, supervisor, stored[:1], 3)

    rows = list(
        csv.DictReader(
            io.StringIO(reviewer.get("/admin/feedback/export.csv").content.decode("utf-8-sig"))
        )
    )
    body = json.loads(reviewer.get("/admin/feedback/export.json").content)
    narrowed = json.loads(reviewer.get("/admin/feedback/export.json?resolved_in=3").content)

    assert list(rows[0])[-1] == "resolved_in"
    assert [(row["id"], row["resolved_in"]) for row in rows] == [
        (str(stored[0].id), "3"),
        (str(stored[1].id), ""),
    ]
    assert [(r["id"], r["resolved_in"]) for r in body["reports"]] == [
        (str(stored[0].id), 3),
        (str(stored[1].id), None),
    ]
    assert [r["id"] for r in narrowed["reports"]] == [str(stored[0].id)]
    assert narrowed["filters"] == {"resolved_in": "3"}
