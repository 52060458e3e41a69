"""Reports to review: a varied set stored straight through the model, and a signed-in client."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.auth.models import User
from app.content.models import Release
from app.feedback.models import Feedback
from tests.accounts import make_user, sign_in

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
COMMENTS = [
    "The border crossing has no scanner.",
    "Which BORDER post applies? Crossing rules differ.",
    "100% of trucks are checked, not 50_percent",
    "Le certificat d'utilisateur final est illisible.",
    "لا يوجد مكتب جمارك في هذا المعبر",
    "",
    "Worked well at the crossing.",
]
PLACES = [
    ("customs", "legal-framework", "customs-know-legal-powers"),
    ("customs", "legal-framework", None),
    ("licensing", "end-use", "licensing-check-end-user"),
    ("police", "enforcement", "police-seize"),
]
KINDS = ("unclear", "incorrect", "missing", "not_applicable", "worked_well", "other")
STATUSES = ("new", "acknowledged", "forwarded", "resolved", "dismissed")


def report(**fields: object) -> Feedback:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "kind": "unclear",
        "comment": "",
        "role": "customs",
        "practice": "legal-framework",
        "item_id": "customs-know-legal-powers",
        "release_version": 1,
        "language": "en",
        "created_at": START,
        "received_at": START,
        "body_hash": "0" * 64,
    } | fields
    return Feedback(**values)  # type: ignore[arg-type]


def store(session: Session, *reports: Feedback) -> list[Feedback]:
    # A SQLite read begun before the client wrote could not turn into a write: start afresh.
    session.rollback()
    session.add_all(reports)
    session.commit()
    for stored in reports:
        session.refresh(stored)
    return list(reports)


@pytest.fixture
def reports(session: Session) -> list[Feedback]:
    """60 reports over five weeks, every kind, status, place, several posts and languages."""
    made = []
    for n in range(60):
        role, practice, item_id = PLACES[n % len(PLACES)]
        received = START + timedelta(days=n * 35 // 60, hours=n % 7)
        made.append(
            report(
                kind=KINDS[n % len(KINDS)],
                status=STATUSES[n % len(STATUSES)] if n % 3 else "new",
                comment=COMMENTS[n % len(COMMENTS)],
                role=role,
                practice=practice,
                item_id=item_id,
                post=("North", "South", None)[n % 3],
                language=("en", "fr", "ar", "en")[n % 4],
                release_version=1 + n % 2,
                created_at=received - timedelta(hours=1),
                received_at=received,
            )
        )
    return store(session, *made)


@pytest.fixture
def supervisor(session: Session) -> User:
    return make_user(session, "supervisor")


@pytest.fixture
def reviewer(client: TestClient, supervisor: User, release: Release) -> TestClient:
    """A client signed in as a supervisor, with the shipped guidance as release 1."""
    sign_in(client, supervisor.email)
    return client
