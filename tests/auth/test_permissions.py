"""Every route of the app, asked by every kind of visitor: the answer each one must get.

The routes come from the app's own route table, so a route added without a rule here fails.
"""

import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.auth import service as auth
from app.auth.deps import COOKIE
from app.auth.models import ROLES, User
from app.config import Settings
from app.content.models import Release
from app.content.schema import Guidance
from app.db import utcnow
from app.feedback.models import Feedback
from app.main import create_app
from tests.accounts import csrf_token, make_user

ANONYMOUS = "anonymous"
VISITORS = (ANONYMOUS, *ROLES)
EVERYONE = frozenset(VISITORS)
SIGNED_IN = frozenset(ROLES)
SUPERVISORS = frozenset({"supervisor", "administrator"})
TRAINERS = frozenset({"trainer", "administrator"})
ADMINISTRATORS = frozenset({"administrator"})

# Who may use each route (method, path as declared). Everyone else is refused: anonymous
# visitors are sent to sign in (401 from the API), signed-in accounts get 403.
RULES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/openapi.json"): EVERYONE,
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/api/v1/content"): EVERYONE,
    ("GET", "/api/v1/offline-manifest"): EVERYONE,
    ("GET", "/api/v1/search-index"): EVERYONE,
    ("GET", "/sw.js"): EVERYONE,
    ("GET", "/manifest.webmanifest"): EVERYONE,
    ("POST", "/api/v1/feedback"): EVERYONE,
    ("POST", "/api/v1/feedback/batch"): EVERYONE,
    **{
        (method, "/api/{path:path}"): EVERYONE
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
    },
    ("GET", "/sign-in"): EVERYONE,
    ("POST", "/sign-in"): EVERYONE,
    ("POST", "/sign-out"): SIGNED_IN,
    ("GET", "/account/password"): SIGNED_IN,
    ("POST", "/account/password"): SIGNED_IN,
    ("GET", "/setup/{token}"): EVERYONE,
    ("POST", "/setup/{token}"): EVERYONE,
    ("GET", "/admin/users"): ADMINISTRATORS,
    ("POST", "/admin/users"): ADMINISTRATORS,
    ("POST", "/admin/users/{user_id}/{action}"): ADMINISTRATORS,
    ("GET", "/admin/audit"): ADMINISTRATORS,
    ("GET", "/admin/content"): TRAINERS,
    ("GET", "/admin/content/practices/{practice_id}"): TRAINERS,
    ("POST", "/admin/content/practices/{practice_id}"): TRAINERS,
    ("GET", "/admin/content/practices/{practice_id}/{role_id}/add"): TRAINERS,
    ("POST", "/admin/content/practices/{practice_id}/{role_id}/add"): TRAINERS,
    ("GET", "/admin/content/practices/{practice_id}/{role_id}/items/{item_id}"): TRAINERS,
    ("POST", "/admin/content/practices/{practice_id}/{role_id}/items/{item_id}"): TRAINERS,
    ("POST", "/admin/content/practices/{practice_id}/{role_id}/items/{item_id}/{change}"): (
        TRAINERS
    ),
    ("GET", "/admin/content/parts/{part}"): TRAINERS,
    ("POST", "/admin/content/parts/{part}"): TRAINERS,
    ("GET", "/admin/content/preview/{lang}/{path:path}"): TRAINERS,
    ("POST", "/admin/content/publish"): TRAINERS,
    ("POST", "/admin/content/discard"): TRAINERS,
    ("POST", "/admin/content/rollback"): TRAINERS,
    ("POST", "/admin/content/import"): TRAINERS,
    ("GET", "/admin/content/draft.zip"): TRAINERS,
    ("GET", "/admin/content/releases/{version}/bundle.zip"): TRAINERS,
    ("GET", "/admin/feedback"): SUPERVISORS,
    ("POST", "/admin/feedback/bulk"): SUPERVISORS,
    ("GET", "/admin/feedback/charts"): SUPERVISORS,
    ("GET", "/admin/feedback/export.csv"): SUPERVISORS,
    ("GET", "/admin/feedback/export.json"): SUPERVISORS,
    ("GET", "/admin/feedback/{report_id}"): SUPERVISORS,
    ("POST", "/admin/feedback/{report_id}/triage"): SUPERVISORS,
    ("GET", "/{lang}/{role}/{practice}/flag/"): EVERYONE,
    ("POST", "/{lang}/{role}/{practice}/flag/"): EVERYONE,
    ("GET", "/"): EVERYONE,
    ("GET", "/{lang}/"): EVERYONE,
    ("GET", "/{lang}/glossary/"): EVERYONE,
    ("GET", "/{lang}/sources/"): EVERYONE,
    ("GET", "/{lang}/offline/"): EVERYONE,
    ("GET", "/{lang}/outbox/"): EVERYONE,
    ("GET", "/{lang}/thanks/"): EVERYONE,
    ("GET", "/{lang}/matrix/"): EVERYONE,
    ("GET", "/{lang}/search/"): EVERYONE,
    ("GET", "/{lang}/{role}/"): EVERYONE,
    ("GET", "/{lang}/{role}/{practice}/"): EVERYONE,
}


SIGN_OUT = ("POST", "/sign-out")


def routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    for context in iter_route_contexts(app.routes):
        for method in sorted(getattr(context.original_route, "methods", None) or ()):
            if method != "HEAD":
                yield method, context.path


def test_every_route_has_a_rule(app: FastAPI) -> None:
    missing = sorted(set(routes(app)) - set(RULES))
    assert missing == [], f"routes without a permission rule in {__file__}: {missing}"


@pytest.fixture
def visitors(app: FastAPI, session: Session, release: Release) -> Iterator[dict[str, User | None]]:
    accounts: dict[str, User | None] = {ANONYMOUS: None}
    for role in ROLES:
        accounts[role] = make_user(session, role)
    yield accounts


def sample_path(path: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        assert match[1] in values, f"give the test a sample value for {match[0]} in {path}"
        return values[match[1]]

    return re.sub(r"\{(\w+)(?::\w+)?\}", value, path)


def answer_is_allowed(status: int, location: str) -> bool:
    return status not in (401, 403) and not location.startswith("/sign-in") and status < 500


def check_every_route(
    app: FastAPI,
    session: Session,
    visitors: dict[str, User | None],
    values: dict[str, str],
    rules: dict[tuple[str, str], frozenset[str]],
) -> list[str]:
    wrong = []
    with TestClient(app) as client:
        form_token = csrf_token(client, "/sign-in")
        for (method, template), allowed in sorted(rules.items()):
            path = sample_path(template, values)
            for visitor, user in visitors.items():
                client.cookies.delete(COOKIE)
                if user is not None:  # a fresh session each time: a route may end one
                    client.cookies.set(COOKIE, auth.start_session(session, user, hours=1))
                response = client.request(
                    method,
                    path,
                    data={"csrf_token": form_token} if method != "GET" else None,
                    follow_redirects=False,
                )
                location = response.headers.get("location", "")
                if visitor in allowed and (method, template) == SIGN_OUT:
                    ok = response.status_code == 303  # signed out, and sent to sign in again
                elif visitor in allowed:
                    ok = answer_is_allowed(response.status_code, location)
                elif user is None:
                    ok = response.status_code == 401 or (
                        response.status_code == 303 and location.startswith("/sign-in")
                    )
                else:
                    ok = response.status_code == 403
                if not ok:
                    wrong.append(f"{method} {path} as {visitor}: {response.status_code} {location}")
    return wrong


def sample_values(session: Session, guidance: Guidance) -> dict[str, str]:
    target = make_user(session, "officer", email="target@example.org")
    practice = guidance.practices[0]
    report = Feedback(
        id=uuid.uuid4(),
        kind="unclear",
        comment="Sample",
        role="customs",
        practice=practice.id,
        item_id=practice.checklists["customs"][0].id,
        release_version=1,
        language="en",
        created_at=utcnow(),
        body_hash="0" * 64,
    )
    session.add(report)
    session.commit()
    return {
        "lang": "en",
        "role": "customs",
        "practice": practice.id,
        "token": "not-a-setup-token",
        "user_id": str(target.id),
        "action": "role",
        "path": "nothing/here",
        "report_id": str(report.id),
        "practice_id": practice.id,
        "role_id": "customs",
        "item_id": practice.checklists["customs"][0].id,
        "change": "up",
        "part": "glossary",
        "version": "1",
    }


def test_each_route_answers_each_visitor_as_its_rule_says(
    app: FastAPI, session: Session, guidance: Guidance, visitors: dict[str, User | None]
) -> None:
    values = sample_values(session, guidance)
    assert check_every_route(app, session, visitors, values, RULES) == []


def test_with_sign_in_required_the_guide_is_for_signed_in_accounts_only(
    settings: Settings, session: Session, guidance: Guidance, visitors: dict[str, User | None]
) -> None:
    app = create_app(settings.model_copy(update={"require_sign_in": True}))
    open_anyway = {
        ("GET", "/healthz"),
        ("GET", "/sign-in"),
        ("POST", "/sign-in"),
        ("GET", "/setup/{token}"),
        ("POST", "/setup/{token}"),
    }
    rules = {
        key: (allowed if key in open_anyway or allowed != EVERYONE else SIGNED_IN)
        for key, allowed in RULES.items()
    }
    values = sample_values(session, guidance)
    assert check_every_route(app, session, visitors, values, rules) == []
