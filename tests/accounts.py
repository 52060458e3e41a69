"""Accounts for tests: make one with a role, sign a test client in, read a form's CSRF token."""

import re

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.auth import service as auth
from app.auth.models import User

PASSWORD = "correct horse battery staple"


def make_user(
    session: Session, role: str, *, email: str | None = None, password: str = PASSWORD
) -> User:
    return auth.create_user(
        session, email=email or f"{role}@example.org", role=role, password=password, actor=None
    )


def csrf_token(client: TestClient, path: str) -> str:
    """The CSRF token of the form on the page at `path` (the client keeps the cookie)."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> None:
    token = csrf_token(client, "/sign-in")
    response = client.post(
        "/sign-in",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
