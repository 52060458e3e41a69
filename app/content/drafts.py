"""Trainers' draft of the next release: open, save, compare, publish and roll back."""

import copy
import re
import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.audit import service as audit
from app.auth.models import User
from app.content import loader
from app.content import service as content
from app.content.models import DRAFT_ID, Draft, Release
from app.content.schema import Guidance, Item, Practice
from app.db import begin_write, utcnow
from app.errors import AppError, Conflict, ErrorDetail, NoRelease, NotFound
from app.review import service as review

ITEM_FIELDS = tuple(name for name in Item.model_fields if name != "id")
PRACTICE_TEXT_FIELDS = ("title", "summary", "regimes")
# Words an item id does without: "Check the licence for the goods" -> "check-licence-goods".
ID_SKIPPED_WORDS = frozenset(
    {"a", "an", "the", "and", "or", "of", "to", "for", "in", "on", "at", "by", "with", "from"}
    | {"into", "as", "is", "are", "be", "it", "its", "that", "this", "which", "if", "any", "each"}
    | {"every", "all", "you", "your", "they", "them", "their", "when", "so", "not", "don", "t"}
)
ID_WORDS = 4


@dataclass(frozen=True)
class ItemChange:
    practice_id: str
    item_id: str
    fields: tuple[str, ...] = ()  # for a changed item: the fields that differ, in schema order


@dataclass(frozen=True)
class PracticeChange:
    practice_id: str
    kind: Literal["added", "changed", "removed"]
    fields: tuple[str, ...] = ()  # for a changed practice: which of its texts differ


@dataclass
class Changes:
    """What changed for one role between two versions of the guidance."""

    added: list[ItemChange] = field(default_factory=list)
    changed: list[ItemChange] = field(default_factory=list)
    removed: list[ItemChange] = field(default_factory=list)
    # A practice's texts are read by every role: each role's changes list them.
    practices: list[PracticeChange] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.practices)


@contextmanager
def _writing(session: Session) -> Iterator[None]:
    """Begin a transaction that writes (see db.begin_write); end it if refused."""
    begin_write(session)
    try:
        yield
    except AppError:
        session.rollback()
        raise


def _open_at(revision: int) -> tuple[ColumnElement[bool], ...]:
    """The draft row, if it is still open and at `revision`: what every change to it requires,
    so that of two changes made from the same revision only the first applies."""
    return (
        col(Draft.id) == DRAFT_ID,
        col(Draft.revision) == revision,
        col(Draft.closed_at).is_(None),
    )


def open_draft(session: Session, actor: User | None) -> Draft:
    """Return the open draft, or start one from the latest release (`actor` None: the
    command line)."""
    draft = session.get(Draft, DRAFT_ID, populate_existing=True)
    if draft is not None and draft.closed_at is None:
        return draft
    with _writing(session):
        latest = content.latest_release(session)
        if latest is None:
            raise NoRelease()
        values: dict[str, Any] = {
            "body": copy.deepcopy(latest.body),
            "based_on": latest.version,
            "closed_at": None,
            "updated_at": utcnow(),
            "updated_by": actor.id if actor else None,
        }
        # Only a closed draft is started again, so two trainers opening at once share one draft.
        # Its revision goes on counting: a save made before it closed cannot land on the new one.
        reopened = session.execute(
            update(Draft)
            .where(col(Draft.id) == DRAFT_ID, col(Draft.closed_at).is_not(None))
            .values(revision=Draft.revision + 1, **values)
        )
        reused = reopened.rowcount == 1  # type: ignore[attr-defined]
        if not reused and session.get(Draft, DRAFT_ID, populate_existing=True) is None:
            session.add(Draft(id=DRAFT_ID, revision=1, **values))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another trainer started the first draft at the same moment
    draft = session.get(Draft, DRAFT_ID, populate_existing=True)
    if draft is None or draft.closed_at is not None:
        raise Conflict("The draft was published while it was being opened; open it again.")
    return draft


def save_draft(
    session: Session, guidance_body: dict[str, Any], *, revision: int, actor: User | None
) -> Draft:
    """Validate `guidance_body` and store it as the draft, if the draft is still at `revision`.

    Return the draft as saved, with its new revision.
    """
    guidance = loader.parse(guidance_body)
    with _writing(session):
        # Only if nobody saved since `revision` was read: two saves never both win.
        saved = session.execute(
            update(Draft)
            .where(*_open_at(revision))
            .values(
                body=guidance.model_dump(mode="json"),
                revision=Draft.revision + 1,
                updated_at=utcnow(),
                updated_by=actor.id if actor else None,
            )
        )
        if saved.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            raise _stale(session, revision)
        draft = session.get(Draft, DRAFT_ID, populate_existing=True)
        assert draft is not None
        audit.record(
            session,
            actor=actor,
            action="draft_saved",
            target="draft",
            detail=f"revision {draft.revision}, based on v{draft.based_on}",
        )
        # Detached, the draft keeps the values this save stored, whatever is saved after it.
        session.flush()
        session.expunge(draft)
        session.commit()
        return draft


def discard_draft(session: Session, *, revision: int, actor: User) -> None:
    """Close the draft without publishing it, if it is still at `revision`."""
    with _writing(session):
        closed = session.execute(
            update(Draft)
            .where(*_open_at(revision))
            .values(closed_at=utcnow(), revision=Draft.revision + 1)
        )
        if closed.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            raise _stale(session, revision)
        audit.record(
            session,
            actor=actor,
            action="draft_discarded",
            target="draft",
            detail=f"revision {revision}",
        )
        session.commit()


def _stale(session: Session, revision: int) -> Conflict:
    draft = session.get(Draft, DRAFT_ID, populate_existing=True)
    if draft is None or draft.closed_at is not None:
        return Conflict(
            "This draft was published or discarded since you opened it; nothing was saved. "
            "Open the draft again: it starts from the latest release."
        )
    by = session.get(User, draft.updated_by) if draft.updated_by is not None else None
    return Conflict(
        "Someone else saved this draft since you opened it"
        + (f" ({by.email}, at {draft.updated_at:%Y-%m-%d %H:%M} UTC)" if by else "")
        + f"; yours was revision {revision}, the draft is now at revision {draft.revision}. "
        "Nothing was saved: open the draft again to see their changes, then make yours."
    )


def new_item_id(guidance: Guidance, role: str, practice: str, action: str) -> str:
    """A fresh item id in the style of the shipped content: the role, then the action's words."""
    ascii_action = unicodedata.normalize("NFKD", action).encode("ascii", "ignore").decode()
    words = [
        word
        for word in re.findall(r"[a-z0-9]+", ascii_action.lower())
        if word not in ID_SKIPPED_WORDS
    ]
    base = "-".join([role, *(words[:ID_WORDS] or [practice])])[:72].strip("-")
    taken = {
        item.id for p in guidance.practices for items in p.checklists.values() for item in items
    }
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def compare(old: Guidance, new: Guidance) -> dict[str, Changes]:
    """What changed from `old` to `new`, for every role of either."""
    before, after = _placed(old), _placed(new)
    changes = {role.id: Changes() for role in [*new.roles, *old.roles]}
    for (role_id, item_id), (practice_id, item) in after.items():
        role = changes.setdefault(role_id, Changes())
        if (role_id, item_id) not in before:
            role.added.append(ItemChange(practice_id, item_id))
            continue
        old_practice_id, old_item = before[(role_id, item_id)]
        fields = [name for name in ITEM_FIELDS if getattr(old_item, name) != getattr(item, name)]
        if old_practice_id != practice_id:
            fields.insert(0, "practice")
        if fields:
            role.changed.append(ItemChange(practice_id, item_id, tuple(fields)))
    for (role_id, item_id), (practice_id, _) in before.items():
        if (role_id, item_id) not in after:
            changes.setdefault(role_id, Changes()).removed.append(ItemChange(practice_id, item_id))
    practices = _practice_changes(old.practices, new.practices)
    for role in changes.values():
        role.practices = list(practices)
    return changes


def _placed(guidance: Guidance) -> dict[tuple[str, str], tuple[str, Item]]:
    return {
        (role_id, item.id): (practice.id, item)
        for practice in guidance.practices
        for role_id, items in practice.checklists.items()
        for item in items
    }


def _practice_changes(old: list[Practice], new: list[Practice]) -> list[PracticeChange]:
    before = {practice.id: practice for practice in old}
    after = {practice.id: practice for practice in new}
    changes = []
    for practice_id, practice in after.items():
        if practice_id not in before:
            changes.append(PracticeChange(practice_id, "added"))
            continue
        fields = tuple(
            name
            for name in PRACTICE_TEXT_FIELDS
            if getattr(before[practice_id], name) != getattr(practice, name)
        )
        if fields:
            changes.append(PracticeChange(practice_id, "changed", fields))
    changes += [PracticeChange(pid, "removed") for pid in before if pid not in after]
    return changes


def _edited_item_ids(changes: dict[str, Changes]) -> set[str]:
    return {change.item_id for role in changes.values() for change in [*role.added, *role.changed]}


def publish(
    session: Session,
    *,
    notes: str,
    critical: set[str],
    actor: User,
    revision: int | None = None,
    resolve: Sequence[uuid.UUID] = (),
) -> Release:
    """Store the draft as the next release and close it.

    `critical` names the items added or changed in the draft that officers must not miss;
    `revision`, when given, publishes only the draft as it was at that revision; `resolve`
    names field reports this release answers: they are marked resolved in it, in the same
    transaction.
    """
    with _writing(session):
        draft = session.get(Draft, DRAFT_ID, populate_existing=True)
        if draft is None or draft.closed_at is not None:
            session.rollback()
            raise Conflict("There is no open draft to publish: open the draft and edit it first.")
        if revision is not None and draft.revision != revision:
            raise _stale(session, revision)
        newest = content.latest_version(session)
        based_on = content.get_release(session, draft.based_on)
        if based_on is None or newest != draft.based_on:
            raise Conflict(
                f"Release v{newest} was published after this draft was started from "
                f"v{draft.based_on}; publishing the draft would undo it. "
                "Discard the draft and start again from the latest release."
            )
        guidance = loader.parse(draft.body)
        if content.content_hash(guidance) == based_on.content_hash:
            raise Conflict(
                f"The draft is the same as release v{based_on.version}; "
                "there is nothing to publish."
            )
        edited = _edited_item_ids(compare(Guidance.model_validate(based_on.body), guidance))
        if not_edited := sorted(critical - edited):
            raise AppError(
                "Only items added or changed in this draft can be marked critical.",
                422,
                [
                    ErrorDetail(
                        f"{item_id!r} is not an item added or changed in this draft", "critical"
                    )
                    for item_id in not_edited
                ],
            )
        # Closed first, and only at the revision read: a save or publish meanwhile wins, not this.
        closed = session.execute(
            update(Draft)
            .where(*_open_at(draft.revision))
            .values(closed_at=utcnow(), revision=Draft.revision + 1)
        )
        if closed.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            raise Conflict(
                "Someone saved or published this draft while you were publishing it; nothing was "
                "published. Open the draft again, compare it, then publish."
            )
        release, created = content.add_release(session, guidance, notes=notes, critical=critical)
        if not created:
            session.rollback()
            raise Conflict(
                f"The draft is the same as release v{release.version}; there is nothing to publish."
            )
        if resolve:
            review.resolve_in_release(
                session, report_ids=list(resolve), version=release.version, actor=actor
            )
        audit.record(
            session,
            actor=actor,
            action="release_published",
            target=f"v{release.version}",
            detail=_detail(notes, critical=", ".join(sorted(critical))),
        )
        return content.commit_release(session, release, retry="publish again")


def rollback(
    session: Session, *, to_version: int, notes: str, actor: User, latest: int | None = None
) -> Release:
    """Publish release `to_version`'s content again, as the next version, with its hash.

    `latest`, when given, is the latest release the trainer saw: if another was published
    since, nothing is, so that a rollback never undoes a release its author has not seen.
    """
    with _writing(session):
        newest = content.latest_version(session)
        if latest is not None and newest != latest:
            raise Conflict(
                f"Release v{newest} was published since you opened this page, which showed "
                f"v{latest} as the latest; nothing was rolled back. Reload the page and decide "
                "again."
            )
        target = content.get_release(session, to_version)
        if target is None:
            raise NotFound(f"There is no release v{to_version} to roll back to.")
        release, created = content.add_copy(session, target, notes=notes)
        if not created:
            raise Conflict(
                f"Release v{to_version} has the same content as the latest release "
                f"v{release.version}; rolling back to it would change nothing."
            )
        audit.record(
            session,
            actor=actor,
            action="release_rolled_back",
            target=f"v{release.version}",
            detail=_detail(notes, copy_of=f"v{to_version}"),
        )
        return content.commit_release(session, release, retry="roll back again")


def _detail(notes: str, **facts: Any) -> str:
    lines = [f"{name.replace('_', ' ')}: {value}" for name, value in facts.items() if value]
    return "\n".join([*lines, notes.strip()]).strip()
