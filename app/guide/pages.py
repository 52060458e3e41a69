"""Every cacheable guide page: what it renders, its URL, and the set a phone keeps offline."""

import re
from collections.abc import Callable
from typing import Any

from babel.dates import format_date

from app.caching import CachedBody, ResponseCache
from app.content.published import Published
from app.guide import service as guide
from app.i18n import direction, translations
from app.templating import render

# Every page says which release it shows, inside this marker. A phone that already holds a page
# whose content did not change rewrites only the marker, instead of downloading it again.
RELEASE_MARKER = re.compile(rb'<span data-release="[^"]*">[^<]*</span>')

PAGES: dict[str, tuple[str, Callable[..., dict[str, Any]]]] = {
    "home": ("guide/home.html", lambda published: {}),
    "glossary": ("guide/glossary.html", lambda published: {}),
    "sources": ("guide/sources.html", lambda published: {}),
    "search": ("guide/search.html", guide.search_page),
    "offline": ("guide/offline.html", lambda published: {}),
    "outbox": ("feedback/outbox.html", lambda published: {}),
    "thanks": ("feedback/thanks.html", lambda published: {}),
    "matrix": ("guide/matrix.html", guide.matrix_page),
    "role": ("guide/role.html", guide.role_page),
    "practice": ("guide/practice.html", guide.practice_page),
}


def release_label(published: Published, lang: str) -> str:
    text = translations(lang).gettext("Guidance version %(version)s, %(date)s")
    date = format_date(published.released_at, format="medium", locale=lang)
    return text % {"version": published.version, "date": date}


def context(published: Published, lang: str) -> dict[str, Any]:
    return {
        "lang": lang,
        "dir": direction(lang),
        "release": published,
        "release_label": release_label(published, lang),
        "roles": published.guidance.roles,
    }


def render_page(published: Published, lang: str, name: str, *args: str) -> str:
    template, build = PAGES[name]
    return render(template, context(published, lang) | build(published, *args))


def url_for(lang: str, name: str, *args: str) -> str:
    if name == "home":
        return f"/{lang}/"
    if name in ("role", "practice"):
        return f"/{lang}/{'/'.join(args)}/"
    return f"/{lang}/{name}/"


def cached_page(
    cache: ResponseCache, published: Published, lang: str, name: str, *args: str
) -> CachedBody:
    """The page rendered once per release, kept in memory by its URL after."""
    return cache.get(
        (published.version, url_for(lang, name, *args), ""),
        lambda: render_page(published, lang, name, *args),
    )


def role_pack(published: Published, lang: str, role_id: str) -> dict[str, tuple[str, ...]]:
    """The pages an officer of `role_id` needs with no network, by URL."""
    guide.get_role(published, role_id)
    names: list[tuple[str, ...]] = [("home",), ("role", role_id)]
    names += [("practice", role_id, practice.id) for practice in published.guidance.practices]
    names += [(name,) for name in ("glossary", "sources", "matrix", "search", "offline", "outbox")]
    return {url_for(lang, *page): page for page in names}
