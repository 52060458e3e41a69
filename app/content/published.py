"""The release an instance serves: parsed once per version, shared by every request."""

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from markupsafe import Markup
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from app.content import markdown
from app.content import service as content
from app.content.models import Release
from app.content.schema import Guidance, Item, Practice, Regime, Role, Source, Term
from app.errors import NoRelease

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlacedItem:
    """A checklist item with where it sits in the release."""

    item: Item
    practice: Practice
    role: Role


@dataclass(frozen=True, eq=False)
class Published:
    version: int
    released_at: datetime
    notes: str
    content_hash: str
    guidance: Guidance
    # Item id -> the latest release, up to this one, that marked the item critical.
    critical: dict[str, int] = field(default_factory=dict)
    _rendered: dict[tuple[str, str], Markup] = field(default_factory=dict, repr=False)

    @classmethod
    def from_release(cls, release: Release, critical: dict[str, int] | None = None) -> "Published":
        """Parse `release`; `critical` defaults to the marks of this release alone."""
        return cls(
            version=release.version,
            released_at=release.created_at,
            notes=release.notes,
            content_hash=release.content_hash,
            guidance=Guidance.model_validate(release.body),
            critical=dict.fromkeys(release.critical, release.version)
            if critical is None
            else critical,
        )

    @classmethod
    def load(cls, session: Session, release: Release) -> "Published":
        """Parse `release` with the critical marks of every release up to it, in one query."""
        marks = session.exec(
            select(Release.version, Release.critical)
            .where(col(Release.version) <= release.version)
            .order_by(col(Release.version))
        )
        critical = {item_id: version for version, ids in marks for item_id in ids}
        return cls.from_release(release, critical)

    @cached_property
    def roles(self) -> dict[str, Role]:
        return {role.id: role for role in self.guidance.roles}

    @cached_property
    def regimes(self) -> dict[str, Regime]:
        return {regime.id: regime for regime in self.guidance.regimes}

    @cached_property
    def sources(self) -> dict[str, Source]:
        return {source.id: source for source in self.guidance.sources}

    @cached_property
    def terms(self) -> dict[str, Term]:
        return {term.id: term for term in self.guidance.glossary}

    @cached_property
    def practices(self) -> dict[str, Practice]:
        return {practice.id: practice for practice in self.guidance.practices}

    @cached_property
    def practice_numbers(self) -> dict[str, int]:
        return {p.id: number for number, p in enumerate(self.guidance.practices, start=1)}

    @cached_property
    def items(self) -> list[PlacedItem]:
        return [
            PlacedItem(item, practice, self.roles[role_id])
            for practice in self.guidance.practices
            for role_id, items in practice.checklists.items()
            for item in items
        ]

    @cached_property
    def findable_items(self) -> list[tuple[PlacedItem, str]]:
        """Each item with the text it can be found by besides its action."""
        return [
            (
                placed,
                " ".join(
                    [
                        placed.item.why,
                        *(f"{self.sources[r.source].short} {r.at or ''}" for r in placed.item.refs),
                        *(self.terms[t].term for t in placed.item.terms),
                    ]
                ),
            )
            for placed in self.items
        ]

    @cached_property
    def folded_items(self) -> list[tuple[PlacedItem, str, str]]:
        """Items with their action and other text casefolded, ready to search."""
        return [
            (placed, placed.item.action.casefold(), f"{text} {placed.practice.title}".casefold())
            for placed, text in self.findable_items
        ]

    @cached_property
    def folded_terms(self) -> list[tuple[Term, str, str]]:
        return [(t, t.term.casefold(), t.definition.casefold()) for t in self.glossary]

    @cached_property
    def glossary(self) -> list[Term]:
        return sorted(self.guidance.glossary, key=lambda term: term.term.casefold())

    def inline(self, text: str) -> Markup:
        return self._render("inline", text)

    def block(self, text: str) -> Markup:
        return self._render("block", text)

    def _render(self, kind: str, text: str) -> Markup:
        key = (kind, text)
        if key not in self._rendered:
            self._rendered[key] = (
                markdown.inline(text) if kind == "inline" else markdown.block(text)
            )
        return self._rendered[key]


class ReleaseCache:
    """Serve the latest release, asking the database at most every `ttl` seconds.

    Every instance reads the same table, so a new release reaches all of them within `ttl`.
    """

    def __init__(self, engine: Engine, ttl: float) -> None:
        self._engine = engine
        self._ttl = ttl
        self._lock = threading.Lock()
        self._current: Published | None = None
        self._checked_at = float("-inf")
        self._older: dict[int, Published] = {}

    def fresh(self) -> Published | None:
        if self._current is not None and time.monotonic() - self._checked_at < self._ttl:
            return self._current
        return None

    def version(self, version: int) -> Published | None:
        """Release `version`, current or not (feedback names the one the phone showed)."""
        current = self.refresh()
        if current.version == version:
            return current
        with self._lock:
            if version in self._older:
                return self._older[version]
        with Session(self._engine) as session:
            release = content.get_release(session, version)
            if release is None:
                return None
            published = Published.load(session, release)
        with self._lock:
            if len(self._older) >= 8:
                self._older.pop(next(iter(self._older)))
            self._older[version] = published
        return published

    def expire(self) -> None:
        """Ask the database on the next request: this instance has just published."""
        with self._lock:
            self._checked_at = float("-inf")

    @property
    def last(self) -> Published | None:
        """The release loaded last, however long ago: enough for an error page."""
        return self._current

    def refresh(self) -> Published:
        """Return the latest release, loading it from the database when it changed."""
        with self._lock:
            current = self.fresh()
            if current is not None:
                return current
            current = self._current
            try:
                with Session(self._engine) as session:
                    version = content.latest_version(session)
                    if version is None:
                        raise NoRelease()
                    if current is None or current.version != version:
                        release = content.get_release(session, version)
                        if release is None:  # pragma: no cover - releases are never deleted
                            raise NoRelease()
                        current = Published.load(session, release)
            except SQLAlchemyError:
                if current is None:
                    raise
                log.exception("database unreachable; still serving v%s", current.version)
            self._current = current
            self._checked_at = time.monotonic()
            return current


async def current_release(request: Request) -> Published:
    """The release to serve; the database is asked off the event loop, and only when stale."""
    releases: ReleaseCache = request.app.state.releases
    published = releases.fresh()
    if published is None:
        published = await run_in_threadpool(releases.refresh)
    return published


PublishedDep = Annotated[Published, Depends(current_release)]
