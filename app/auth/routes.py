from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from app.audit import service as audit
from app.auth import service as auth
from app.auth.deps import COOKIE, Administrator, CurrentUser, SignedIn, administrator
from app.auth.models import ROLES, User
from app.auth.pages import check_csrf, render
from app.db import SessionDep
from app.errors import AppError

router = APIRouter(include_in_schema=False)
admin_router = APIRouter(
    prefix="/admin", dependencies=[Depends(administrator)], include_in_schema=False
)

HOME = {
    "administrator": "/admin/users",
    "supervisor": "/admin/feedback",
    "trainer": "/admin/content",
    "officer": "/",
}


class SignInForm(BaseModel):
    csrf_token: str = ""
    email: str = Field(default="", max_length=254)
    password: str = Field(default="", max_length=1024)
    next: str = Field(default="", max_length=500)


class PasswordForm(BaseModel):
    csrf_token: str = ""
    current_password: str = Field(default="", max_length=1024)
    new_password: str = Field(default="", max_length=1024)


class SetupForm(BaseModel):
    csrf_token: str = ""
    email: str = Field(default="", max_length=254)
    password: str = Field(default="", max_length=1024)


class UserForm(BaseModel):
    csrf_token: str = ""
    email: str = Field(default="", max_length=254)
    role: str = Field(default="", max_length=20)
    password: str = Field(default="", max_length=1024)


class ActionForm(BaseModel):
    csrf_token: str = ""
    role: str = Field(default="", max_length=20)
    password: str = Field(default="", max_length=1024)


def local_path(target: str, fallback: str) -> str:
    """`target` when it is a path on this site, so a link cannot send someone elsewhere."""
    parts = urlsplit(target)
    if (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not parts.netloc
    ):
        return target
    return fallback


def set_session_cookie(request: Request, response: Response, token: str, hours: float) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(hours * 3600),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/sign-in")
def sign_in_page(
    request: Request, user: CurrentUser, next: Annotated[str, Query(max_length=500)] = ""
) -> Response:
    return render(request, "auth/sign_in.html", {"next": next, "form": None}, user=user)


@router.post("/sign-in")
def sign_in(request: Request, session: SessionDep, form: Annotated[SignInForm, Form()]) -> Response:
    check_csrf(request, form.csrf_token)
    settings = request.app.state.settings
    try:
        user = auth.authenticate(
            session,
            email=form.email,
            password=form.password,
            client=client_address(request),
            settings=settings,
        )
    except AppError as error:
        context = {"next": form.next, "form": form, "error": error}
        return render(
            request,
            "auth/sign_in.html",
            context,
            user=None,
            status_code=error.status_code,
            headers=error.headers,
        )
    token = auth.start_session(session, user, hours=settings.session_hours)
    response = RedirectResponse(local_path(form.next, HOME[user.role]), status_code=303)
    set_session_cookie(request, response, token, settings.session_hours)
    return response


@router.post("/sign-out")
def sign_out(
    request: Request, session: SessionDep, user: SignedIn, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(request, csrf_token)
    auth.end_session(session, request.cookies.get(COOKIE, ""), user)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/account/password")
def password_page(request: Request, user: SignedIn) -> Response:
    return render(request, "auth/password.html", {"done": False}, user=user)


@router.post("/account/password")
def change_password(
    request: Request, session: SessionDep, user: SignedIn, form: Annotated[PasswordForm, Form()]
) -> Response:
    check_csrf(request, form.csrf_token)
    try:
        auth.change_password(
            session,
            user=user,
            current=form.current_password,
            new=form.new_password,
            keep_session=request.cookies.get(COOKIE, ""),
        )
    except AppError as error:
        return render(
            request,
            "auth/password.html",
            {"error": error, "done": False},
            user=user,
            status_code=error.status_code,
        )
    return render(request, "auth/password.html", {"done": True}, user=user)


@router.get("/setup/{token}")
def setup_page(request: Request, session: SessionDep, token: str) -> Response:
    auth.check_setup_token(session, token)
    return render(request, "auth/setup.html", {"token": token, "form": None}, user=None)


@router.post("/setup/{token}")
def setup(
    request: Request, session: SessionDep, token: str, form: Annotated[SetupForm, Form()]
) -> Response:
    check_csrf(request, form.csrf_token)
    try:
        user = auth.use_setup_token(session, token=token, email=form.email, password=form.password)
    except AppError as error:
        if error.status_code in (404, 409):
            raise
        context = {"token": token, "form": form, "error": error}
        return render(request, "auth/setup.html", context, user=None, status_code=error.status_code)
    settings = request.app.state.settings
    token = auth.start_session(session, user, hours=settings.session_hours)
    response = RedirectResponse("/admin/users", status_code=303)
    set_session_cookie(request, response, token, settings.session_hours)
    return response


# Administrators: accounts and the audit log


def users_page(
    request: Request,
    session: SessionDep,
    user: User,
    *,
    form: UserForm | None = None,
    error: AppError | None = None,
    notice: str = "",
) -> Response:
    context = {
        "users": auth.users(session),
        "roles": ROLES,
        "form": form,
        "error": error,
        "notice": notice,
    }
    return render(
        request,
        "auth/users.html",
        context,
        user=user,
        status_code=error.status_code if error else 200,
    )


@admin_router.get("/users")
def list_users(
    request: Request,
    session: SessionDep,
    user: Administrator,
    notice: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    return users_page(request, session, user, notice=notice)


@admin_router.post("/users")
def create_user(
    request: Request, session: SessionDep, user: Administrator, form: Annotated[UserForm, Form()]
) -> Response:
    check_csrf(request, form.csrf_token)
    try:
        created = auth.create_user(
            session, email=form.email, role=form.role, password=form.password, actor=user
        )
    except AppError as error:
        return users_page(request, session, user, form=form, error=error)
    return RedirectResponse(f"/admin/users?notice=Created+{created.email}", status_code=303)


@admin_router.post("/users/{user_id}/{action}")
def change_user(
    request: Request,
    session: SessionDep,
    user: Administrator,
    user_id: int,
    action: str,
    form: Annotated[ActionForm, Form()],
) -> Response:
    check_csrf(request, form.csrf_token)
    try:
        if action == "disable":
            changed = auth.set_disabled(session, user_id=user_id, disabled=True, actor=user)
        elif action == "enable":
            changed = auth.set_disabled(session, user_id=user_id, disabled=False, actor=user)
        elif action == "role":
            changed = auth.set_role(session, user_id=user_id, role=form.role, actor=user)
        elif action == "reset":
            changed = auth.reset_password(
                session, user_id=user_id, password=form.password, actor=user
            )
        else:
            raise AppError(f"Unknown action {action!r}.", 404)
    except AppError as error:
        if error.status_code == 404:
            raise
        return users_page(request, session, user, error=error)
    notice = {"disable": "Disabled", "enable": "Enabled", "role": "Changed the role of"}.get(
        action, "Set a new password for"
    )
    return RedirectResponse(
        f"/admin/users?notice={notice.replace(' ', '+')}+{changed.email}", status_code=303
    )


@admin_router.get("/audit")
def audit_log(
    request: Request,
    session: SessionDep,
    user: Administrator,
    action: Annotated[str, Query(max_length=40)] = "",
    actor: Annotated[str, Query(max_length=254)] = "",
    since: Annotated[datetime | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    if action and action not in audit.ACTIONS:
        raise AppError(f"Unknown action {action!r}.", 422)
    found = audit.events(
        session, action=action or None, actor=actor or None, since=since, page=page
    )
    context = {
        "found": found,
        "actions": audit.ACTIONS,
        "action": action,
        "actor": actor,
        "since": since,
    }
    return render(request, "auth/audit.html", context, user=user)
