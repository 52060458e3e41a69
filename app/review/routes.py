"""The supervisor's review: inbox, report and its triage, charts, exports."""

from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from sqlmodel import Session

from app.auth.deps import Supervisor, supervisor
from app.auth.models import User
from app.auth.pages import check_csrf, render
from app.content.published import Published, ReleaseCache
from app.db import SessionDep, utcnow
from app.errors import AppError
from app.feedback.models import KINDS, Feedback
from app.review import charts as review_charts
from app.review import service as review
from app.review.models import STATUSES

router = APIRouter(
    prefix="/admin/feedback", dependencies=[Depends(supervisor)], include_in_schema=False
)


def latest(request: Request) -> Published | None:
    """The current release, for the filter choices; the review works without one."""
    releases: ReleaseCache = request.app.state.releases
    try:
        return releases.refresh()
    except AppError:
        return None


def release(request: Request, version: int) -> Published | None:
    """The release a report was written on, as the officer saw it."""
    releases: ReleaseCache = request.app.state.releases
    try:
        return releases.version(version)
    except AppError:
        return None


def choices(request: Request, published: Published | None) -> dict[str, Any]:
    return {
        "roles": list(published.roles.values()) if published else [],
        "practices": list(published.practices.values()) if published else [],
        "kinds": KINDS,
        "statuses": STATUSES,
        "sorts": tuple(review.SORTS),
        "languages": request.app.state.settings.languages,
    }


def filters_of(request: Request) -> review.Filters:
    return review.filters_from(request.query_params)


def resolved_url(report: Feedback) -> str | None:
    """The inbox of every report the release that resolved this one resolved."""
    if report.resolved_in is None:
        return None
    return "/admin/feedback" + review.Filters(resolved_in=report.resolved_in).query()


@router.get("")
def inbox(request: Request, session: SessionDep, user: Supervisor) -> Response:
    filters = filters_of(request)
    page = review.inbox(session, filters)
    published = latest(request)
    seen = {v: release(request, v) for v in {report.release_version for report in page.reports}}
    rows = [
        {
            "report": report,
            "item": review.item_in(seen[report.release_version], report),
            "resolved_url": resolved_url(report),
        }
        for report in page.reports
    ]
    context = {
        "page": page,
        "rows": rows,
        "filters": filters,
        "first": (filters.page - 1) * review.PER_PAGE + 1,
        "last": (filters.page - 1) * review.PER_PAGE + len(rows),
        "previous": filters.query(page=filters.page - 1) if filters.page > 1 else None,
        "next": filters.query(page=filters.page + 1) if filters.page < page.pages else None,
        "back": filters.query().removeprefix("?"),
        "sort_links": {sort: filters.query(sort=sort, page=1) for sort in review.SORTS},
        "exports": {
            fmt: f"/admin/feedback/export.{fmt}{filters.query(page=1)}" for fmt in ("csv", "json")
        },
        "charts_url": "/admin/feedback/charts" + filters.query(page=1, sort="newest"),
        "done": done if (done := request.query_params.get("done", "")).isdigit() else "",
        "show_sort": True,
    } | choices(request, published)
    return render(request, "review/inbox.html", context, user=user)


@router.post("/bulk")
def bulk(
    request: Request,
    session: SessionDep,
    user: Supervisor,
    csrf_token: Annotated[str, Form()] = "",
    id: Annotated[list[str] | None, Form()] = None,
    to_status: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
    seen: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """`seen` holds "id:status" for each report the page showed, as it showed it."""
    check_csrf(request, csrf_token)
    # The inbox to go back to, rebuilt from its filters: never a URL taken from the form.
    filters = review.filters_from(dict(parse_qsl(back)))
    pairs = [value.partition(":")[::2] for value in seen or []]
    shown = dict(
        zip(review.form_ids([i for i, _ in pairs], "seen"), [s for _, s in pairs], strict=True)
    )
    changed, _ = review.triage_many(
        session, report_ids=id or [], to_status=to_status, note=note, actor=user, seen=shown
    )
    params = filters.params() | {"done": str(changed)}
    return RedirectResponse(f"/admin/feedback?{urlencode(params)}", status_code=303)


@router.get("/charts")
def charts(request: Request, session: SessionDep, user: Supervisor) -> Response:
    filters = filters_of(request)
    published = latest(request)
    counts = review.chart_counts(session, filters)
    context = {
        "filters": filters,
        "charts": review_charts.charts(counts, filters, published),
        "total": sum(c.count for c in counts.per_practice_and_role),
        "inbox_url": "/admin/feedback" + filters.query(page=1),
        "form_action": "/admin/feedback/charts",
    } | choices(request, published)
    return render(request, "review/charts.html", context, user=user)


def _export(request: Request, session: Session, user: User, format: str) -> Response:
    filters = filters_of(request)
    review.record_export(session, actor=user, filters=filters, format=format)
    now = utcnow()
    engine = request.app.state.engine
    if format == "csv":
        body = review.export_csv(engine, filters)
        media_type = "text/csv; charset=utf-8"
    else:
        body = review.export_json(engine, filters, now)
        media_type = "application/json"
    filename = review.export_filename(format, now.date())
    return StreamingResponse(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/export.csv")
def export_csv(request: Request, session: SessionDep, user: Supervisor) -> Response:
    return _export(request, session, user, "csv")


@router.get("/export.json")
def export_json(request: Request, session: SessionDep, user: Supervisor) -> Response:
    return _export(request, session, user, "json")


@router.get("/{report_id}")
def report_page(
    request: Request, report_id: str, session: SessionDep, user: Supervisor
) -> Response:
    report = review.get_report(session, review.parse_id(report_id))
    published = release(request, report.release_version)
    practice = published.practices.get(report.practice) if published else None
    role = published.roles.get(report.role) if published else None
    context = {
        "report": report,
        "item": review.item_in(published, report),
        "practice": practice,
        "role": role,
        "checklist": practice.checklists.get(report.role, []) if practice else [],
        "release_found": published is not None,
        "history": review.history(session, report.id),
        "resolved_url": resolved_url(report),
        "statuses": [status for status in STATUSES if status != report.status],
        "inbox_url": "/admin/feedback",
    }
    return render(request, "review/report.html", context, user=user)


@router.post("/{report_id}/triage")
def triage(
    request: Request,
    report_id: str,
    session: SessionDep,
    user: Supervisor,
    csrf_token: Annotated[str, Form()] = "",
    to_status: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    seen: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """`seen` is the status the page showed; a report changed since is left as it is."""
    check_csrf(request, csrf_token)
    event = review.triage(
        session,
        report_id=review.parse_id(report_id),
        to_status=to_status,
        note=note,
        actor=user,
        seen=seen or None,
    )
    return RedirectResponse(f"/admin/feedback/{event.feedback_id}", status_code=303)
