"""Passwords (argon2) and the random tokens that name sessions and set-up links."""

import hashlib
import secrets

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.errors import AppError, ErrorDetail

PASSWORDS = PasswordHash((Argon2Hasher(),))
MIN_PASSWORD = 12
MAX_PASSWORD = 256
# Checked when the email is unknown, so that a wrong email takes as long as a wrong password.
_DUMMY_HASH = PASSWORDS.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return PASSWORDS.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    return PASSWORDS.verify(password, password_hash or _DUMMY_HASH) and password_hash is not None


def check_new_password(password: str, *, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        problem = f"use at least {MIN_PASSWORD} characters"
    elif len(password) > MAX_PASSWORD:
        problem = f"use at most {MAX_PASSWORD} characters"
    elif not password.strip():
        problem = "use more than spaces"
    else:
        return
    raise AppError(f"Choose another password: {problem}.", 422, [ErrorDetail(problem, field)])


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
