from datetime import datetime

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from app.caching import JSON, cached_response, request_key
from app.content.published import Published, PublishedDep
from app.content.schema import Practice, Regime, Role, Source, Term
from app.guide.service import check_language

router = APIRouter(prefix="/api/v1", tags=["content"])


class ErrorOut(BaseModel):
    detail: str
    errors: list[dict[str, object]] = []


class PracticeOut(Practice):
    number: int


class ContentOut(BaseModel):
    version: int
    released_at: datetime
    content_hash: str
    notes: str
    language: str
    roles: list[Role]
    regimes: list[Regime]
    practices: list[PracticeOut]
    glossary: list[Term]
    sources: list[Source]
    about: str


def content_out(published: Published, lang: str) -> ContentOut:
    guidance = published.guidance
    return ContentOut(
        version=published.version,
        released_at=published.released_at,
        content_hash=published.content_hash,
        notes=published.notes,
        language=lang,
        roles=guidance.roles,
        regimes=guidance.regimes,
        practices=[
            PracticeOut(**practice.model_dump(), number=number)
            for number, practice in enumerate(guidance.practices, start=1)
        ],
        glossary=published.glossary,
        sources=guidance.sources,
        about=guidance.about,
    )


@router.get(
    "/content",
    response_model=ContentOut,
    summary="The current release of the guidance, whole",
    responses={
        304: {"description": "Not modified since the ETag given in If-None-Match"},
        404: {"model": ErrorOut, "description": "No guidance in that language"},
        503: {"model": ErrorOut, "description": "No release has been published yet"},
    },
)
async def get_content(
    request: Request,
    published: PublishedDep,
    lang: str = Query("en", description="Language code, e.g. en", max_length=20),
) -> Response:
    check_language(lang, request.app.state.settings.languages)
    entry = request.app.state.responses.get(
        request_key(published.version, request),
        lambda: content_out(published, lang).model_dump_json(),
        JSON,
    )
    return cached_response(request.headers, entry)
