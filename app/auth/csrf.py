"""Cross-site request forgery tokens for forms: a signed token in a cookie and in the form."""

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from app.errors import AppError

COOKIE = "frontline_csrf"
FIELD = "csrf_token"


def _sign(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), nonce.encode(), hashlib.sha256).hexdigest()[:32]


def _signed(secret: str, token: str) -> bool:
    nonce, _, signature = token.partition(".")
    return bool(nonce) and hmac.compare_digest(signature, _sign(secret, nonce))


def token_for(request: Request, secret: str) -> str:
    """The token already in the browser's cookie, or a new one."""
    current = request.cookies.get(COOKIE, "")
    if current and _signed(secret, current):
        return current
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_sign(secret, nonce)}"


def set_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def check(request: Request, secret: str, sent: str) -> None:
    """Refuse a form whose token is missing, forged or not the one in the cookie."""
    cookie = request.cookies.get(COOKIE, "")
    if not (sent and cookie and hmac.compare_digest(sent, cookie) and _signed(secret, sent)):
        raise AppError(
            "This form has expired or was not sent from Frontline. "
            "Go back, reload the page and send it again.",
            403,
        )
