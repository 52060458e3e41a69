import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.middleware import GuideBehindSignIn
from app.auth.routes import admin_router
from app.auth.routes import router as auth_router
from app.caching import CachedResponses, ResponseCache
from app.config import Settings, get_settings
from app.content.admin import router as content_admin_router
from app.content.published import ReleaseCache
from app.content.routes import router as content_router
from app.db import Checkpointer, create_db_engine
from app.errors import AppError, DatabaseUnavailable, ErrorDetail, SignInRequired
from app.feedback.intake import Intake
from app.feedback.routes import bench_router, pages_router
from app.feedback.routes import router as feedback_router
from app.guide import pages
from app.guide.routes import router as guide_router
from app.health.routes import router as health_router
from app.i18n import direction
from app.pwa.routes import router as pwa_router
from app.review.routes import router as review_router
from app.templating import STATIC_DIR, templates

log = logging.getLogger(__name__)

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    ),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


# The largest body a request may send, by path (the first prefix that matches); others: DEFAULT.
BODY_LIMITS = (("/admin/content/import", 21_000_000),)
DEFAULT_BODY_LIMIT = 2_500_000


class BodyLimit:
    """Refuse a body over its path's limit as it arrives, with 413.

    A form is read before the route's role and CSRF checks run, so the limit has to hold before
    any route sees the body: a visitor who may not post must not be able to fill the disk.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = next((n for prefix, n in BODY_LIMITS if path.startswith(prefix)), None)
        limit = limit or DEFAULT_BODY_LIMIT
        declared = dict(scope["headers"]).get(b"content-length", b"")
        refusal = HTTPException(413, f"The body is larger than {limit:,} bytes.")
        received = 0

        async def limited() -> Message:
            nonlocal received
            if declared.isdigit() and int(declared) > limit:
                raise refusal
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise refusal
            return message

        await self.app(scope, limited, send)


class FingerprintedStaticFiles(StaticFiles):
    """Files asked for by fingerprinted URL (static_url adds ?v=hash) never change: a year."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        fingerprinted = scope["query_string"].startswith(b"v=")
        response.headers["Cache-Control"] = (
            "public, max-age=31536000, immutable" if fingerprinted else "no-cache"
        )
        return response


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/healthz"


async def error_response(request: Request, error: AppError) -> Response:
    if isinstance(error, SignInRequired) and not wants_json(request):
        return RedirectResponse(f"/sign-in?{urlencode({'next': request.url.path})}", 303)
    if wants_json(request):
        body = {"detail": error.message, "errors": [e.as_dict() for e in error.errors]}
        return JSONResponse(body, status_code=error.status_code, headers=error.headers)
    settings: Settings = request.app.state.settings
    segment = request.url.path.strip("/").split("/")[0]
    lang = segment if segment in settings.languages else settings.default_language
    releases: ReleaseCache = request.app.state.releases
    published = releases.last
    if published is None:
        try:  # the page links to the roles of the latest release when there is one
            published = await run_in_threadpool(releases.refresh)
        except (AppError, SQLAlchemyError):
            published = None
    context = (
        pages.context(published, lang) if published else {"lang": lang, "dir": direction(lang)}
    )
    context |= {"status": error.status_code, "message": error.message, "errors": error.errors}
    return templates.TemplateResponse(
        request, "errors/error.html", context, status_code=error.status_code, headers=error.headers
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def on_app_error(request: Request, exc: AppError) -> Response:
        return await error_response(request, exc)

    @app.exception_handler(HTTPException)
    async def on_http_error(request: Request, exc: HTTPException) -> Response:
        messages = {
            404: "There is no page at this address.",
            405: "This method is not allowed here.",
        }
        message = exc.detail if isinstance(exc.detail, str) else "The request was refused."
        if exc.status_code in messages and message in ("Not Found", "Method Not Allowed"):
            message = messages[exc.status_code]
        response = await error_response(request, AppError(message, exc.status_code))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(SQLAlchemyError)
    async def on_database_error(request: Request, exc: SQLAlchemyError) -> Response:
        # A report the phone could not deliver stays in its outbox, and a retry is idempotent.
        log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return await error_response(request, DatabaseUnavailable())

    @app.exception_handler(RequestValidationError)
    async def on_invalid_request(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            ErrorDetail(error["msg"], ".".join(str(part) for part in error["loc"]))
            for error in exc.errors()
        ]
        summary = "; ".join(str(error) for error in errors)
        return await error_response(
            request, AppError(f"The request is not valid: {summary}", 422, errors)
        )


async def api_not_found(path: str) -> None:
    raise AppError("There is no page at this address.", 404)


def settle(app: FastAPI) -> None:
    """Load the release, then set aside what lives as long as the process (code, templates, the
    release) from the garbage collector, which would otherwise walk it all again and again while
    requests come and go."""
    with suppress(AppError, SQLAlchemyError):  # no release yet, or no database: said later
        app.state.releases.refresh()
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = create_db_engine(settings, checkpoints=False)
    checkpointer = Checkpointer(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        checkpointer.start()
        settle(app)
        yield
        await app.state.intake.stop()
        checkpointer.stop()
        engine.dispose()

    app = FastAPI(
        title="Frontline",
        summary="Strategic trade control guidance for frontline officers.",
        version="1",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.releases = ReleaseCache(engine, settings.release_check_seconds)
    app.state.responses = ResponseCache()
    app.state.intake = Intake(engine, settings, app.state.releases)

    app.add_middleware(GZipMiddleware, minimum_size=500, compresslevel=6)
    app.add_middleware(CachedResponses)
    if settings.require_sign_in:
        app.add_middleware(GuideBehindSignIn, engine=engine)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    install_error_handlers(app)

    app.mount("/static", FingerprintedStaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(health_router)
    app.include_router(content_router)
    app.include_router(pwa_router)
    app.include_router(feedback_router)
    if settings.benchmark_endpoints:
        app.include_router(bench_router)
    app.add_api_route(
        "/api/{path:path}",
        api_not_found,
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    app.include_router(auth_router)
    app.include_router(admin_router)
    app.include_router(review_router)
    app.include_router(content_admin_router)
    app.include_router(pages_router)
    app.include_router(guide_router)
    return app
