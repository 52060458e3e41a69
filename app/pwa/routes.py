from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from app.caching import JSON, cached_response, request_key
from app.content.published import PublishedDep
from app.content.routes import ErrorOut
from app.guide.service import check_language
from app.i18n import direction
from app.pwa import service as pwa
from app.pwa.service import OfflineManifest, SearchIndex

router = APIRouter()

ROLE = Annotated[str, Query(description="Role id, e.g. customs", max_length=80)]
LANG = Annotated[str, Query(description="Language code, e.g. en", max_length=20)]
REFUSALS: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified since the ETag given in If-None-Match"},
    404: {"model": ErrorOut, "description": "Unknown role or language"},
    503: {"model": ErrorOut, "description": "No release has been published yet"},
}


@router.get(
    "/api/v1/offline-manifest",
    tags=["offline"],
    response_model=OfflineManifest,
    summary="Every URL a phone needs to carry a role offline, each with its hash and size",
    responses=REFUSALS,
)
async def offline_manifest(
    request: Request, published: PublishedDep, role: ROLE, lang: LANG = "en"
) -> Response:
    check_language(lang, request.app.state.settings.languages)
    cache = request.app.state.responses
    entry = cache.get(
        request_key(published.version, request),
        lambda: pwa.offline_manifest(cache, published, lang, role).model_dump_json(),
        JSON,
    )
    return cached_response(request.headers, entry)


@router.get(
    "/api/v1/search-index",
    tags=["offline"],
    response_model=SearchIndex,
    summary="The checklist items of a role and the glossary, for search with no network",
    responses=REFUSALS,
)
async def search_index(
    request: Request, published: PublishedDep, role: ROLE, lang: LANG = "en"
) -> Response:
    check_language(lang, request.app.state.settings.languages)
    entry = request.app.state.responses.get(
        request_key(published.version, request),
        lambda: pwa.search_index(published, lang, role).model_dump_json(),
        JSON,
    )
    return cached_response(request.headers, entry)


@router.get("/sw.js", include_in_schema=False)
def service_worker(request: Request) -> Response:
    settings = request.app.state.settings
    script = pwa.service_worker(settings.languages, settings.update_check_seconds)
    headers = {"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"}
    return Response(script, media_type="text/javascript", headers=headers)


@router.get("/manifest.webmanifest", include_in_schema=False)
def web_manifest(request: Request) -> JSONResponse:
    lang = request.app.state.settings.default_language
    return JSONResponse(
        pwa.web_manifest(lang, direction(lang)),
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )
