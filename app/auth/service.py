"""Accounts, sign-in with throttling, sessions shared by every instance, first set-up."""

import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.auth.models import ROLES, SetupToken, SignInFailure, User, UserSession
from app.auth.security import (
    check_new_password,
    hash_password,
    new_token,
    token_hash,
    verify_password,
)
from app.config import Settings
from app.db import utcnow
from app.errors import AppError, Conflict, ErrorDetail, Forbidden, NotFound, TooManyAttempts

WRONG_CREDENTIALS = "The email or the password is wrong."


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str) -> str:
    email = normalize_email(email)
    local, at, domain = email.partition("@")
    if not (local and at and "." in domain and len(email) <= 254 and " " not in email):
        raise AppError(
            f"{email!r} is not an email address.",
            422,
            [ErrorDetail("not an email address", "email")],
        )
    return email


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AppError(
            f"Unknown role {role!r}: choose one of {', '.join(ROLES)}.",
            422,
            [ErrorDetail("unknown role", "role")],
        )
    return role


def create_user(
    session: Session, *, email: str, role: str, password: str, actor: User | None
) -> User:
    user = _add_user(session, email=email, role=role, password=password, actor=actor)
    session.commit()
    session.refresh(user)
    return user


def _add_user(
    session: Session, *, email: str, role: str, password: str, actor: User | None
) -> User:
    email = check_email(email)
    check_role(role)
    check_new_password(password)
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise Conflict(f"There is already an account for {email}.")
    user = User(email=email, role=role, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="user_created", target=email, detail=role)
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"There is no account number {user_id}.")
    return user


def users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.email))).all())


def administrators(session: Session) -> int:
    query = select(func.count()).where(User.role == "administrator", col(User.disabled).is_(False))
    return session.exec(query).one()


# Sign-in, throttled per account and per client across every instance


def _failure_key(secret: str, kind: str, value: str, window: datetime) -> str:
    message = f"{kind}|{value}|{window.isoformat()}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _window(settings: Settings) -> tuple[datetime, int]:
    """The start of the current window, and the seconds left in it."""
    now = utcnow()
    length = settings.sign_in_window_minutes * 60
    start = int(now.timestamp()) // length * length
    window = datetime.fromtimestamp(start, now.tzinfo)
    return window, start + length - int(now.timestamp())


def authenticate(
    session: Session, *, email: str, password: str, client: str, settings: Settings
) -> User:
    """The account these credentials open; refused, and counted, when they are wrong."""
    email = normalize_email(email)
    secret = settings.secret_key.get_secret_value()
    window, retry_after = _window(settings)
    keys = {
        _failure_key(secret, "account", email, window): settings.sign_in_failures_per_account,
        _failure_key(secret, "client", client, window): settings.sign_in_failures_per_client,
    }
    counts = dict(
        session.exec(
            select(SignInFailure.key, SignInFailure.count).where(col(SignInFailure.key).in_(keys))
        ).all()
    )
    if any(counts.get(key, 0) >= limit for key, limit in keys.items()):
        raise TooManyAttempts(retry_after)

    user = session.exec(select(User).where(User.email == email)).first()
    if verify_password(password, user.password_hash if user else None) and user is not None:
        if user.disabled:
            raise Forbidden("This account is disabled. Ask an administrator.")
        return user

    connection = session.connection()
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    for key in keys:
        statement = insert(SignInFailure).values(key=key, window_start=window, count=1)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["key"], set_={"count": SignInFailure.count + 1}
            )
        )
    connection.execute(
        delete(SignInFailure).where(col(SignInFailure.window_start) < window - timedelta(days=1))
    )
    audit.record(session, actor=None, action="sign_in_failed", email=email[:254])
    session.commit()
    raise AppError(WRONG_CREDENTIALS, 400, [ErrorDetail(WRONG_CREDENTIALS, "password")])


def start_session(session: Session, user: User, *, hours: float) -> str:
    """Open a session for `user`; return the token for the cookie."""
    assert user.id is not None
    token = new_token()
    now = utcnow()
    session.add(
        UserSession(
            token_hash=token_hash(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    session.execute(delete(UserSession).where(col(UserSession.expires_at) < now))
    audit.record(session, actor=user, action="sign_in")
    session.commit()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The account a session cookie names, while the session lasts and the account is active."""
    if not token or len(token) > 100:
        return None
    row = session.exec(
        select(User)
        .join(UserSession, col(UserSession.user_id) == col(User.id))
        .where(
            UserSession.token_hash == token_hash(token),
            UserSession.expires_at > utcnow(),
            col(User.disabled).is_(False),
        )
    ).first()
    return row


def end_session(session: Session, token: str, user: User) -> None:
    session.execute(delete(UserSession).where(col(UserSession.token_hash) == token_hash(token)))
    audit.record(session, actor=user, action="sign_out")
    session.commit()


def _end_sessions(session: Session, user_id: int, *, keep: str | None = None) -> None:
    statement = delete(UserSession).where(col(UserSession.user_id) == user_id)
    if keep:
        statement = statement.where(col(UserSession.token_hash) != token_hash(keep))
    session.execute(statement)


# Changes to accounts


def change_password(
    session: Session, *, user: User, current: str, new: str, keep_session: str
) -> None:
    """Change one's own password; every other session of the account ends."""
    if not verify_password(current, user.password_hash):
        raise AppError(
            "The current password is wrong.",
            400,
            [ErrorDetail("the current password is wrong", "current_password")],
        )
    check_new_password(new, field="new_password")
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    session.add(user)
    assert user.id is not None
    _end_sessions(session, user.id, keep=keep_session)
    audit.record(session, actor=user, action="password_changed", target=user.email)
    session.commit()


def reset_password(session: Session, *, user_id: int, password: str, actor: User) -> User:
    """Give an account a new password; its sessions end."""
    user = get_user(session, user_id)
    check_new_password(password)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    session.add(user)
    _end_sessions(session, user_id)
    audit.record(session, actor=actor, action="user_password_reset", target=user.email)
    session.commit()
    return user


def set_disabled(session: Session, *, user_id: int, disabled: bool, actor: User) -> User:
    """Disable an account (its sessions end at once) or enable it again."""
    user = get_user(session, user_id)
    if user.id == actor.id and disabled:
        raise Conflict("You cannot disable your own account.")
    user.disabled = disabled
    session.add(user)
    if disabled:
        _end_sessions(session, user_id)
    action = "user_disabled" if disabled else "user_enabled"
    audit.record(session, actor=actor, action=action, target=user.email)
    session.commit()
    return user


def set_role(session: Session, *, user_id: int, role: str, actor: User) -> User:
    user = get_user(session, user_id)
    check_role(role)
    if user.id == actor.id and role != user.role:
        raise Conflict("You cannot change your own role; ask another administrator.")
    before = user.role
    user.role = role
    session.add(user)
    audit.record(
        session,
        actor=actor,
        action="user_role_changed",
        target=user.email,
        detail=f"{before} → {role}",
    )
    session.commit()
    return user


# The first administrator


def create_setup_token(session: Session, *, hours: float = 1.0) -> str | None:
    """A one-time set-up link token when no administrator exists yet, else None."""
    if administrators(session):
        return None
    token = new_token()
    session.add(
        SetupToken(token_hash=token_hash(token), expires_at=utcnow() + timedelta(hours=hours))
    )
    session.commit()
    return token


def check_setup_token(session: Session, token: str) -> SetupToken:
    row = session.get(SetupToken, token_hash(token)) if len(token) <= 100 else None
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise NotFound(
            "This set-up link has expired or was used already. Restart `frontline serve` "
            "for a new one, or create an administrator with `frontline users create`."
        )
    if administrators(session):
        raise Conflict("An administrator exists already: sign in instead.")
    return row


def use_setup_token(session: Session, *, token: str, email: str, password: str) -> User:
    """Create the first administrator with a set-up link, which then expires."""
    row = check_setup_token(session, token)
    row.used_at = utcnow()
    session.add(row)
    user = _add_user(session, email=email, role="administrator", password=password, actor=None)
    audit.record(session, actor=user, action="setup_link_used", target=user.email)
    session.commit()
    session.refresh(user)
    return user
