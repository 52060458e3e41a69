"""The one template environment: translation and static URLs."""

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from app.config import ROOT
from app.i18n import translations

STATIC_DIR = ROOT / "static"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=256)
def static_hash(path: str) -> str:
    return hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:10]


def static_url(path: str) -> str:
    """A URL that changes whenever the file does, so it can be cached for a year."""
    return f"/static/{path}?v={static_hash(path)}"


@pass_context
def _gettext(context: Context, message: str) -> str:
    return translations(context.get("lang", "en")).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(context.get("lang", "en")).ngettext(singular, plural, n)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["static_url"] = static_url
    return env


templates = Jinja2Templates(env=_environment())


def render(name: str, context: dict[str, Any]) -> str:
    return templates.env.get_template(name).render(context)
