"""Trainers' pages: edit the draft of the next release, preview it, compare, publish, roll back,
and move releases in and out as bundles."""

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.auth.deps import Trainer, trainer
from app.auth.models import User
from app.auth.pages import check_csrf, render
from app.content import bundle, drafts, editor
from app.content import service as content
from app.content.models import Draft, Release
from app.content.published import Published
from app.content.schema import Guidance
from app.db import SessionDep, utcnow
from app.errors import AppError, ErrorDetail, NotFound
from app.feedback.models import Feedback
from app.guide import pages
from app.review import service as review

router = APIRouter(
    prefix="/admin/content", dependencies=[Depends(trainer)], include_in_schema=False
)

PREVIEW_PAGES = ("glossary", "sources", "matrix")
TEXT = Annotated[str, Form(max_length=4000)]
MAX_NUMBER = 2**31 - 1  # the largest a database integer column holds
Revision = Annotated[int, Form(ge=0, le=MAX_NUMBER)]
NOTICE = re.compile(r"published-v\d+|discarded|imported|saved-[a-z]+")


@dataclass(frozen=True)
class Edited:
    """An item added or changed in the draft, as the publish form lists it."""

    role: str
    practice: str
    id: str
    action: str
    kind: str  # "added" or "changed"


class ItemForm(BaseModel):
    """The item form as the browser posts it."""

    csrf_token: str = ""
    revision: int = Field(default=0, ge=0, le=MAX_NUMBER)
    action: str = Field(default="", max_length=4000)
    why: str = Field(default="", max_length=4000)
    refs: str = Field(default="", max_length=4000)
    regimes: list[str] = []
    terms: list[str] = []
    flags: list[str] = []


def _draft(session: Session, user: User) -> tuple[Draft, Guidance, Release]:
    draft = drafts.open_draft(session, user)
    base = content.get_release(session, draft.based_on)
    if base is None:
        raise NotFound(f"Release v{draft.based_on}, the draft's start, is not in the database.")
    return draft, Guidance.model_validate(draft.body), base


def _field_under(prefix: str) -> Callable[[str], str | None]:
    """Which field of a form a problem at `loc` belongs to, for the part of the guidance the
    form edits (at `prefix`): `practices[0].checklists.customs[2].refs[0].source` -> `refs`."""

    def field(loc: str) -> str | None:
        if not loc.startswith(prefix):
            return None
        return loc.removeprefix(prefix).split(".")[0].split("[")[0]

    return field


def _page(
    request: Request,
    name: str,
    user: User,
    context: dict[str, Any],
    *,
    error: AppError | None = None,
) -> Response:
    fields: dict[str, list[str]] = {}
    general: list[ErrorDetail] = []
    for detail in error.errors if error else []:
        field = context.get("error_field", lambda loc: None)(detail.loc)
        if field:
            fields.setdefault(field, []).append(detail.message)
        else:
            general.append(detail)
    page = context | {"error": error, "field_errors": fields, "general_errors": general}
    return render(request, name, page, user=user, status_code=error.status_code if error else 200)


def _edited(changes: dict[str, drafts.Changes], guidance: Guidance) -> list[Edited]:
    actions = _titles(guidance)
    return [
        Edited(role, change.practice_id, change.item_id, actions[(role, change.item_id)], kind)
        for role, role_changes in changes.items()
        for kind, found in (("added", role_changes.added), ("changed", role_changes.changed))
        for change in found
    ]


def _titles(guidance: Guidance) -> dict[tuple[str, str], str]:
    return {
        (role, item.id): item.action
        for practice in guidance.practices
        for role, items in practice.checklists.items()
        for item in items
    }


@router.get("")
def overview(request: Request, session: SessionDep, user: Trainer) -> Response:
    return _overview(request, session, user)


def _overview(
    request: Request,
    session: Session,
    user: User,
    *,
    error: AppError | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    draft, guidance, base = _draft(session, user)
    old = Guidance.model_validate(base.body)
    changes = drafts.compare(old, guidance)
    # The bodies stay in the database: the list needs only each release's facts.
    releases = session.execute(
        select(Release.version, Release.created_at, Release.notes).order_by(
            col(Release.version).desc()
        )
    ).all()
    titles = _titles(old) | _titles(guidance)
    context = {
        "draft": draft,
        "guidance": guidance,
        "base": base,
        "answered": _answered(session, changes, titles),
        "latest": releases[0].version if releases else None,
        "changes": {role: found for role, found in changes.items() if found},
        # What compare does not list item by item: the parts edited as their content/ file.
        "parts_changed": [
            part for part in PART_NAMES if getattr(old, part) != getattr(guidance, part)
        ],
        "roles": {role.id: role for role in [*guidance.roles, *old.roles]},
        "practices": {p.id: p for p in [*old.practices, *guidance.practices]},
        "titles": titles,
        "edited": _edited(changes, guidance),
        "releases": releases,
        "languages": request.app.state.settings.languages,
        "form": form or {},
        "notice": done if NOTICE.fullmatch(done := request.query_params.get("done", "")) else "",
    }
    return _page(request, "content/overview.html", user, context, error=error)


def _answerable_places(changes: dict[str, drafts.Changes]) -> set[review.Place]:
    """The items whose open field reports a release may answer: those it changes or removes."""
    return {
        (role, change.practice_id, change.item_id)
        for role, found in changes.items()
        for change in [*found.changed, *found.removed]
    }


def _answered(
    session: Session, changes: dict[str, drafts.Changes], titles: dict[tuple[str, str], str]
) -> list[tuple[str, review.OpenFeedback]]:
    """The open field reports on each item the draft changes or removes, with its action: the
    reports the release may answer. Only the practices the draft touches are read."""
    places = {place: titles[(place[0], str(place[2]))] for place in _answerable_places(changes)}
    found: dict[review.Place, review.OpenFeedback] = {}
    for practice_id in sorted({practice for _, practice, _ in places}):
        found |= review.open_feedback(session, practice_id)
    return [(title, found[place]) for place, title in sorted(places.items()) if place in found]


def _answerable(session: Session, user: User, values: list[str]) -> list[uuid.UUID]:
    """The reports a publish may resolve: open ones on an item the draft changes or removes,
    as the publish form lists them. Any other is refused, naming the field."""
    ids = review.form_ids(values, "resolve")
    if not ids:
        return ids
    draft, guidance, base = _draft(session, user)
    places = _answerable_places(drafts.compare(Guidance.model_validate(base.body), guidance))
    reports = session.exec(select(Feedback).where(col(Feedback.id).in_(ids))).all()
    allowed = {
        report.id
        for report in reports
        if (report.role, report.practice, report.item_id) in places
        and report.status in review.OPEN_STATUSES
    }
    if refused := [value for value in ids if value not in allowed]:
        raise AppError(
            "A release can resolve only open reports on the items it changes or removes.",
            422,
            [ErrorDetail(f"report {value} is not one of them", "resolve") for value in refused],
        )
    return ids


# Practice texts and checklists


@router.get("/practices/{practice_id}")
def practice_page(
    request: Request, practice_id: str, session: SessionDep, user: Trainer
) -> Response:
    return _practice(request, session, user, practice_id)


def _practice(
    request: Request,
    session: Session,
    user: User,
    practice_id: str,
    *,
    error: AppError | None = None,
    form: dict[str, Any] | None = None,
    revision: int | None = None,
) -> Response:
    """`revision`: the one the trainer's form was made from, kept when it is drawn again after
    a refused save, so that saving it again cannot overwrite what someone saved meanwhile."""
    draft, guidance, _ = _draft(session, user)
    practice = next((p for p in guidance.practices if p.id == practice_id), None)
    if practice is None:
        raise NotFound(f"There is no practice {practice_id!r} in the draft.")
    index = guidance.practices.index(practice)
    error_field = _field_under(f"practices[{index}].")

    context = {
        "draft": draft,
        "guidance": guidance,
        "practice": practice,
        "form": form
        or {"title": practice.title, "summary": practice.summary, "regimes": practice.regimes},
        "revision": draft.revision if revision is None else revision,
        "error_field": error_field,
        "preview_lang": request.app.state.settings.default_language,
        "feedback": review.open_feedback(session, practice_id),
    }
    return _page(request, "content/practice.html", user, context, error=error)


@router.post("/practices/{practice_id}")
def save_practice(
    request: Request,
    practice_id: str,
    session: SessionDep,
    user: Trainer,
    csrf_token: Annotated[str, Form()] = "",
    revision: Revision = 0,
    title: TEXT = "",
    summary: TEXT = "",
    regime_id: Annotated[list[str] | None, Form()] = None,
    regime_text: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """The practice's texts; `regime_id` and `regime_text` pair up, one per regime."""
    check_csrf(request, csrf_token)
    regimes = dict(zip(regime_id or [], regime_text or [], strict=False))
    form = {"title": title, "summary": summary, "regimes": regimes}
    try:
        draft = drafts.open_draft(session, user)
        body = editor.set_practice_texts(
            draft.body, practice_id, title=title, summary=summary, regimes=regimes
        )
        drafts.save_draft(session, body, revision=revision, actor=user)
    except NotFound:
        raise
    except AppError as error:
        return _practice(
            request, session, user, practice_id, error=error, form=form, revision=revision
        )
    return RedirectResponse(f"/admin/content/practices/{practice_id}?saved=1", status_code=303)


def _item_form(posted: ItemForm) -> dict[str, Any]:
    """The item's fields as the form shows them: the markers as two booleans."""
    return {
        "action": posted.action,
        "why": posted.why,
        "refs": posted.refs,
        "regimes": posted.regimes,
        "terms": posted.terms,
        "red_flag": "red_flag" in posted.flags,
        "critical": "critical" in posted.flags,
    }


def _refs_text(refs: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{ref['source']} | {ref['at']}" if ref.get("at") else ref["source"] for ref in refs
    )


def _item_body(form: dict[str, Any]) -> dict[str, Any]:
    """The item as the draft stores it, from the form: one reference per line, "source | at"."""
    refs = []
    for line in form["refs"].splitlines():
        source, _, at = line.partition("|")
        if source.strip():
            refs.append({"source": source.strip(), "at": at.strip() or None})
    return {
        "action": form["action"],
        "why": form["why"],
        "refs": refs,
        "regimes": form["regimes"],
        "red_flag": form["red_flag"],
        "critical": form["critical"],
        "terms": form["terms"],
    }


@router.get("/practices/{practice_id}/{role_id}/add")
def new_item_page(
    request: Request, practice_id: str, role_id: str, session: SessionDep, user: Trainer
) -> Response:
    return _item(request, session, user, practice_id, role_id, None)


@router.get("/practices/{practice_id}/{role_id}/items/{item_id}")
def item_page(
    request: Request,
    practice_id: str,
    role_id: str,
    item_id: str,
    session: SessionDep,
    user: Trainer,
) -> Response:
    return _item(request, session, user, practice_id, role_id, item_id)


def _item(
    request: Request,
    session: Session,
    user: User,
    practice_id: str,
    role_id: str,
    item_id: str | None,
    *,
    error: AppError | None = None,
    form: dict[str, Any] | None = None,
    revision: int | None = None,
) -> Response:
    draft, guidance, _ = _draft(session, user)
    items = editor.checklist(draft.body, practice_id, role_id)
    index = editor.item_index(items, item_id) if item_id else len(items)
    if form is None:
        item = items[index] if item_id else {"refs": [], "regimes": [], "terms": []}
        form = {
            "action": item.get("action", ""),
            "why": item.get("why", ""),
            "refs": _refs_text(item["refs"]),
            "regimes": item["regimes"],
            "terms": item["terms"],
            "red_flag": item.get("red_flag", False),
            "critical": item.get("critical", False),
        }
    practice_index = editor.practice_index(draft.body, practice_id)
    error_field = _field_under(f"practices[{practice_index}].checklists.{role_id}[{index}].")

    context = {
        "draft": draft,
        "guidance": guidance,
        "practice": guidance.practices[practice_index],
        "role": next(role for role in guidance.roles if role.id == role_id),
        "item_id": item_id,
        "form": form,
        "revision": draft.revision if revision is None else revision,
        "error_field": error_field,
    }
    return _page(request, "content/item.html", user, context, error=error)


@router.post("/practices/{practice_id}/{role_id}/add")
def add_item(
    request: Request,
    practice_id: str,
    role_id: str,
    session: SessionDep,
    user: Trainer,
    posted: Annotated[ItemForm, Form()],
) -> Response:
    check_csrf(request, posted.csrf_token)
    return _save_item(request, session, user, practice_id, role_id, None, posted)


@router.post("/practices/{practice_id}/{role_id}/items/{item_id}")
def save_item(
    request: Request,
    practice_id: str,
    role_id: str,
    item_id: str,
    session: SessionDep,
    user: Trainer,
    posted: Annotated[ItemForm, Form()],
) -> Response:
    check_csrf(request, posted.csrf_token)
    return _save_item(request, session, user, practice_id, role_id, item_id, posted)


def _save_item(
    request: Request,
    session: Session,
    user: User,
    practice_id: str,
    role_id: str,
    item_id: str | None,
    posted: ItemForm,
) -> Response:
    revision = posted.revision
    form = _item_form(posted)
    try:
        draft = drafts.open_draft(session, user)
        body, saved_id = editor.put_item(
            draft.body, practice_id, role_id, _item_body(form), item_id=item_id
        )
        drafts.save_draft(session, body, revision=revision, actor=user)
    except NotFound:
        raise
    except AppError as error:
        return _item(
            request,
            session,
            user,
            practice_id,
            role_id,
            item_id,
            error=error,
            form=form,
            revision=revision,
        )
    return RedirectResponse(
        f"/admin/content/practices/{practice_id}?saved={saved_id}#{role_id}-{saved_id}",
        status_code=303,
    )


@router.post("/practices/{practice_id}/{role_id}/items/{item_id}/{change}")
def change_item(
    request: Request,
    practice_id: str,
    role_id: str,
    item_id: str,
    change: str,
    session: SessionDep,
    user: Trainer,
    csrf_token: Annotated[str, Form()] = "",
    revision: Revision = 0,
) -> Response:
    """Move an item up or down its checklist, or remove it."""
    check_csrf(request, csrf_token)
    draft = drafts.open_draft(session, user)
    if change == "up":
        body = editor.move_item(draft.body, practice_id, role_id, item_id, -1)
    elif change == "down":
        body = editor.move_item(draft.body, practice_id, role_id, item_id, 1)
    elif change == "remove":
        body = editor.remove_item(draft.body, practice_id, role_id, item_id)
    else:
        raise NotFound(f"There is no change {change!r}: move up, down, or remove.")
    try:
        drafts.save_draft(session, body, revision=revision, actor=user)
    except AppError as error:
        return _practice(request, session, user, practice_id, error=error)
    anchor = f"#{role_id}" if change == "remove" else f"#{role_id}-{item_id}"
    return RedirectResponse(f"/admin/content/practices/{practice_id}{anchor}", status_code=303)


# Roles, regimes, sources, glossary (as their YAML files) and the about text


PART_NAMES = (*editor.PARTS, "about")


def _part_text(body: dict[str, Any], part: str) -> str:
    if part == "about":
        return str(body["about"])
    return editor.part_as_yaml(body, part)


@router.get("/parts/{part}")
def part_page(request: Request, part: str, session: SessionDep, user: Trainer) -> Response:
    return _part(request, session, user, part)


def _part(
    request: Request,
    session: Session,
    user: User,
    part: str,
    *,
    error: AppError | None = None,
    text: str | None = None,
    revision: int | None = None,
) -> Response:
    if part not in PART_NAMES:
        raise NotFound(f"There is no part {part!r}: edit one of {', '.join(PART_NAMES)}.")
    draft, guidance, _ = _draft(session, user)
    context = {
        "draft": draft,
        "part": part,
        "text": _part_text(draft.body, part) if text is None else text,
        "revision": draft.revision if revision is None else revision,
        "error_field": lambda loc: None,
    }
    return _page(request, "content/part.html", user, context, error=error)


@router.post("/parts/{part}")
def save_part(
    request: Request,
    part: str,
    session: SessionDep,
    user: Trainer,
    csrf_token: Annotated[str, Form()] = "",
    revision: Revision = 0,
    text: Annotated[str, Form(max_length=editor.MAX_FILE_BYTES)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    if part not in PART_NAMES:
        raise NotFound(f"There is no part {part!r}: edit one of {', '.join(PART_NAMES)}.")
    try:
        draft = drafts.open_draft(session, user)
        if part == "about":
            body = draft.body | {"about": text.replace("\r\n", "\n")}
        else:
            body = editor.set_part(draft.body, part, text)
        drafts.save_draft(session, body, revision=revision, actor=user)
    except AppError as error:
        return _part(request, session, user, part, error=error, text=text, revision=revision)
    return RedirectResponse(f"/admin/content?done=saved-{part}", status_code=303)


# Preview


_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>\s*", re.DOTALL)
_BODY = re.compile(r"(<body\b[^>]*>)")


@router.get("/preview/{lang}/{path:path}")
def preview(request: Request, lang: str, path: str, session: SessionDep, user: Trainer) -> Response:
    """A page of the draft exactly as officers will see it once published, without the
    scripts (a preview is never saved for offline) and with its links kept in the preview."""
    languages = request.app.state.settings.languages
    if lang not in languages:
        raise NotFound(f"There is no language {lang!r}: choose one of {', '.join(languages)}.")
    draft, guidance, base = _draft(session, user)
    published = Published(
        version=base.version + 1,
        released_at=utcnow(),
        notes="",
        content_hash=content.content_hash(guidance),
        guidance=guidance,
    )
    parts = [part for part in path.split("/") if part]
    if not parts:
        page: tuple[str, ...] = ("home",)
    elif len(parts) == 1 and parts[0] in PREVIEW_PAGES:
        page = (parts[0],)
    elif len(parts) == 1:
        page = ("role", parts[0])
    elif len(parts) == 2:
        page = ("practice", parts[0], parts[1])
    else:
        raise NotFound("There is no such page to preview.")
    html = pages.render_page(published, lang, *page)
    html = _SCRIPT.sub("", html)
    for code in languages:
        html = html.replace(f'href="/{code}/', f'href="/admin/content/preview/{code}/')
    bar = Markup(
        '<p class="preview-bar" role="status">{}: <a href="/admin/content">{}</a></p>'
    ).format("Preview of the draft, not published", "back to the draft")
    html = _BODY.sub(lambda match: match[1] + bar, html, count=1)
    return HTMLResponse(html, headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"})


# Publish, discard, roll back


@router.post("/publish")
def publish(
    request: Request,
    session: SessionDep,
    user: Trainer,
    csrf_token: Annotated[str, Form()] = "",
    revision: Revision = 0,
    notes: Annotated[str, Form(max_length=2000)] = "",
    critical: Annotated[list[str] | None, Form()] = None,
    resolve: Annotated[list[str] | None, Form()] = None,
) -> Response:
    check_csrf(request, csrf_token)
    form = {"notes": notes, "critical": critical or [], "resolve": resolve or []}
    if not notes.strip():
        error = AppError(
            "Say what changed: the notes are shown to officers with the release.",
            422,
            [ErrorDetail("say what changed", "notes")],
        )
        return _overview(request, session, user, error=error, form=form)
    try:
        release = drafts.publish(
            session,
            notes=notes,
            critical=set(critical or []),
            actor=user,
            revision=revision,
            resolve=_answerable(session, user, resolve or []),
        )
    except AppError as error:
        return _overview(request, session, user, error=error, form=form)
    request.app.state.releases.expire()
    return RedirectResponse(f"/admin/content?done=published-v{release.version}", status_code=303)


@router.post("/discard")
def discard(
    request: Request,
    session: SessionDep,
    user: Trainer,
    csrf_token: Annotated[str, Form()] = "",
    revision: Revision = 0,
) -> Response:
    check_csrf(request, csrf_token)
    try:
        drafts.discard_draft(session, revision=revision, actor=user)
    except AppError as error:
        return _overview(request, session, user, error=error)
    return RedirectResponse("/admin/content?done=discarded", status_code=303)


@router.post("/rollback")
def rollback(
    request: Request,
    session: SessionDep,
    user: Trainer,
    csrf_token: Annotated[str, Form()] = "",
    to_version: Annotated[int, Form(ge=1, le=MAX_NUMBER)] = 1,
    latest: Annotated[int | None, Form(ge=1, le=MAX_NUMBER)] = None,
    notes: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """`latest` is the latest release the page showed: a rollback is refused if another came."""
    check_csrf(request, csrf_token)
    try:
        release = drafts.rollback(
            session,
            to_version=to_version,
            notes=notes.strip() or f"Back to the content of v{to_version}.",
            actor=user,
            latest=latest,
        )
    except AppError as error:
        return _overview(request, session, user, error=error)
    request.app.state.releases.expire()
    return RedirectResponse(f"/admin/content?done=published-v{release.version}", status_code=303)


# Bundles


@router.get("/releases/{version}/bundle.zip")
def export_bundle(
    version: Annotated[int, Path(ge=1, le=MAX_NUMBER)], session: SessionDep, user: Trainer
) -> Response:
    release = content.get_release(session, version)
    if release is None:
        raise NotFound(f"There is no release v{version}.")
    data = bundle.export_bundle(Guidance.model_validate(release.body))
    audit.record(
        session, actor=user, action="export", target=f"bundle v{version}", detail="format=zip"
    )
    session.commit()
    return Response(
        data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="frontline-content-v{version}.zip"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/draft.zip")
def export_draft(session: SessionDep, user: Trainer) -> Response:
    """The draft as a bundle: kept safe before it is discarded, or carried onto a newer release
    by importing it into the next draft."""
    draft, guidance, _ = _draft(session, user)
    audit.record(
        session,
        actor=user,
        action="export",
        target="bundle draft",
        detail=f"revision {draft.revision}, based on v{draft.based_on}",
    )
    session.commit()
    return Response(
        bundle.export_bundle(guidance),
        media_type="application/zip",
        headers={
            "Content-Disposition": (
                f'attachment; filename="frontline-content-draft-r{draft.revision}.zip"'
            ),
            "Cache-Control": "no-store",
        },
    )


@router.post("/import")
def import_bundle(
    request: Request,
    session: SessionDep,
    user: Trainer,
    file: Annotated[UploadFile, File()],
    csrf_token: Annotated[str, Form()] = "",
    revision: Revision = 0,
) -> Response:
    """Replace the draft with the content of a bundle; nothing is published."""
    check_csrf(request, csrf_token)
    data = file.file.read(bundle.MAX_BUNDLE_BYTES + 1)
    try:
        if len(data) > bundle.MAX_BUNDLE_BYTES:
            raise AppError(
                f"The bundle is over {bundle.MAX_BUNDLE_BYTES // 1_000_000} MB; nothing was "
                "imported.",
                413,
            )
        guidance = bundle.read_bundle(data)
        drafts.open_draft(session, user)
        drafts.save_draft(session, guidance.model_dump(mode="json"), revision=revision, actor=user)
    except AppError as error:
        return _overview(request, session, user, error=error)
    return RedirectResponse("/admin/content?done=imported", status_code=303)
