"""For deployments that keep the guide to signed-in officers (FRONTLINE_REQUIRE_SIGN_IN)."""

from urllib.parse import urlencode

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth import service as auth
from app.auth.deps import COOKIE

# Open without a session: signing in itself, what the sign-in page needs, health checks; and
# the pages behind sign-in, which check the account's role themselves.
OPEN = ("/sign-in", "/sign-out", "/setup/", "/static/", "/healthz", "/admin/", "/account/")


class GuideBehindSignIn:
    """Answer every guide page, API call and offline file only to a signed-in account.

    It stands in front of the response cache, which would otherwise hand out stored pages.
    """

    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(OPEN):
            await self.app(scope, receive, send)
            return
        token = Request(scope).cookies.get(COOKIE, "")
        signed_in: bool = bool(token) and await run_in_threadpool(self._signed_in, token)
        if signed_in:
            await self.app(scope, receive, send)
            return
        if path.startswith("/api/"):
            refusal = JSONResponse(
                {"detail": "Sign in to use this service.", "errors": []}, status_code=401
            )
            await refusal(scope, receive, send)
            return
        redirect = RedirectResponse(f"/sign-in?{urlencode({'next': path})}", status_code=303)
        await redirect(scope, receive, send)

    def _signed_in(self, token: str) -> bool:
        with Session(self.engine) as session:
            return auth.user_for_token(session, token) is not None
