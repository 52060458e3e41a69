import csv
import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from app.audit.models import AuditEvent
from app.content.models import Release
from app.feedback.models import Feedback
from app.review.models import TriageEvent
from tests.accounts import csrf_token, make_user, sign_in
from tests.review.conftest import report, store

SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(1)>"
ROUTES = [
    ("get", "/admin/feedback"),
    ("get", "/admin/feedback/charts"),
    ("get", "/admin/feedback/export.csv"),
    ("get", "/admin/feedback/export.json"),
    ("get", "/admin/feedback/00000000-0000-4000-8000-000000000000"),
    ("post", "/admin/feedback/bulk"),
    ("post", "/admin/feedback/00000000-0000-4000-8000-000000000000/triage"),
]


def audit_actions(session: Session) -> list[str]:
    session.rollback()
    return list(session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all())


def test_the_inbox_counts_the_filtered_reports_and_keeps_the_filters_in_its_links(
    reviewer: TestClient, reports: list[Feedback]
) -> None:
    page = reviewer.get("/admin/feedback?role=customs&status=new&sort=oldest")

    assert page.status_code == 200
    expected = sum(1 for r in reports if r.role == "customs" and r.status == "new")
    assert f"{expected} reports" in page.text
    assert page.text.count('name="id"') == expected
    assert "/admin/feedback/export.csv?role=customs&amp;status=new" in page.text
    assert page.headers["cache-control"] == "no-store"


def test_the_inbox_shows_the_second_page(reviewer: TestClient, reports: list[Feedback]) -> None:
    first = reviewer.get("/admin/feedback")
    second = reviewer.get("/admin/feedback?page=2")

    assert "Page 1 of 2" in first.text
    assert 'href="/admin/feedback?page=2" rel="next"' in first.text
    assert second.text.count('name="id"') == 10


@pytest.mark.parametrize("query", ["status=closed", "from=2026-02-30", "page=0", "kind=%3Cb%3E"])
def test_a_bad_filter_gets_a_clear_422(reviewer: TestClient, query: str) -> None:
    page = reviewer.get(f"/admin/feedback?{query}")
    charts = reviewer.get(f"/admin/feedback/charts?{query}")
    export = reviewer.get(f"/admin/feedback/export.csv?{query}")

    assert (page.status_code, charts.status_code, export.status_code) == (422, 422, 422)
    assert "Some filters are not valid" in page.text
    assert "<b>" not in page.text


@pytest.mark.parametrize("comment", [SCRIPT, IMAGE])
def test_a_comment_holding_markup_is_shown_inert(
    reviewer: TestClient, session: Session, comment: str
) -> None:
    [stored] = store(session, report(comment=comment, post=comment))

    inbox = reviewer.get("/admin/feedback").text
    page = reviewer.get(f"/admin/feedback/{stored.id}").text

    escaped = comment.replace("<", "&lt;").replace(">", "&gt;")
    for html in (inbox, page):
        assert escaped in html
        assert comment not in html


def test_the_report_page_shows_the_item_as_the_officer_saw_it(
    reviewer: TestClient, session: Session, release: Release
) -> None:
    [stored] = store(session, report(comment="Which law?"))

    page = reviewer.get(f"/admin/feedback/{stored.id}")

    item = release.body["practices"][0]["checklists"]["customs"][0]
    assert item["id"] == "customs-know-legal-powers"
    assert item["action"].replace("'", "&#39;") in page.text
    assert "No change yet" in page.text


@pytest.mark.parametrize("report_id", ["00000000-0000-4000-8000-000000000000", "not-a-uuid"])
def test_an_unknown_or_malformed_report_is_not_found(reviewer: TestClient, report_id: str) -> None:
    page = reviewer.get(f"/admin/feedback/{report_id}")

    assert page.status_code == 404
    assert "There is no report with this id." in page.text


def test_triage_from_the_report_page_changes_the_status_and_shows_the_history(
    reviewer: TestClient, session: Session
) -> None:
    [stored] = store(session, report())
    path = f"/admin/feedback/{stored.id}"

    answer = reviewer.post(
        f"{path}/triage",
        data={
            "csrf_token": csrf_token(reviewer, path),
            "to_status": "acknowledged",
            "note": "Seen",
        },
        follow_redirects=False,
    )
    page = reviewer.get(path).text

    assert (answer.status_code, answer.headers["location"]) == (303, path)
    assert "new → acknowledged" in page
    assert "supervisor@example.org" in page
    session.rollback()
    assert session.get(Feedback, stored.id).status == "acknowledged"  # type: ignore[union-attr]
    assert audit_actions(session)[-1] == "triage"


def test_a_no_op_triage_is_refused_with_a_message(reviewer: TestClient, session: Session) -> None:
    [stored] = store(session, report(status="resolved"))
    path = f"/admin/feedback/{stored.id}"

    answer = reviewer.post(
        f"{path}/triage",
        data={"csrf_token": csrf_token(reviewer, path), "to_status": "resolved"},
    )

    assert answer.status_code == 409
    assert "already resolved" in answer.text


def test_a_post_without_a_valid_csrf_token_changes_nothing(
    reviewer: TestClient, session: Session
) -> None:
    [stored] = store(session, report())
    reviewer.get("/admin/feedback")  # the client holds a CSRF cookie

    triage = reviewer.post(
        f"/admin/feedback/{stored.id}/triage", data={"csrf_token": "x.y", "to_status": "resolved"}
    )
    bulk = reviewer.post(
        "/admin/feedback/bulk", data={"id": [str(stored.id)], "to_status": "resolved"}
    )

    assert (triage.status_code, bulk.status_code) == (403, 403)
    session.rollback()
    assert session.get(Feedback, stored.id).status == "new"  # type: ignore[union-attr]
    assert session.exec(select(func.count()).select_from(TriageEvent)).one() == 0


def test_bulk_action_sets_the_status_and_goes_back_to_the_same_inbox(
    reviewer: TestClient, session: Session
) -> None:
    stored = store(session, report(post="North"), report(post="North"), report(post="South"))
    token = csrf_token(reviewer, "/admin/feedback?post=North")

    answer = reviewer.post(
        "/admin/feedback/bulk",
        data={
            "csrf_token": token,
            "id": [str(stored[0].id), str(stored[1].id)],
            "to_status": "forwarded",
            "note": "To the licensing office",
            "back": "post=North&sort=oldest",
        },
        follow_redirects=False,
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/feedback?post=North&sort=oldest&done=2"
    assert "Status changed on 2 reports." in reviewer.get(answer.headers["location"]).text
    session.rollback()
    statuses = {r.id: r.status for r in session.exec(select(Feedback)).all()}
    assert statuses == {stored[0].id: "forwarded", stored[1].id: "forwarded", stored[2].id: "new"}
    notes = session.exec(select(TriageEvent.note)).all()
    assert list(notes) == ["To the licensing office"] * 2
    assert audit_actions(session)[-2:] == ["triage", "triage"]


def test_charts_draw_accessible_bars_that_link_to_the_filtered_inbox(
    reviewer: TestClient, reports: list[Feedback]
) -> None:
    page = reviewer.get("/admin/feedback/charts?post=North")

    assert page.status_code == 200
    assert page.text.count('role="img"') == 3
    assert "<script" not in page.text
    assert 'href="/admin/feedback?role=customs&amp;practice=legal-framework&amp;post=North"' in (
        page.text
    )
    assert re.search(
        r'href="/admin/feedback\?post=North&amp;from=2026-03-02&amp;to=2026-03-08"', page.text
    )
    total = sum(1 for r in reports if r.post == "North")
    assert f"{total} reports" in page.text


def test_csv_export_is_utf8_with_a_bom_and_neutralises_formulas(
    reviewer: TestClient, session: Session
) -> None:
    comments = ["=1+2", "+SUM(A1)", "-3", "@cmd", "\tx", "لا يوجد مكتب", "Écrit à Genève"]
    store(session, *[report(comment=c, post="East") for c in comments], report(post="West"))

    answer = reviewer.get("/admin/feedback/export.csv?post=East&sort=kind")

    assert answer.status_code == 200
    assert answer.content.startswith(b"\xef\xbb\xbf")
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="frontline-feedback-\d{4}-\d{2}-\d{2}\.csv"',
        answer.headers["content-disposition"],
    )
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert sorted(row["comment"] for row in rows) == sorted(
        ["'=1+2", "'+SUM(A1)", "'-3", "'@cmd", "'\tx", "لا يوجد مكتب", "Écrit à Genève"]
    )
    assert [event.detail for event in audit_events(session, "export")] == ["format=csv post=East"]


def audit_events(session: Session, action: str) -> list[AuditEvent]:
    session.rollback()
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_json_export_parses_and_honours_the_filters(
    reviewer: TestClient, reports: list[Feedback], session: Session
) -> None:
    answer = reviewer.get("/admin/feedback/export.json?language=ar&kind=problem")

    body = json.loads(answer.content)
    expected = {
        str(r.id) for r in reports if r.language == "ar" and r.kind not in ("worked_well", "other")
    }
    assert {r["id"] for r in body["reports"]} == expected
    assert body["filters"] == {"language": "ar", "kind": "problem"}
    assert [r["received_at"] for r in body["reports"]] == sorted(
        r["received_at"] for r in body["reports"]
    )
    assert "لا يوجد" in answer.content.decode()
    assert len(audit_events(session, "export")) == 1


def test_an_empty_json_export_is_still_json(reviewer: TestClient) -> None:
    assert reviewer.get("/admin/feedback/export.json").json()["reports"] == []


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("role", ["officer", "trainer"])
def test_other_roles_may_not_review(
    client: TestClient, session: Session, method: str, path: str, role: str
) -> None:
    user = make_user(session, role)
    sign_in(client, user.email)

    answer = getattr(client, method)(path, follow_redirects=False)

    assert answer.status_code == 403


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_visitors_are_sent_to_sign_in(client: TestClient, method: str, path: str) -> None:
    answer = getattr(client, method)(path, follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/sign-in?next=")


def test_triage_from_a_page_that_showed_another_status_changes_nothing(
    reviewer: TestClient, session: Session
) -> None:
    [stored] = store(session, report(status="dismissed"))
    path = f"/admin/feedback/{stored.id}"
    token = csrf_token(reviewer, path)

    single = reviewer.post(
        f"{path}/triage", data={"csrf_token": token, "to_status": "acknowledged", "seen": "new"}
    )
    bulk = reviewer.post(
        "/admin/feedback/bulk",
        data={
            "csrf_token": token,
            "id": [str(stored.id)],
            "seen": [f"{stored.id}:new"],
            "to_status": "acknowledged",
        },
    )

    assert (single.status_code, bulk.status_code) == (409, 409)
    assert "from new to dismissed" in single.text
    session.rollback()
    assert session.get(Feedback, stored.id, populate_existing=True).status == "dismissed"  # type: ignore[union-attr]


@pytest.mark.parametrize("query", ["to=9999-12-31", "version=99999999999", "page=99999999999"])
def test_filters_out_of_range_are_refused_not_failed(reviewer: TestClient, query: str) -> None:
    page = reviewer.get(f"/admin/feedback?{query}")
    export = reviewer.get(f"/admin/feedback/export.csv?{query}")

    assert (page.status_code, export.status_code) == (422, 422)


def test_a_malformed_id_in_a_bulk_action_is_refused_naming_it(reviewer: TestClient) -> None:
    answer = reviewer.post(
        "/admin/feedback/bulk",
        data={
            "csrf_token": csrf_token(reviewer, "/admin/feedback"),
            "id": ["zz"],
            "to_status": "resolved",
        },
    )

    assert answer.status_code == 422
    assert "not a report id" in answer.text
