import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from app.auth import csrf
from app.content.published import Published, PublishedDep
from app.content.routes import ErrorOut
from app.db import utcnow
from app.errors import AppError, ErrorDetail, NotFound
from app.feedback import service as feedback
from app.feedback.service import FeedbackIn, FeedbackOut, Unprocessable
from app.guide import pages
from app.guide import service as guide
from app.guide.routes import LanguageDep
from app.templating import templates

router = APIRouter(prefix="/api/v1", tags=["feedback"])

MAX_REPORT_BYTES = 16 * 1024
MAX_BATCH = 100


class BatchIn(BaseModel):
    reports: list[dict[str, Any]] = Field(max_length=MAX_BATCH)


class BatchResult(BaseModel):
    index: int
    id: str | None
    status: int
    record: FeedbackOut | None = None
    detail: str | None = None
    errors: list[dict[str, object]] = []


class BatchOut(BaseModel):
    results: list[BatchResult]


class FlagForm(BaseModel):
    """The report form as a browser without JavaScript posts it."""

    csrf_token: str = ""
    id: str = Field(max_length=40)
    item_id: str = Field(default="", max_length=80)
    release_version: int
    created_at: str = Field(max_length=40)
    kind: str = Field(default="", max_length=20)
    comment: str = Field(default="", max_length=4000)
    post: str = Field(default="", max_length=400)
    contact: str = Field(default="", max_length=400)


REFUSALS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorOut, "description": "The body is larger than allowed"},
    415: {"model": ErrorOut, "description": "The body is not JSON"},
    422: {"model": ErrorOut, "description": "A field is missing, malformed or names nothing"},
    429: {"model": ErrorOut, "description": "Too many reports from this client; see Retry-After"},
}


async def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body, refused whole when too large, of another type or malformed."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise AppError("Send the report as JSON, with Content-Type: application/json.", 415)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise AppError(f"The body is larger than {limit:,} bytes.", 413)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise AppError(f"The body is larger than {limit:,} bytes.", 413)
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AppError(f"The body is not valid JSON: {exc}", 422) from exc


async def receive(request: Request, reports: list[Any]) -> list[feedback.Outcome]:
    client = request.client.host if request.client else "unknown"
    outcomes: list[feedback.Outcome] = await request.app.state.intake.receive(reports, client)
    return outcomes


@router.post(
    "/feedback",
    status_code=201,
    response_model=FeedbackOut,
    summary="Receive one field report; a retry with the same id is answered, not stored again",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": FeedbackIn.model_json_schema()}},
        }
    },
    responses={
        200: {"model": FeedbackOut, "description": "This report was received before"},
        409: {"model": ErrorOut, "description": "A different report has this id"},
        **REFUSALS,
    },
)
async def post_feedback(request: Request) -> Response:
    data = await read_json(request, MAX_REPORT_BYTES)
    [outcome] = await receive(request, [data])
    if outcome.error is not None:
        raise outcome.error
    assert outcome.record is not None
    return Response(
        outcome.record.model_dump_json(),
        status_code=201 if outcome.created else 200,
        media_type="application/json",
    )


@router.post(
    "/feedback/batch",
    response_model=BatchOut,
    summary=f"Receive up to {MAX_BATCH} field reports; each is answered on its own",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "reports": {
                                "type": "array",
                                "maxItems": MAX_BATCH,
                                "items": FeedbackIn.model_json_schema(),
                            }
                        },
                        "required": ["reports"],
                    }
                }
            },
        }
    },
    responses=REFUSALS,
)
async def post_feedback_batch(request: Request) -> BatchOut:
    data = await read_json(request, MAX_REPORT_BYTES * MAX_BATCH)
    try:
        batch = TypeAdapter(BatchIn).validate_python(data)
    except ValidationError as exc:
        raise Unprocessable(
            [ErrorDetail(e["msg"], ".".join(["body", *map(str, e["loc"])])) for e in exc.errors()]
        ) from exc
    outcomes = await receive(request, batch.reports)
    results = []
    for index, outcome in enumerate(outcomes):
        report = outcome.data
        report_id = str(report.get("id")) if isinstance(report, dict) and "id" in report else None
        if outcome.error is not None:
            results.append(
                BatchResult(
                    index=index,
                    id=report_id,
                    status=outcome.error.status_code,
                    detail=outcome.error.message,
                    errors=[e.as_dict() for e in outcome.error.errors],
                )
            )
        else:
            status = 201 if outcome.created else 200
            results.append(
                BatchResult(index=index, id=report_id, status=status, record=outcome.record)
            )
    return BatchOut(results=results)


# Mounted only with FRONTLINE_BENCHMARK_ENDPOINTS: the baseline `make bench` compares intake with.
# It sits under the same prefix as intake, so the two are routed alike.
bench_router = APIRouter(prefix="/api/v1", include_in_schema=False)


@bench_router.post("/noop")
async def noop(request: Request) -> Response:
    """Read a JSON body and store nothing."""
    await read_json(request, MAX_REPORT_BYTES)
    return Response(status_code=204)


pages_router = APIRouter(include_in_schema=False)


def flag_page(
    request: Request,
    published: Published,
    lang: str,
    role_id: str,
    practice_id: str,
    item_id: str,
    *,
    form: dict[str, str] | None = None,
    errors: list[ErrorDetail] | None = None,
) -> Response:
    settings = request.app.state.settings
    context = pages.context(published, lang) | flag_context(
        published, role_id, practice_id, item_id
    )
    token = csrf.token_for(request, settings.secret_key.get_secret_value())
    context |= {
        "csrf_token": token,
        "report_id": (form or {}).get("id") or str(uuid.uuid4()),
        # A resent form is the same report: same id, same time.
        "created_at": (form or {}).get("created_at") or utcnow().isoformat(),
        "form": form,
        "errors": errors or [],
    }
    response = templates.TemplateResponse(
        request,
        "feedback/flag.html",
        context,
        status_code=422 if errors else 200,
        headers={"Cache-Control": "no-store"},
    )
    csrf.set_cookie(response, request, token)
    return response


def flag_context(
    published: Published, role_id: str, practice_id: str, item_id: str
) -> dict[str, Any]:
    role = guide.get_role(published, role_id)
    practice = guide.get_practice(published, practice_id)
    items = {item.id: item for item in practice.checklists.get(role.id, [])}
    if item_id and item_id not in items:
        raise NotFound(f"There is no item {item_id!r} in this checklist.")
    return {"role": role, "practice": practice, "item": items.get(item_id)}


@pages_router.get("/{lang}/{role}/{practice}/flag/")
async def flag_form(
    request: Request,
    lang: LanguageDep,
    role: str,
    practice: str,
    published: PublishedDep,
    item: Annotated[str, Query(max_length=80)] = "",
) -> Response:
    return flag_page(request, published, lang, role, practice, item)


@pages_router.post("/{lang}/{role}/{practice}/flag/")
async def flag_submit(
    request: Request,
    lang: LanguageDep,
    role: str,
    practice: str,
    published: PublishedDep,
    form: Annotated[FlagForm, Form()],
) -> Response:
    settings = request.app.state.settings
    csrf.check(request, settings.secret_key.get_secret_value(), form.csrf_token)
    flag_context(published, role, practice, form.item_id)
    data = {
        "id": form.id,
        "kind": form.kind,
        "comment": form.comment,
        "post": form.post,
        "contact": form.contact,
        "role": role,
        "practice": practice,
        "item_id": form.item_id,
        "release_version": form.release_version,
        "language": lang,
        "created_at": form.created_at,
    }
    [outcome] = await receive(request, [data])
    if isinstance(outcome.error, Unprocessable):
        errors = outcome.error.errors
        return flag_page(
            request,
            published,
            lang,
            role,
            practice,
            form.item_id,
            form=form.model_dump(),
            errors=errors,
        )
    if outcome.error is not None:
        raise outcome.error
    return RedirectResponse(f"/{lang}/thanks/", status_code=303)
