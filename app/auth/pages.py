"""Pages behind sign-in: one layout, a CSRF token in every form, never stored by a cache."""

from typing import Any

from fastapi import Request, Response

from app.auth import csrf
from app.auth.models import User
from app.templating import templates


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    user: User | None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    settings = request.app.state.settings
    token = csrf.token_for(request, settings.secret_key.get_secret_value())
    page = {
        "lang": settings.default_language,
        "dir": "ltr",
        "user": user,
        "csrf_token": token,
        "path": request.url.path,
    } | (context or {})
    response = templates.TemplateResponse(
        request,
        name,
        page,
        status_code=status_code,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )
    csrf.set_cookie(response, request, token)
    return response


def check_csrf(request: Request, sent: str) -> None:
    csrf.check(request, request.app.state.settings.secret_key.get_secret_value(), sent)
