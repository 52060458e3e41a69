"""Trainers' pages: edit the draft, preview, compare, publish, roll back, bundles."""

import io
import re
import zipfile

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.content import bundle
from app.content import service as content
from app.content.models import Draft, Release
from app.content.schema import Guidance
from app.feedback.models import Feedback
from tests.accounts import make_user, sign_in
from tests.review.conftest import report, store

PRACTICE = "legal-framework"
ITEM = "customs-know-legal-powers"
ITEM_PATH = f"/admin/content/practices/{PRACTICE}/customs/items/{ITEM}"
NEW_ACTION = "Know the exact legal powers of search and seizure at your post"


@pytest.fixture
def editor(client: TestClient, session: Session, release: Release) -> TestClient:
    make_user(session, "trainer")
    sign_in(client, "trainer@example.org")
    assert client.get("/admin/content").status_code == 200  # opens the draft
    return client


def form_of(client: TestClient, path: str) -> dict[str, object]:
    """The values a browser would send from the first editing form on `path`."""
    page = client.get(path).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    revision = re.search(r'name="revision" value="(\d+)"', page)
    assert token and revision, f"no form on {path}"
    return {"csrf_token": token[1], "revision": revision[1]}


def item_form(client: TestClient, **changes: object) -> dict[str, object]:
    data = form_of(client, ITEM_PATH)
    page = client.get(ITEM_PATH).text
    action = re.search(r'id="action" name="action" value="([^"]*)"', page)
    assert action
    data |= {
        "action": action[1].replace("&#39;", "'"),
        "why": "Powers differ by post; know yours before you need them.",
        "refs": "att | Art. 14\nfp | Art. 11",
        "regimes": ["att", "fp"],
        "flags": ["critical"],
    }
    return data | changes


def draft_body(session: Session) -> dict:
    session.rollback()
    draft = session.get(Draft, 1, populate_existing=True)
    assert draft is not None
    return draft.body


def customs_item(body: dict, item_id: str = ITEM) -> dict:
    practice = next(p for p in body["practices"] if p["id"] == PRACTICE)
    return next(i for i in practice["checklists"]["customs"] if i["id"] == item_id)


def test_the_draft_starts_from_the_latest_release(editor: TestClient) -> None:
    page = editor.get("/admin/content")

    assert page.status_code == 200
    assert "Started from v1" in page.text
    assert "The draft is the same as v1." in page.text
    assert page.headers["cache-control"] == "no-store"


def test_an_edited_item_keeps_its_id_and_shows_in_the_comparison(
    editor: TestClient, session: Session
) -> None:
    answer = editor.post(
        ITEM_PATH, data=item_form(editor, action=NEW_ACTION), follow_redirects=False
    )

    assert answer.status_code == 303
    item = customs_item(draft_body(session))
    assert item["action"] == NEW_ACTION
    assert item["refs"] == [{"source": "att", "at": "Art. 14"}, {"source": "fp", "at": "Art. 11"}]
    overview = editor.get("/admin/content").text
    assert "changed" in overview and NEW_ACTION in overview
    assert "action" in overview


def test_a_new_item_gets_a_new_id_and_can_be_moved_and_removed(
    editor: TestClient, session: Session
) -> None:
    path = f"/admin/content/practices/{PRACTICE}/customs/add"
    data = item_form(editor) | form_of(editor, path)
    data["action"] = "Photograph the markings before moving the goods"

    editor.post(path, data=data)
    items = next(p for p in draft_body(session)["practices"] if p["id"] == PRACTICE)["checklists"][
        "customs"
    ]
    added = items[-1]
    assert added["id"] == "customs-photograph-markings-before-moving"
    assert added["id"] not in [item["id"] for item in items[:-1]]

    base = f"/admin/content/practices/{PRACTICE}/customs/items/{added['id']}"
    editor.post(f"{base}/up", data=form_of(editor, f"/admin/content/practices/{PRACTICE}"))
    items = next(p for p in draft_body(session)["practices"] if p["id"] == PRACTICE)["checklists"][
        "customs"
    ]
    assert items[-2]["id"] == added["id"]

    editor.post(f"{base}/remove", data=form_of(editor, f"/admin/content/practices/{PRACTICE}"))
    body = draft_body(session)
    ids = [i["id"] for p in body["practices"] for i in p["checklists"]["customs"]]
    assert added["id"] not in ids


def test_a_bad_item_is_refused_at_the_field_and_nothing_is_saved(
    editor: TestClient, session: Session
) -> None:
    before = draft_body(session)
    unknown = editor.post(ITEM_PATH, data=item_form(editor, refs="no-such-source | Art. 1"))
    empty = editor.post(ITEM_PATH, data=item_form(editor, action=" "))

    assert (unknown.status_code, empty.status_code) == (422, 422)
    assert "unknown source &#39;no-such-source&#39;" in unknown.text
    assert 'id="refs-error"' in unknown.text
    assert "no-such-source | Art. 1" in unknown.text  # what was typed is kept
    assert 'id="action-error"' in empty.text
    assert draft_body(session) == before


def test_the_second_of_two_saves_from_the_same_revision_gets_a_conflict(
    editor: TestClient, session: Session
) -> None:
    first = item_form(editor, action=NEW_ACTION)
    second = item_form(editor, action="Another wording")

    assert editor.post(ITEM_PATH, data=first, follow_redirects=False).status_code == 303
    answer = editor.post(ITEM_PATH, data=second)

    assert answer.status_code == 409
    assert "Someone else saved this draft since you opened it" in answer.text
    assert "Another wording" in answer.text  # the second trainer's words are not lost
    assert customs_item(draft_body(session))["action"] == NEW_ACTION


def test_the_preview_shows_the_draft_and_officers_never_see_it(
    editor: TestClient, session: Session
) -> None:
    editor.post(ITEM_PATH, data=item_form(editor, action=NEW_ACTION))

    preview = editor.get(f"/admin/content/preview/en/customs/{PRACTICE}/")

    assert preview.status_code == 200
    assert NEW_ACTION in preview.text
    assert "Preview of the draft" in preview.text
    assert "<script" not in preview.text
    assert f'href="/admin/content/preview/en/customs/{PRACTICE}/' in preview.text or (
        'href="/admin/content/preview/en/customs/"' in preview.text
    )
    officer = TestClient(editor.app)
    for path in (
        f"/en/customs/{PRACTICE}/",
        "/api/v1/content?lang=en",
        "/api/v1/offline-manifest?role=customs&lang=en",
        "/api/v1/search-index?role=customs&lang=en",
    ):
        answer = officer.get(path)
        assert answer.status_code == 200
        assert NEW_ACTION not in answer.text, path


def test_publish_makes_the_next_release_with_its_critical_items(
    editor: TestClient, session: Session
) -> None:
    editor.post(ITEM_PATH, data=item_form(editor, action=NEW_ACTION))
    data = form_of(editor, "/admin/content") | {"notes": "Clearer powers", "critical": [ITEM]}

    answer = editor.post("/admin/content/publish", data=data, follow_redirects=False)

    assert answer.headers["location"] == "/admin/content?done=published-v2"
    session.rollback()
    release = content.latest_release(session)
    assert release is not None
    assert (release.version, release.notes, release.critical) == (2, "Clearer powers", [ITEM])
    assert NEW_ACTION in TestClient(editor.app).get(f"/en/customs/{PRACTICE}/").text
    actions = session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all()
    assert actions[-2:] == ["draft_saved", "release_published"]


def test_publish_needs_notes_and_says_so(editor: TestClient, session: Session) -> None:
    editor.post(ITEM_PATH, data=item_form(editor, action=NEW_ACTION))

    answer = editor.post("/admin/content/publish", data=form_of(editor, "/admin/content"))

    assert answer.status_code == 422
    assert "Say what changed" in answer.text
    session.rollback()
    assert content.latest_version(session) == 1


def test_rollback_publishes_the_old_content_under_a_new_number(
    editor: TestClient, session: Session, release: Release
) -> None:
    editor.post(ITEM_PATH, data=item_form(editor, action=NEW_ACTION))
    editor.post("/admin/content/publish", data=form_of(editor, "/admin/content") | {"notes": "v2"})

    editor.post(
        "/admin/content/rollback",
        data=form_of(editor, "/admin/content") | {"to_version": "1", "notes": "Undo v2"},
    )

    session.rollback()
    latest = content.latest_release(session)
    assert latest is not None
    assert (latest.version, latest.content_hash) == (3, release.content_hash)
    assert [r.version for r in session.exec(select(Release)).all()] == [1, 2, 3]


def test_a_release_exports_as_a_bundle_that_imports_back_into_the_draft(
    editor: TestClient, session: Session, release: Release
) -> None:
    answer = editor.get("/admin/content/releases/1/bundle.zip")

    assert answer.headers["content-type"] == "application/zip"
    assert content.content_hash(bundle.read_bundle(answer.content)) == release.content_hash
    guidance = Guidance.model_validate(release.body)
    changed = guidance.model_copy(update={"about": "A new about text."})
    data = form_of(editor, "/admin/content")
    imported = editor.post(
        "/admin/content/import",
        data=data,
        files={"file": ("content.zip", bundle.export_bundle(changed), "application/zip")},
        follow_redirects=False,
    )
    assert imported.headers["location"] == "/admin/content?done=imported"
    assert draft_body(session)["about"] == "A new about text."
    session.rollback()
    assert content.latest_version(session) == 1  # imported into the draft, not published


def test_a_hostile_bundle_is_refused_and_the_draft_is_untouched(
    editor: TestClient, session: Session
) -> None:
    before = draft_body(session)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("../escape.yaml", "x")

    answer = editor.post(
        "/admin/content/import",
        data=form_of(editor, "/admin/content"),
        files={"file": ("evil.zip", archive.getvalue(), "application/zip")},
    )

    assert answer.status_code == 422
    assert "escape.yaml" in answer.text
    assert draft_body(session) == before


def test_a_part_is_edited_as_its_yaml_file_and_aliases_are_refused(
    editor: TestClient, session: Session
) -> None:
    page = editor.get("/admin/content/parts/glossary").text
    text = re.search(r'<textarea id="text"[^>]*>(.*?)</textarea>', page, re.DOTALL)
    assert text and "term:" in text[1]
    data = form_of(editor, "/admin/content/parts/glossary")

    bomb = editor.post(
        "/admin/content/parts/glossary", data=data | {"text": "- &a {id: x}\n- *a\n"}
    )

    assert bomb.status_code == 422
    assert "aliases" in bomb.text
    before = draft_body(session)["glossary"]
    about = editor.post(
        "/admin/content/parts/about",
        data=form_of(editor, "/admin/content/parts/about") | {"text": "Rewritten."},
        follow_redirects=False,
    )
    assert about.status_code == 303
    body = draft_body(session)
    assert (body["about"], body["glossary"]) == ("Rewritten.", before)
    overview = editor.get("/admin/content").text
    assert 'Also changed: <a href="/admin/content/parts/about">about</a>' in overview


def test_a_form_without_a_valid_csrf_token_changes_nothing(
    editor: TestClient, session: Session
) -> None:
    before = draft_body(session)

    answer = editor.post(ITEM_PATH, data=item_form(editor, csrf_token="x.y", action=NEW_ACTION))

    assert answer.status_code == 403
    assert draft_body(session) == before


def test_open_reports_show_on_their_item_and_publishing_can_resolve_them(
    editor: TestClient, session: Session
) -> None:
    open_report, other = store(
        session,
        report(comment="Which powers apply at a rail crossing?"),
        report(comment="Still unclear", status="acknowledged"),
    )
    store(session, report(comment="Dismissed already", status="dismissed"))

    practice = editor.get(f"/admin/content/practices/{PRACTICE}").text
    assert "2 open field reports" in practice
    assert "Which powers apply at a rail crossing?" in practice
    assert "Dismissed already" not in practice

    editor.post(ITEM_PATH, data=item_form(editor, action=NEW_ACTION))
    overview = editor.get("/admin/content").text
    assert f'name="resolve" value="{open_report.id}"' in overview
    data = form_of(editor, "/admin/content") | {"notes": "Powers", "resolve": [str(open_report.id)]}
    editor.post("/admin/content/publish", data=data)

    session.rollback()
    stored = {r.id: (r.status, r.resolved_in) for r in session.exec(select(Feedback)).all()}
    assert stored[open_report.id] == ("resolved", 2)
    assert stored[other.id] == ("acknowledged", None)


def test_resolving_an_unknown_report_publishes_nothing(
    editor: TestClient, session: Session
) -> None:
    editor.post(ITEM_PATH, data=item_form(editor, action=NEW_ACTION))
    data = form_of(editor, "/admin/content") | {
        "notes": "Powers",
        "resolve": ["00000000-0000-4000-8000-000000000000"],
    }

    answer = editor.post("/admin/content/publish", data=data)

    assert answer.status_code == 422
    assert "report 00000000-0000-4000-8000-000000000000 is not one of them" in answer.text
    session.rollback()
    assert content.latest_version(session) == 1
    assert session.get(Draft, 1, populate_existing=True).closed_at is None  # type: ignore[union-attr]


def test_saving_again_after_a_conflict_still_conflicts(
    editor: TestClient, session: Session
) -> None:
    first = item_form(editor, action=NEW_ACTION)
    second = item_form(editor, action="Another wording")
    editor.post(ITEM_PATH, data=first)
    refused = editor.post(ITEM_PATH, data=second)
    again = re.search(r'name="revision" value="(\d+)"', refused.text)
    assert again is not None

    answer = editor.post(ITEM_PATH, data=second | {"revision": again[1]})

    assert (refused.status_code, answer.status_code) == (409, 409)
    assert customs_item(draft_body(session))["action"] == NEW_ACTION


def test_a_rollback_from_a_page_older_than_the_latest_release_is_refused(
    editor: TestClient, session: Session
) -> None:
    editor.post(ITEM_PATH, data=item_form(editor, action=NEW_ACTION))
    editor.post("/admin/content/publish", data=form_of(editor, "/admin/content") | {"notes": "v2"})

    answer = editor.post(
        "/admin/content/rollback",
        data=form_of(editor, "/admin/content") | {"to_version": "1", "latest": "1"},
    )

    assert answer.status_code == 409
    assert "Release v2 was published since you opened this page" in answer.text
    session.rollback()
    assert content.latest_version(session) == 2


def test_publish_resolves_only_open_reports_on_what_it_changes(
    editor: TestClient, session: Session
) -> None:
    [elsewhere] = store(
        session, report(role="police", practice="enforcement", item_id="police-seize")
    )
    editor.post(ITEM_PATH, data=item_form(editor, action=NEW_ACTION))
    data = form_of(editor, "/admin/content") | {"notes": "Powers"}

    unrelated = editor.post("/admin/content/publish", data=data | {"resolve": [str(elsewhere.id)]})
    malformed = editor.post("/admin/content/publish", data=data | {"resolve": ["zz"]})

    assert (unrelated.status_code, malformed.status_code) == (422, 422)
    assert "only open reports on the items it changes" in unrelated.text
    session.rollback()
    assert content.latest_version(session) == 1
    assert session.get(Feedback, elsewhere.id, populate_existing=True).status == "new"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/admin/content/rollback", {"to_version": str(10**20)}),
        ("/admin/content/discard", {"revision": str(10**20)}),
        ("/admin/content/discard", {"revision": "abc"}),
    ],
)
def test_numbers_out_of_range_are_refused_not_failed(
    editor: TestClient, path: str, data: dict[str, str]
) -> None:
    answer = editor.post(path, data=form_of(editor, "/admin/content") | data)

    assert answer.status_code == 422


def test_a_release_number_out_of_range_is_refused(editor: TestClient) -> None:
    assert editor.get(f"/admin/content/releases/{10**20}/bundle.zip").status_code == 422


def test_the_draft_downloads_as_a_bundle(editor: TestClient) -> None:
    editor.post(ITEM_PATH, data=item_form(editor, action=NEW_ACTION))

    answer = editor.get("/admin/content/draft.zip")

    guidance = bundle.read_bundle(answer.content)
    practice = next(p for p in guidance.practices if p.id == PRACTICE)
    assert practice.checklists["customs"][0].action == NEW_ACTION


def test_an_upload_over_the_limit_is_refused_before_anyone_is_asked_who_they_are(
    client: TestClient,
) -> None:
    too_big = b"x" * 21_000_001

    declared = client.post(
        "/admin/content/import", files={"file": ("big.zip", too_big, "application/zip")}
    )
    streamed = client.post(
        "/sign-in",
        content=iter([b"email=" + b"x" * 1_500_000, b"x" * 1_500_000]),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert "larger than" in declared.text
