"""Who is asking: the signed-in account, and the guards that protected routers declare."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from app.auth import service as auth
from app.auth.models import ROLES, User
from app.db import SessionDep
from app.errors import Forbidden, SignInRequired

COOKIE = "frontline_session"


def current_user(request: Request, session: SessionDep) -> User | None:
    return auth.user_for_token(session, request.cookies.get(COOKIE, ""))


CurrentUser = Annotated[User | None, Depends(current_user)]


def require(*roles: str) -> Callable[[User | None], User]:
    def guard(user: CurrentUser) -> User:
        if user is None:
            raise SignInRequired()
        if user.role not in roles:
            raise Forbidden()
        return user

    guard.__name__ = f"require_{'_or_'.join(roles)}"
    return guard


signed_in = require(*ROLES)
supervisor = require("supervisor", "administrator")
trainer = require("trainer", "administrator")
administrator = require("administrator")

SignedIn = Annotated[User, Depends(signed_in)]
Supervisor = Annotated[User, Depends(supervisor)]
Trainer = Annotated[User, Depends(trainer)]
Administrator = Annotated[User, Depends(administrator)]
