from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse

from app.caching import cached_response
from app.content.published import Published, PublishedDep
from app.guide import service as guide
from app.i18n import direction
from app.templating import render

router = APIRouter(include_in_schema=False)


async def language(request: Request, lang: str) -> str:
    """The page's language, refused before any work if the guidance is not in it."""
    guide.check_language(lang, request.app.state.settings.languages)
    return lang


LanguageDep = Annotated[str, Depends(language)]


def page_context(request: Request, published: Published, lang: str) -> dict[str, Any]:
    return {
        "lang": lang,
        "dir": direction(lang),
        "release": published,
        "roles": published.guidance.roles,
        "path": request.url.path,
    }


def page(
    request: Request,
    published: Published,
    lang: str,
    template: str,
    build: Any = None,
    key: tuple[Any, ...] = (),
) -> Response:
    """Render `template` once per release and language, and serve it from memory after."""

    def render_page() -> str:
        context = page_context(request, published, lang)
        if build is not None:
            context.update(build())
        return render(template, context)

    cache_key = (published.version, lang, template, *key)
    entry = request.app.state.responses.get(cache_key, render_page)
    return cached_response(request, entry, "text/html; charset=utf-8")


@router.get("/")
def root(request: Request) -> RedirectResponse:
    settings = request.app.state.settings
    accepted = request.headers.get("accept-language", "")
    wanted = [part.split(";")[0].strip().split("-")[0].lower() for part in accepted.split(",")]
    lang = next((code for code in wanted if code in settings.languages), settings.default_language)
    return RedirectResponse(f"/{lang}/", status_code=302)


@router.get("/{lang}/")
async def home(request: Request, lang: LanguageDep, published: PublishedDep) -> Response:
    return page(request, published, lang, "guide/home.html")


@router.get("/{lang}/glossary/")
async def glossary(request: Request, lang: LanguageDep, published: PublishedDep) -> Response:
    return page(request, published, lang, "guide/glossary.html")


@router.get("/{lang}/sources/")
async def sources(request: Request, lang: LanguageDep, published: PublishedDep) -> Response:
    return page(request, published, lang, "guide/sources.html")


@router.get("/{lang}/matrix/")
async def matrix(request: Request, lang: LanguageDep, published: PublishedDep) -> Response:
    return page(request, published, lang, "guide/matrix.html", lambda: guide.matrix_page(published))


@router.get("/{lang}/search/")
async def search(
    request: Request,
    lang: LanguageDep,
    published: PublishedDep,
    q: Annotated[str, Query(max_length=guide.MAX_QUERY_LENGTH)] = "",
    role: str = "",
) -> Response:
    results = guide.search(published, q, role or None)
    context = page_context(request, published, lang) | {"results": results, "role_id": role}
    return Response(render("guide/search.html", context), media_type="text/html; charset=utf-8")


@router.get("/{lang}/{role}/")
async def role_page(
    request: Request, lang: LanguageDep, role: str, published: PublishedDep
) -> Response:
    return page(
        request,
        published,
        lang,
        "guide/role.html",
        lambda: guide.role_page(published, role),
        (role,),
    )


@router.get("/{lang}/{role}/{practice}/")
async def practice_page(
    request: Request, lang: LanguageDep, role: str, practice: str, published: PublishedDep
) -> Response:
    return page(
        request,
        published,
        lang,
        "guide/practice.html",
        lambda: guide.practice_page(published, role, practice),
        (role, practice),
    )
