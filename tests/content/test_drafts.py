import copy
import threading
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, func, text
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.cli import alembic_config
from app.content import drafts
from app.content import service as content
from app.content.drafts import Changes, ItemChange, PracticeChange
from app.content.models import Draft, Release
from app.content.schema import Guidance
from app.db import normalize_url
from app.errors import AppError, Conflict, InvalidContent, NoRelease, NotFound
from tests.accounts import make_user


@pytest.fixture
def trainer(session: Session) -> User:
    return make_user(session, "trainer")


def release_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Release)).one()


def audit_trail(session: Session) -> list[tuple[str, str | None, str, str]]:
    events = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    return [
        (event.action, event.actor_email, event.target, event.detail)
        for event in events
        if event.action != "user_created"
    ]


def checklist(body: dict[str, Any], practice: int, role: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = body["practices"][practice]["checklists"][role]
    return items


def edited(body: dict[str, Any]) -> dict[str, Any]:
    """`body` with one customs item reworded and one customs item added, both in practice 1."""
    body = copy.deepcopy(body)
    customs = checklist(body, 0, "customs")
    customs[0]["action"] = "Know the law that lets you stop, inspect and seize the goods."
    customs.append({**customs[1], "id": "customs-check-transit-permit", "action": "Check it."})
    return body


def test_open_draft_starts_from_the_latest_release(
    session: Session, release: Release, guidance: Guidance, trainer: User
) -> None:
    revised = guidance.model_copy(update={"about": "Revised."})
    latest, _ = content.import_release(session, revised, notes="v2")

    draft = drafts.open_draft(session, trainer)
    again = drafts.open_draft(session, trainer)

    assert latest.version == 2
    assert draft.based_on == 2
    assert draft.body == latest.body
    assert draft.body["about"] == "Revised."
    assert draft.revision == 1
    assert draft.closed_at is None
    assert draft.updated_by == trainer.id
    assert (again.id, again.revision, again.based_on) == (draft.id, 1, 2)
    assert session.exec(select(func.count()).select_from(Draft)).one() == 1


def test_open_draft_before_any_release_raises_no_release(session: Session, trainer: User) -> None:
    with pytest.raises(NoRelease):
        drafts.open_draft(session, trainer)


def test_save_draft_stores_the_body_and_counts_the_revision(
    session: Session, release: Release, trainer: User
) -> None:
    draft = drafts.open_draft(session, trainer)
    body = edited(draft.body)

    saved = drafts.save_draft(session, body, revision=1, actor=trainer)

    assert saved.revision == 2
    assert saved.based_on == 1
    stored = session.get(Draft, saved.id, populate_existing=True)
    assert stored is not None
    assert stored.revision == 2
    assert stored.body == body
    assert checklist(stored.body, 0, "customs")[-1]["id"] == "customs-check-transit-permit"


def test_save_draft_of_a_malformed_body_names_the_fields_and_stores_nothing(
    session: Session, release: Release, trainer: User
) -> None:
    draft = drafts.open_draft(session, trainer)
    body = copy.deepcopy(draft.body)
    body["roles"][0]["name"] = ""
    del checklist(body, 1, "police")[0]["why"]

    with pytest.raises(InvalidContent) as raised:
        drafts.save_draft(session, body, revision=1, actor=trainer)

    assert [str(error) for error in raised.value.errors] == [
        "roles[0].name: String should have at least 1 character",
        "practices[1].checklists.police[0].why: Field required",
    ]
    assert raised.value.status_code == 422
    stored = session.get(Draft, draft.id, populate_existing=True)
    assert stored is not None
    assert (stored.revision, stored.body) == (1, release.body)
    assert audit_trail(session) == []


def test_save_draft_checks_references_like_content_check_and_stores_nothing(
    session: Session, release: Release, trainer: User
) -> None:
    draft = drafts.open_draft(session, trainer)
    body = copy.deepcopy(draft.body)
    customs = checklist(body, 0, "customs")
    customs[0]["refs"][0]["source"] = "no-such-source"
    customs[1]["id"] = customs[2]["id"]
    customs[3]["why"] = "See [this](javascript:alert(1))."
    body["glossary"][0]["refs"] = [{"source": "nowhere"}]

    with pytest.raises(InvalidContent) as raised:
        drafts.save_draft(session, body, revision=1, actor=trainer)

    assert [str(error) for error in raised.value.errors] == [
        "glossary[0].refs[0].source: unknown source 'nowhere'",
        "practices[0].checklists.customs[0].refs[0].source: unknown source 'no-such-source'",
        "practices[0].checklists.customs[1].id: duplicate item id 'customs-check-embargoes'",
        "practices[0].checklists.customs[2].id: duplicate item id 'customs-check-embargoes'",
        "practices[0].checklists.customs[3].why: link 'javascript:alert(1)' is not allowed "
        "(only http, https, mailto or relative)",
    ]
    stored = session.get(Draft, draft.id, populate_existing=True)
    assert stored is not None
    assert (stored.revision, stored.body) == (1, release.body)


def test_second_save_with_the_same_revision_gets_conflict_and_the_first_stands(
    engine: Engine, session: Session, release: Release, trainer: User
) -> None:
    other = make_user(session, "trainer", email="other@example.org")
    draft = drafts.open_draft(session, trainer)
    first = edited(draft.body)
    second = copy.deepcopy(draft.body)
    second["about"] = "Overwritten."

    with Session(engine) as elsewhere:
        drafts.save_draft(elsewhere, first, revision=draft.revision, actor=other)
    with pytest.raises(Conflict) as raised:
        drafts.save_draft(session, second, revision=draft.revision, actor=trainer)

    assert raised.value.message.startswith(
        "Someone else saved this draft since you opened it (other@example.org, at "
    )
    assert raised.value.message.endswith(
        "; yours was revision 1, the draft is now at revision 2. "
        "Nothing was saved: open the draft again to see their changes, then make yours."
    )
    stored = session.get(Draft, draft.id, populate_existing=True)
    assert stored is not None
    assert (stored.revision, stored.body, stored.updated_by) == (2, first, other.id)


def test_concurrent_saves_at_the_same_revision_let_exactly_one_win(
    engine: Engine, session: Session, release: Release, trainer: User
) -> None:
    draft = drafts.open_draft(session, trainer)
    other = copy.deepcopy(draft.body)
    other["about"] = "Overwritten."
    bodies = [edited(draft.body), other]
    trainer_id = trainer.id
    start = threading.Barrier(len(bodies))
    outcomes: list[str] = []

    def save(body: dict[str, Any]) -> None:
        with Session(engine) as own:
            actor = own.get(User, trainer_id)
            assert actor is not None
            start.wait()
            try:
                drafts.save_draft(own, body, revision=1, actor=actor)
                outcomes.append("saved")
            except Conflict:
                outcomes.append("conflict")

    threads = [threading.Thread(target=save, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["conflict", "saved"]
    with Session(engine) as fresh:
        stored = fresh.get(Draft, draft.id)
        assert stored is not None
        assert stored.revision == 2
        assert stored.body in bodies


def test_compare_finds_items_added_changed_and_removed_per_role(guidance: Guidance) -> None:
    body = guidance.model_dump(mode="json")
    body["practices"][0]["title"] = "Laws and regulations"
    customs = checklist(body, 0, "customs")
    customs[0]["action"] = "Know the law you act under."
    customs[0]["red_flag"] = True
    removed = customs.pop(1)
    added = {**customs[0], "id": "customs-check-transit-permit"}
    customs.append(added)
    police = checklist(body, 1, "police")
    police[0]["why"] = "Guns converted from blank-firing or gas pistols fire live rounds."
    moved = checklist(body, 2, "licensing").pop(0)
    checklist(body, 3, "licensing").append(moved)

    changes = drafts.compare(guidance, Guidance.model_validate(body))

    title = PracticeChange("legal-framework", "changed", ("title",))
    assert changes == {
        "customs": Changes(
            added=[ItemChange("legal-framework", "customs-check-transit-permit")],
            changed=[
                ItemChange("legal-framework", "customs-know-legal-powers", ("action", "red_flag"))
            ],
            removed=[ItemChange("legal-framework", removed["id"])],
            practices=[title],
        ),
        "licensing": Changes(
            changed=[ItemChange("authorization", moved["id"], ("practice",))],
            practices=[title],
        ),
        "police": Changes(
            changed=[ItemChange("control-lists", police[0]["id"], ("why",))],
            practices=[title],
        ),
    }
    assert removed["id"] == "customs-control-transit-cargo"


def test_compare_of_identical_guidance_finds_nothing(guidance: Guidance) -> None:
    changes = drafts.compare(guidance, guidance)

    assert list(changes) == ["customs", "licensing", "police"]
    assert not any(changes.values())


def test_new_item_id_follows_the_shipped_style_and_is_unique(guidance: Guidance) -> None:
    ids = {item.id for p in guidance.practices for items in p.checklists.values() for item in items}

    fresh = drafts.new_item_id(
        guidance, "customs", "legal-framework", "Check the end-user certificate, every time."
    )
    taken = drafts.new_item_id(guidance, "customs", "legal-framework", "Check embargoes!")
    wordless = drafts.new_item_id(guidance, "police", "coordination", "…")

    assert fresh == "customs-check-end-user-certificate"
    assert "customs-check-embargoes" in ids
    assert taken == "customs-check-embargoes-2"
    assert wordless == "police-coordination"


def test_publish_stores_the_draft_as_the_next_version_with_its_critical_items(
    session: Session, release: Release, trainer: User
) -> None:
    draft = drafts.open_draft(session, trainer)
    body = edited(draft.body)
    drafts.save_draft(session, body, revision=1, actor=trainer)

    published = drafts.publish(
        session,
        notes="  Transit permits  ",
        critical={"customs-know-legal-powers", "customs-check-transit-permit"},
        actor=trainer,
    )

    assert published.version == 2
    assert published.critical == ["customs-check-transit-permit", "customs-know-legal-powers"]
    assert published.notes == "Transit permits"
    assert published.body == body
    assert published.content_hash == content.content_hash(Guidance.model_validate(body))
    assert content.latest_release(session) == published
    closed = session.get(Draft, draft.id, populate_existing=True)
    assert closed is not None
    assert closed.closed_at is not None
    assert closed.revision == 3
    with pytest.raises(Conflict) as raised:
        drafts.save_draft(session, body, revision=2, actor=trainer)
    assert raised.value.message.startswith("This draft was published or discarded since you")
    reopened = drafts.open_draft(session, trainer)
    assert (reopened.based_on, reopened.revision, reopened.body) == (2, 4, body)


def test_publish_refuses_critical_items_the_draft_did_not_add_or_change(
    session: Session, release: Release, trainer: User
) -> None:
    draft = drafts.open_draft(session, trainer)
    drafts.save_draft(session, edited(draft.body), revision=1, actor=trainer)

    with pytest.raises(AppError) as raised:
        drafts.publish(
            session,
            notes="",
            critical={"customs-know-legal-powers", "police-join-port-units", "nothing"},
            actor=trainer,
        )

    assert raised.value.status_code == 422
    assert raised.value.message == (
        "Only items added or changed in this draft can be marked critical."
    )
    assert [str(error) for error in raised.value.errors] == [
        "critical: 'nothing' is not an item added or changed in this draft",
        "critical: 'police-join-port-units' is not an item added or changed in this draft",
    ]
    assert release_count(session) == 1
    stored = session.get(Draft, draft.id, populate_existing=True)
    assert stored is not None
    assert (stored.closed_at, stored.revision) == (None, 2)


def test_publish_of_an_unchanged_draft_is_refused(
    session: Session, release: Release, trainer: User
) -> None:
    drafts.open_draft(session, trainer)

    with pytest.raises(Conflict) as raised:
        drafts.publish(session, notes="", critical=set(), actor=trainer)

    assert raised.value.message == (
        "The draft is the same as release v1; there is nothing to publish."
    )
    assert release_count(session) == 1


def test_publish_of_a_draft_older_than_the_latest_release_is_refused(
    session: Session, release: Release, guidance: Guidance, trainer: User
) -> None:
    draft = drafts.open_draft(session, trainer)
    drafts.save_draft(session, edited(draft.body), revision=1, actor=trainer)
    content.import_release(session, guidance.model_copy(update={"about": "Other."}), notes="")

    with pytest.raises(Conflict) as raised:
        drafts.publish(session, notes="", critical=set(), actor=trainer)

    assert raised.value.message.startswith(
        "Release v2 was published after this draft was started from v1;"
    )
    assert release_count(session) == 2
    drafts.discard_draft(session, revision=2, actor=trainer)
    assert drafts.open_draft(session, trainer).based_on == 2


def test_publish_at_a_stale_revision_is_refused(
    session: Session, release: Release, trainer: User
) -> None:
    draft = drafts.open_draft(session, trainer)
    drafts.save_draft(session, edited(draft.body), revision=1, actor=trainer)

    with pytest.raises(Conflict) as raised:
        drafts.publish(session, notes="", critical=set(), actor=trainer, revision=1)

    assert raised.value.message.startswith("Someone else saved this draft since you opened it")
    assert release_count(session) == 1


def test_rollback_publishes_the_old_content_under_a_new_version(
    session: Session, release: Release, trainer: User
) -> None:
    draft = drafts.open_draft(session, trainer)
    drafts.save_draft(session, edited(draft.body), revision=1, actor=trainer)
    second = drafts.publish(session, notes="", critical=set(), actor=trainer)

    rolled_back = drafts.rollback(session, to_version=1, notes="Back to v1", actor=trainer)

    assert rolled_back.version == 3
    assert rolled_back.content_hash == release.content_hash
    assert rolled_back.content_hash != second.content_hash
    assert rolled_back.body == release.body
    assert rolled_back.notes == "Back to v1"
    assert rolled_back.critical == []
    assert [r.version for r in session.exec(select(Release).order_by(col(Release.version)))] == [
        1,
        2,
        3,
    ]
    first = content.get_release(session, 1)
    assert first is not None
    assert (first.content_hash, first.notes) == (release.content_hash, "Test release")


def test_rollback_to_the_latest_content_or_an_unknown_version_is_refused(
    session: Session, release: Release, trainer: User
) -> None:
    with pytest.raises(Conflict) as same:
        drafts.rollback(session, to_version=1, notes="", actor=trainer)
    with pytest.raises(NotFound) as unknown:
        drafts.rollback(session, to_version=7, notes="", actor=trainer)

    assert same.value.message == (
        "Release v1 has the same content as the latest release v1; "
        "rolling back to it would change nothing."
    )
    assert unknown.value.message == "There is no release v7 to roll back to."
    assert release_count(session) == 1


def test_save_publish_and_rollback_are_in_the_audit_log(
    session: Session, release: Release, trainer: User
) -> None:
    draft = drafts.open_draft(session, trainer)
    drafts.save_draft(session, edited(draft.body), revision=1, actor=trainer)
    drafts.publish(
        session, notes="Transit", critical={"customs-check-transit-permit"}, actor=trainer
    )
    drafts.rollback(session, to_version=1, notes="Undo", actor=trainer)

    assert audit_trail(session) == [
        ("draft_saved", "trainer@example.org", "draft", "revision 2, based on v1"),
        (
            "release_published",
            "trainer@example.org",
            "v2",
            "critical: customs-check-transit-permit\nTransit",
        ),
        ("release_rolled_back", "trainer@example.org", "v3", "copy of: v1\nUndo"),
    ]


def test_upgrade_gives_releases_stored_before_it_an_empty_critical_list(
    empty_database_url: str,
) -> None:
    config = alembic_config(empty_database_url)
    command.upgrade(config, "0004")
    engine = create_engine(normalize_url(empty_database_url))
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO release (version, content_hash, body, notes, created_at) "
                "VALUES (1, 'abc', '{}', '', CURRENT_TIMESTAMP)"
            )
        )

    command.upgrade(config, "head")

    with Session(engine) as session:
        stored = session.exec(select(Release)).one()
    engine.dispose()
    assert (stored.version, stored.critical) == (1, [])
