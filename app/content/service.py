import copy
import hashlib
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.content.models import Release
from app.content.schema import Guidance
from app.errors import Conflict


def content_hash(guidance: Guidance) -> str:
    canonical = json.dumps(
        guidance.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def latest_release(session: Session) -> Release | None:
    return session.exec(select(Release).order_by(Release.version.desc()).limit(1)).first()  # type: ignore[attr-defined]


def latest_version(session: Session) -> int | None:
    return session.exec(select(func.max(Release.version))).one()


def get_release(session: Session, version: int) -> Release | None:
    return session.exec(select(Release).where(Release.version == version)).first()


def import_release(session: Session, guidance: Guidance, *, notes: str) -> tuple[Release, bool]:
    """Store `guidance` as the next release; return (release, created).

    Content identical to the latest release creates nothing and returns that release.
    """
    release, created = add_release(session, guidance, notes=notes)
    if created:
        commit_release(session, release)
    return release, created


def add_release(
    session: Session, guidance: Guidance, *, notes: str, critical: Iterable[str] = ()
) -> tuple[Release, bool]:
    """Add `guidance` to the session as the next release, uncommitted; return (release, created).

    Content identical to the latest release adds nothing and returns that release.
    """
    return _add(
        session,
        body=guidance.model_dump(mode="json"),
        digest=content_hash(guidance),
        notes=notes,
        critical=critical,
    )


def add_copy(session: Session, release: Release, *, notes: str) -> tuple[Release, bool]:
    """Add `release`'s content again as the next release, uncommitted, with the same hash."""
    return _add(session, body=copy.deepcopy(release.body), digest=release.content_hash, notes=notes)


def _add(
    session: Session,
    *,
    body: dict[str, Any],
    digest: str,
    notes: str,
    critical: Iterable[str] = (),
) -> tuple[Release, bool]:
    latest = latest_release(session)
    if latest is not None and latest.content_hash == digest:
        return latest, False
    release = Release(
        version=(latest.version if latest else 0) + 1,
        content_hash=digest,
        body=body,
        notes=notes.strip(),
        critical=sorted(set(critical)),
    )
    session.add(release)
    return release, True


def commit_release(session: Session, release: Release, *, retry: str = "import again") -> Release:
    """Commit the transaction that adds `release`; Conflict if its version was taken meanwhile."""
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(
            f"Release v{release.version} was stored by someone else at the same time; "
            f"{retry} to store this content as the next version."
        ) from exc
    session.refresh(release)
    return release
