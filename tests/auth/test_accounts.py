import re
import subprocess
import sys
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.auth import service as auth
from app.auth.deps import COOKIE
from app.auth.models import User, UserSession
from app.config import Settings
from tests.accounts import PASSWORD, csrf_token, make_user, sign_in
from tests.servers import running_server


def actions(session: Session) -> list[str]:
    session.rollback()
    return list(session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all())


def test_signing_in_sets_an_httponly_lax_session_cookie_and_opens_the_home_of_the_role(
    client: TestClient, session: Session
) -> None:
    make_user(session, "supervisor")
    token = csrf_token(client, "/sign-in")
    response = client.post(
        "/sign-in",
        data={"email": " Supervisor@Example.org ", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/feedback"
    cookie = next(
        value
        for name, value in response.headers.multi_items()
        if name == "set-cookie" and value.startswith(COOKIE)
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; Secure whenever served over HTTPS
    assert actions(session) == ["user_created", "sign_in"]


def test_the_session_cookie_is_secure_over_https(settings: Settings, session: Session) -> None:
    from app.main import create_app

    make_user(session, "administrator")
    with TestClient(create_app(settings), base_url="https://frontline.test") as client:
        token = csrf_token(client, "/sign-in")
        response = client.post(
            "/sign-in",
            data={"email": "administrator@example.org", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
    cookie = next(v for n, v in response.headers.multi_items() if v.startswith(COOKIE))
    assert "Secure" in cookie


def test_only_the_hash_of_a_session_token_is_stored(client: TestClient, session: Session) -> None:
    make_user(session, "administrator")
    sign_in(client, "administrator@example.org")

    session.rollback()
    stored = session.exec(select(UserSession.token_hash)).all()
    assert len(stored) == 1
    assert stored[0] != client.cookies[COOKIE]


def test_a_wrong_password_is_refused_and_audited(client: TestClient, session: Session) -> None:
    make_user(session, "supervisor")
    token = csrf_token(client, "/sign-in")
    response = client.post(
        "/sign-in",
        data={"email": "supervisor@example.org", "password": "wrong", "csrf_token": token},
    )

    assert response.status_code == 400
    assert "The email or the password is wrong." in response.text
    assert COOKIE not in client.cookies
    assert actions(session) == ["user_created", "sign_in_failed"]


def test_repeated_failed_sign_ins_are_throttled_per_account(
    client: TestClient, session: Session, settings: Settings
) -> None:
    make_user(session, "supervisor")
    token = csrf_token(client, "/sign-in")
    form = {"email": "supervisor@example.org", "password": "wrong", "csrf_token": token}
    statuses = [client.post("/sign-in", data=form).status_code for _ in range(6)]
    right = client.post("/sign-in", data={**form, "password": PASSWORD}, follow_redirects=False)

    limit = settings.sign_in_failures_per_account
    assert statuses == [400] * limit + [429] * (6 - limit)
    assert right.status_code == 429  # even the right password waits for the window to end
    assert 0 < int(right.headers["retry-after"]) <= settings.sign_in_window_minutes * 60
    assert "Too many failed sign-ins" in right.text
    assert COOKIE not in client.cookies


def test_failed_sign_ins_are_throttled_per_client_across_accounts(
    client: TestClient, session: Session, settings: Settings
) -> None:
    token = csrf_token(client, "/sign-in")
    limit = settings.sign_in_failures_per_client
    statuses = [
        client.post(
            "/sign-in",
            data={"email": f"guess{n}@example.org", "password": "wrong", "csrf_token": token},
        ).status_code
        for n in range(limit + 1)
    ]

    assert statuses == [400] * limit + [429]


def test_a_sign_in_without_a_valid_csrf_token_is_refused(
    client: TestClient, session: Session
) -> None:
    make_user(session, "supervisor")
    csrf_token(client, "/sign-in")
    for token in ("", "forged.token"):
        response = client.post(
            "/sign-in",
            data={"email": "supervisor@example.org", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 403
    assert COOKIE not in client.cookies
    assert actions(session) == ["user_created"]


def test_signing_out_ends_the_session_in_the_database(client: TestClient, session: Session) -> None:
    make_user(session, "administrator")
    sign_in(client, "administrator@example.org")
    stolen = client.cookies[COOKIE]
    token = csrf_token(client, "/admin/users")

    response = client.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)

    assert response.status_code == 303
    client.cookies.set(COOKIE, stolen)
    assert client.get("/admin/users", follow_redirects=False).status_code == 303
    session.rollback()
    assert session.exec(select(UserSession)).all() == []


def test_an_anonymous_visitor_is_sent_to_sign_in_and_back(
    client: TestClient, session: Session
) -> None:
    response = client.get("/admin/users", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fadmin%2Fusers"

    make_user(session, "administrator")
    token = csrf_token(client, "/sign-in?next=/admin/audit")
    signed = client.post(
        "/sign-in",
        data={
            "email": "administrator@example.org",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/admin/audit",
        },
        follow_redirects=False,
    )
    assert signed.headers["location"] == "/admin/audit"


def test_sign_in_never_sends_someone_to_another_site(client: TestClient, session: Session) -> None:
    make_user(session, "administrator")
    for target in (
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "javascript:alert(1)",
    ):
        client.cookies.clear()
        token = csrf_token(client, "/sign-in")
        response = client.post(
            "/sign-in",
            data={
                "email": "administrator@example.org",
                "password": PASSWORD,
                "csrf_token": token,
                "next": target,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == "/admin/users"


def test_changing_ones_password_ends_the_other_sessions(app, session: Session) -> None:
    make_user(session, "trainer")
    with TestClient(app) as laptop, TestClient(app) as phone:
        sign_in(laptop, "trainer@example.org")
        sign_in(phone, "trainer@example.org")
        token = csrf_token(laptop, "/account/password")
        wrong = laptop.post(
            "/account/password",
            data={"current_password": "nope", "new_password": "x" * 12, "csrf_token": token},
        )
        short = laptop.post(
            "/account/password",
            data={"current_password": PASSWORD, "new_password": "short", "csrf_token": token},
        )
        done = laptop.post(
            "/account/password",
            data={
                "current_password": PASSWORD,
                "new_password": "a new passphrase here",
                "csrf_token": token,
            },
        )

        assert wrong.status_code == 400
        assert "The current password is wrong." in wrong.text
        assert short.status_code == 422
        assert "at least 12 characters" in short.text
        assert done.status_code == 200
        assert laptop.get("/account/password").status_code == 200
        assert phone.get("/account/password", follow_redirects=False).status_code == 303
    session.rollback()
    user = session.exec(select(User)).one()
    assert (
        auth.authenticate(
            session,
            email="trainer@example.org",
            password="a new passphrase here",
            client="test",
            settings=app.state.settings,
        ).id
        == user.id
    )


def test_an_administrator_creates_disables_enables_and_resets_users(
    client: TestClient, session: Session, app
) -> None:
    make_user(session, "administrator")
    sign_in(client, "administrator@example.org")
    token = csrf_token(client, "/admin/users")

    created = client.post(
        "/admin/users",
        data={
            "email": "Officer.Two@Example.org",
            "role": "supervisor",
            "password": "a fine long password",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    session.rollback()
    new = session.exec(select(User).where(User.email == "officer.two@example.org")).one()
    assert new.role == "supervisor"
    assert new.password_hash.startswith("$argon2id$")

    with TestClient(app) as other:
        sign_in(other, "officer.two@example.org", "a fine long password")
        disabled = client.post(
            f"/admin/users/{new.id}/disable", data={"csrf_token": token}, follow_redirects=False
        )
        assert disabled.status_code == 303
        assert other.get("/account/password", follow_redirects=False).status_code == 303
        again = client.post(
            "/sign-in",
            data={
                "email": "officer.two@example.org",
                "password": "a fine long password",
                "csrf_token": token,
            },
        )
        assert again.status_code == 403

    client.post(f"/admin/users/{new.id}/enable", data={"csrf_token": token})
    client.post(f"/admin/users/{new.id}/role", data={"role": "trainer", "csrf_token": token})
    client.post(
        f"/admin/users/{new.id}/reset",
        data={"password": "reset by the admin", "csrf_token": token},
    )
    session.rollback()
    session.refresh(new)
    assert (new.disabled, new.role) == (False, "trainer")
    assert actions(session)[-5:] == [
        "sign_in",
        "user_disabled",
        "user_enabled",
        "user_role_changed",
        "user_password_reset",
    ]


def test_user_forms_with_bad_input_say_what_is_wrong_and_change_nothing(
    client: TestClient, session: Session
) -> None:
    admin = make_user(session, "administrator")
    sign_in(client, "administrator@example.org")
    token = csrf_token(client, "/admin/users")
    cases = [
        (
            {"email": "not-an-email", "role": "trainer", "password": "long enough pass"},
            422,
            "is not an email address",
        ),
        (
            {"email": "a@example.org", "role": "emperor", "password": "long enough pass"},
            422,
            "Unknown role",
        ),
        ({"email": "a@example.org", "role": "trainer", "password": "short"}, 422, "at least 12"),
        (
            {
                "email": "administrator@example.org",
                "role": "trainer",
                "password": "long enough pass",
            },
            409,
            "already an account",
        ),
    ]
    for form, status, message in cases:
        response = client.post("/admin/users", data={**form, "csrf_token": token})
        assert response.status_code == status
        assert message in response.text
    own = client.post(f"/admin/users/{admin.id}/disable", data={"csrf_token": token})
    assert own.status_code == 409
    missing = client.post("/admin/users/9999/disable", data={"csrf_token": token})
    assert missing.status_code == 404
    session.rollback()
    assert len(session.exec(select(User)).all()) == 1


def test_the_audit_log_cannot_be_changed_or_deleted(session: Session) -> None:
    make_user(session, "administrator")
    for statement in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
        try:
            session.execute(text(statement))
            session.commit()
        except Exception as refused:  # noqa: BLE001 - the database refuses it
            session.rollback()
            assert "append-only" in str(refused)
        else:
            raise AssertionError(f"{statement} was allowed")
    assert actions(session) == ["user_created"]


def test_the_audit_page_lists_and_filters_entries(client: TestClient, session: Session) -> None:
    make_user(session, "administrator")
    make_user(session, "trainer")
    sign_in(client, "administrator@example.org")

    everything = client.get("/admin/audit")
    sign_ins = client.get("/admin/audit?action=sign_in")
    unknown = client.get("/admin/audit?action=nonsense")

    assert "3 entries" in everything.text
    assert "1 entry" in sign_ins.text
    assert unknown.status_code == 422


def test_a_one_time_setup_link_creates_the_first_administrator(
    client: TestClient, session: Session
) -> None:
    link = auth.create_setup_token(session)
    assert link is not None
    token = csrf_token(client, f"/setup/{link}")
    short = client.post(
        f"/setup/{link}", data={"email": "boss@example.org", "password": "x", "csrf_token": token}
    )
    assert short.status_code == 422
    made = client.post(
        f"/setup/{link}",
        data={"email": "boss@example.org", "password": "the first admin pass", "csrf_token": token},
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert client.get("/admin/users").status_code == 200
    assert client.get(f"/setup/{link}").status_code == 404  # used
    assert auth.create_setup_token(session) is None  # an administrator exists now


def test_the_cli_creates_a_user_with_a_password_from_standard_input(
    settings: Settings, session: Session
) -> None:
    env = {"DATABASE_URL": settings.database_url, "PATH": str(Path(sys.executable).parent)}
    frontline = str(Path(sys.executable).parent / "frontline")
    made = subprocess.run(
        [frontline, "users", "create", "Lead@Example.org", "--role", "supervisor"],
        input="a password from stdin\n",
        capture_output=True,
        text=True,
        env=env,
    )
    refused = subprocess.run(
        [frontline, "users", "create", "lead@example.org", "--role", "supervisor"],
        input="a password from stdin\n",
        capture_output=True,
        text=True,
        env=env,
    )

    assert made.returncode == 0, made.stderr
    assert "Created supervisor lead@example.org" in made.stdout
    assert refused.returncode == 1
    assert "already an account" in refused.stderr
    session.rollback()
    user = session.exec(select(User)).one()
    assert (user.email, user.role) == ("lead@example.org", "supervisor")


def test_two_server_processes_share_a_session(database_url: str, session: Session) -> None:
    make_user(session, "supervisor")
    with running_server(database_url) as first, running_server(database_url) as second:
        with httpx.Client(base_url=first) as browser:
            page = browser.get("/sign-in")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            browser.post(
                "/sign-in",
                data={"email": "supervisor@example.org", "password": PASSWORD, "csrf_token": token},
            )
            cookie = browser.cookies[COOKIE]
        with httpx.Client(base_url=second, cookies={COOKIE: cookie}) as other:
            assert other.get("/account/password").status_code == 200
