import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, text
from sqlmodel import Session, select

from app.config import Settings
from app.content.models import Release
from app.content.schema import Guidance
from app.feedback.models import Feedback
from app.main import create_app
from tests.servers import running_server


def report(guidance: Guidance, release: Release, **fields: Any) -> dict[str, Any]:
    practice = guidance.practices[0]
    return {
        "id": str(uuid.uuid4()),
        "kind": "unclear",
        "comment": "Which law applies at a land border?",
        "post": "Kasumbalesa",
        "role": "customs",
        "practice": practice.id,
        "item_id": practice.checklists["customs"][0].id,
        "release_version": release.version,
        "language": "en",
        "created_at": "2026-11-27T10:00:00+02:00",
        **fields,
    }


def rows(session: Session) -> int:
    session.rollback()  # end the read snapshot: see what others committed
    return session.exec(select(func.count()).select_from(Feedback)).one()


def test_a_new_report_is_stored_and_answered_201(
    client: TestClient, session: Session, guidance: Guidance, release: Release
) -> None:
    body = report(guidance, release)

    response = client.post("/api/v1/feedback", json=body)

    assert response.status_code == 201
    stored = response.json()
    assert stored["id"] == body["id"]
    assert stored["status"] == "new"
    assert stored["item_id"] == body["item_id"]
    assert stored["created_at"] == "2026-11-27T08:00:00Z"
    assert stored["received_at"].endswith("Z")
    assert rows(session) == 1


def test_a_retry_with_the_same_body_is_answered_200_and_stores_nothing(
    client: TestClient, session: Session, guidance: Guidance, release: Release
) -> None:
    body = report(guidance, release)
    first = client.post("/api/v1/feedback", json=body)

    again = client.post("/api/v1/feedback", json=body)

    assert again.status_code == 200
    assert again.json() == first.json()
    assert rows(session) == 1


def test_the_same_id_with_a_different_body_is_refused_409(
    client: TestClient, session: Session, guidance: Guidance, release: Release
) -> None:
    body = report(guidance, release)
    client.post("/api/v1/feedback", json=body)

    changed = client.post("/api/v1/feedback", json={**body, "comment": "Something else"})

    assert changed.status_code == 409
    assert "a changed report needs a new id" in changed.json()["detail"]
    assert rows(session) == 1
    assert session.get(Feedback, uuid.UUID(body["id"])).comment == body["comment"]


def test_a_whole_checklist_can_be_flagged_without_an_item(
    client: TestClient, guidance: Guidance, release: Release
) -> None:
    response = client.post("/api/v1/feedback", json=report(guidance, release, item_id=None))

    assert response.status_code == 201
    assert response.json()["item_id"] is None


def test_twenty_concurrent_sends_of_one_report_leave_one_row(
    database_url: str, session: Session, guidance: Guidance, release: Release
) -> None:
    body = report(guidance, release)
    with (
        running_server(database_url) as base,
        httpx.Client(base_url=base) as http,
        ThreadPoolExecutor(max_workers=20) as pool,
    ):
        answers = list(pool.map(lambda _: http.post("/api/v1/feedback", json=body), range(20)))

    assert sorted(a.status_code for a in answers) == [200] * 19 + [201]
    assert len({a.json()["received_at"] for a in answers}) == 1
    assert rows(session) == 1


def test_refusals_name_the_field_that_is_wrong(
    client: TestClient, session: Session, guidance: Guidance, release: Release
) -> None:
    cases = [
        ("body.role", {"role": "pilots"}),
        ("body.practice", {"practice": "nothing"}),
        ("body.item_id", {"item_id": "police-something-else"}),
        ("body.release_version", {"release_version": release.version + 5}),
        ("body.language", {"language": "xx"}),
        ("body.kind", {"kind": "angry"}),
        ("body.comment", {"comment": "x" * 2001}),
        ("body.post", {"post": "x" * 101}),
        ("body.contact", {"contact": "x" * 201}),
        ("body.id", {"id": "not-a-uuid"}),
        ("body.created_at", {"created_at": "2026-11-27T10:00:00"}),
        ("body.comment", {"comment": "A NUL \x00 in the middle"}),
    ]
    for field, change in cases:
        response = client.post("/api/v1/feedback", json=report(guidance, release, **change))
        assert response.status_code == 422, field
        assert [error["loc"] for error in response.json()["errors"]] == [field], field
    assert rows(session) == 0


def test_the_text_is_stored_as_it_was_written(
    client: TestClient, session: Session, guidance: Guidance, release: Release
) -> None:
    comment = 'Quotes " and \\ backslashes, é, ز, 🚚, a tab\tand\na new line \u202e reversed'
    body = report(guidance, release, comment=comment, post="Poste de Kasumbalesa — nord")

    response = client.post("/api/v1/feedback", json=body)

    assert response.status_code == 201
    session.rollback()
    stored = session.get(Feedback, uuid.UUID(body["id"]))
    assert stored is not None
    assert (stored.comment, stored.post) == (comment, "Poste de Kasumbalesa — nord")
    assert stored.created_at.isoformat() == "2026-11-27T08:00:00+00:00"
    assert client.post("/api/v1/feedback", json=body).status_code == 200


def test_a_database_failure_answers_503_and_the_retry_is_stored_once(
    client: TestClient, engine: Engine, session: Session, guidance: Guidance, release: Release
) -> None:
    body = report(guidance, release)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE feedback RENAME TO feedback_away"))

    refused = client.post("/api/v1/feedback", json=body)

    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE feedback_away RENAME TO feedback"))
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "30"
    assert "The database did not answer" in refused.json()["detail"]
    assert "Traceback" not in refused.text
    assert client.post("/api/v1/feedback", json=body).status_code == 201
    assert client.post("/api/v1/feedback", json=body).status_code == 200
    assert rows(session) == 1


def test_intake_replaces_a_connection_the_database_closed(
    backend: str,
    client: TestClient,
    engine: Engine,
    session: Session,
    guidance: Guidance,
    release: Release,
) -> None:
    if backend != "postgresql":
        pytest.skip("only a database server can close a connection: run with TEST_DATABASE_URL")
    assert client.post("/api/v1/feedback", json=report(guidance, release)).status_code == 201
    session.close()  # back to the pool, where a closed connection is found before use
    with engine.connect() as connection:  # as a restarted server would
        closed = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    assert closed

    response = client.post("/api/v1/feedback", json=report(guidance, release))

    assert response.status_code == 201
    assert rows(session) == 2


def test_a_body_over_16_kb_is_refused_413(
    client: TestClient, session: Session, guidance: Guidance, release: Release
) -> None:
    body = json.dumps(report(guidance, release, padding="x" * 17_000))

    response = client.post(
        "/api/v1/feedback", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 413
    assert response.json()["detail"] == "The body is larger than 16,384 bytes."
    assert rows(session) == 0


def test_a_body_that_is_not_json_is_refused_415_or_422(
    client: TestClient, session: Session, guidance: Guidance, release: Release
) -> None:
    form = client.post("/api/v1/feedback", data={"kind": "unclear"})
    broken = client.post(
        "/api/v1/feedback", content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert form.status_code == 415
    assert "Content-Type: application/json" in form.json()["detail"]
    assert broken.status_code == 422
    assert broken.json()["detail"].startswith("The body is not valid JSON")
    assert rows(session) == 0


def test_too_many_reports_from_one_client_get_429_with_retry_after(
    settings: Settings, session: Session, guidance: Guidance, release: Release
) -> None:
    app = create_app(settings.model_copy(update={"feedback_per_minute": 3}))
    with TestClient(app) as client:
        answers = [
            client.post("/api/v1/feedback", json=report(guidance, release)) for _ in range(4)
        ]

    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert 1 <= int(answers[3].headers["retry-after"]) <= 60
    assert rows(session) == 3


def test_no_address_of_the_client_is_stored(
    client: TestClient, session: Session, guidance: Guidance, release: Release
) -> None:
    client.post("/api/v1/feedback", json=report(guidance, release))
    session.rollback()  # end the read snapshot: see what the app committed

    dumped = [
        str(row)
        for table in ("feedback", "rate_limit")
        for row in session.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608
    ]

    assert len(dumped) == 2
    assert not any("testclient" in row or "127.0.0.1" in row for row in dumped)


def test_a_batch_stores_the_valid_reports_and_explains_the_rest(
    client: TestClient, session: Session, guidance: Guidance, release: Release
) -> None:
    good = [report(guidance, release) for _ in range(3)]
    bad_item = report(guidance, release, item_id="nothing-here")
    missing_kind = report(guidance, release)
    del missing_kind["kind"]

    response = client.post(
        "/api/v1/feedback/batch",
        json={"reports": [good[0], bad_item, good[1], missing_kind, good[2]]},
    )
    retried = client.post("/api/v1/feedback/batch", json={"reports": good})

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 422, 201, 422, 201]
    assert [r["id"] for r in results] == [
        r["id"] for r in [good[0], bad_item, good[1], missing_kind, good[2]]
    ]
    assert results[1]["errors"][0]["loc"] == "body.item_id"
    assert results[3]["errors"][0]["loc"] == "body.kind"
    assert [r["status"] for r in retried.json()["results"]] == [200, 200, 200]
    assert rows(session) == 3


def test_a_batch_of_more_than_100_reports_is_refused_whole(
    client: TestClient, session: Session, guidance: Guidance, release: Release
) -> None:
    response = client.post(
        "/api/v1/feedback/batch", json={"reports": [report(guidance, release) for _ in range(101)]}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "body.reports"
    assert rows(session) == 0


def test_the_no_op_baseline_exists_only_for_the_benchmark(
    settings: Settings, session: Session, guidance: Guidance, release: Release
) -> None:
    body = report(guidance, release)
    with TestClient(create_app(settings)) as plain:
        assert plain.post("/api/v1/noop", json=body).status_code == 404
    benchmarked = settings.model_copy(update={"benchmark_endpoints": True})
    with TestClient(create_app(benchmarked)) as bench:
        assert bench.post("/api/v1/noop", json=body).status_code == 204
        malformed = bench.post(
            "/api/v1/noop", content=b"{", headers={"Content-Type": "application/json"}
        )
        assert malformed.status_code == 422
        assert "/api/v1/noop" not in bench.get("/openapi.json").json()["paths"]
    assert rows(session) == 0
