from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse

from app.caching import cached_response, request_key
from app.content.published import Published, PublishedDep
from app.guide import pages
from app.guide import service as guide

router = APIRouter(include_in_schema=False)


async def language(request: Request, lang: str) -> str:
    """The page's language, refused before any work if the guidance is not in it."""
    guide.check_language(lang, request.app.state.settings.languages)
    return lang


LanguageDep = Annotated[str, Depends(language)]


def page(request: Request, published: Published, lang: str, name: str, *args: str) -> Response:
    entry = pages.cached_page(request.app.state.responses, published, lang, name, *args)
    return cached_response(request.headers, entry)


@router.get("/")
def root(request: Request) -> RedirectResponse:
    settings = request.app.state.settings
    accepted = request.headers.get("accept-language", "")
    wanted = [part.split(";")[0].strip().split("-")[0].lower() for part in accepted.split(",")]
    lang = next((code for code in wanted if code in settings.languages), settings.default_language)
    return RedirectResponse(f"/{lang}/", status_code=302)


@router.get("/{lang}/")
async def home(request: Request, lang: LanguageDep, published: PublishedDep) -> Response:
    return page(request, published, lang, "home")


@router.get("/{lang}/glossary/")
async def glossary(request: Request, lang: LanguageDep, published: PublishedDep) -> Response:
    return page(request, published, lang, "glossary")


@router.get("/{lang}/sources/")
async def sources(request: Request, lang: LanguageDep, published: PublishedDep) -> Response:
    return page(request, published, lang, "sources")


@router.get("/{lang}/offline/")
async def offline(request: Request, lang: LanguageDep, published: PublishedDep) -> Response:
    return page(request, published, lang, "offline")


@router.get("/{lang}/outbox/")
async def outbox(request: Request, lang: LanguageDep, published: PublishedDep) -> Response:
    return page(request, published, lang, "outbox")


@router.get("/{lang}/thanks/")
async def thanks(request: Request, lang: LanguageDep, published: PublishedDep) -> Response:
    return page(request, published, lang, "thanks")


@router.get("/{lang}/matrix/")
async def matrix(request: Request, lang: LanguageDep, published: PublishedDep) -> Response:
    return page(request, published, lang, "matrix")


@router.get("/{lang}/search/")
async def search(
    request: Request,
    lang: LanguageDep,
    published: PublishedDep,
    q: Annotated[str, Query(max_length=guide.MAX_QUERY_LENGTH)] = "",
    role: Annotated[str, Query(max_length=80)] = "",
) -> Response:
    if not q and not role:
        return page(request, published, lang, "search")
    # Searches repeat (the same words at many posts): each answer is kept like a page.
    entry = request.app.state.responses.get(
        request_key(published.version, request),
        lambda: pages.render_page(published, lang, "search", q, role),
    )
    return cached_response(request.headers, entry)


@router.get("/{lang}/{role}/")
async def role_page(
    request: Request, lang: LanguageDep, role: str, published: PublishedDep
) -> Response:
    return page(request, published, lang, "role", role)


@router.get("/{lang}/{role}/{practice}/")
async def practice_page(
    request: Request, lang: LanguageDep, role: str, practice: str, published: PublishedDep
) -> Response:
    return page(request, published, lang, "practice", role, practice)
