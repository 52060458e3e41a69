"""The `frontline` command."""

import sys
from pathlib import Path

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app.auth import service as auth
from app.auth.models import ROLES
from app.config import ROOT, get_settings
from app.content import bundle, drafts, loader
from app.content import service as content
from app.content.schema import Guidance
from app.db import create_db_engine, normalize_url, writer
from app.errors import AppError, InvalidContent


@click.group()
def main() -> None:
    """Frontline: strategic trade control guidance for frontline officers."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Server processes.")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the guidance over HTTP."""
    import uvicorn

    print_setup_link(host, port)

    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        server_header=False,
    )


def print_setup_link(host: str, port: int) -> None:
    """Print a one-time link to create the first administrator, while there is none."""
    engine = create_db_engine(get_settings())
    try:
        with Session(writer(engine)) as session:
            token = auth.create_setup_token(session)
    except SQLAlchemyError:
        click.echo("The database is not ready: run `frontline db upgrade`.", err=True)
        return
    finally:
        engine.dispose()
    if token:
        where = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - a link, not a bind
        click.echo(
            "No administrator exists yet. Create the first one, within the hour, at:\n"
            f"  http://{where}:{port}/setup/{token}\n"
            "(or run: frontline users create EMAIL --role administrator)"
        )


@main.group()
def users() -> None:
    """Manage accounts."""


@users.command(name="create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES))
def create_user(email: str, role: str) -> None:
    """Create an account; the password is asked for, or read from standard input."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    engine = create_db_engine(get_settings())
    try:
        with Session(writer(engine)) as session:
            user = auth.create_user(session, email=email, role=role, password=password, actor=None)
    except AppError as exc:
        click.echo(exc.message, err=True)
        sys.exit(1)
    finally:
        engine.dispose()
    click.echo(f"Created {user.role} {user.email}.")


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
def backup(file: Path) -> None:
    """Write a consistent copy of the SQLite database to FILE, even while it is being served."""
    import sqlite3

    url = make_url(normalize_url(get_settings().database_url))
    if url.get_backend_name() != "sqlite" or not url.database:
        click.echo(
            "This database is PostgreSQL: back it up with pg_dump (see the README).", err=True
        )
        sys.exit(1)
    if file.exists():
        click.echo(f"{file} exists already; choose a new file.", err=True)
        sys.exit(1)
    file.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{url.database}?mode=ro", uri=True)
    target = sqlite3.connect(file)
    try:
        with target:
            source.backup(target)  # pages copied under SQLite's own locking: one snapshot
        check = target.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        source.close()
        target.close()
    if check != "ok":
        file.unlink()
        click.echo(f"The copy failed its integrity check ({check}); nothing kept.", err=True)
        sys.exit(1)
    click.echo(f"Backed up {url.database} to {file} ({file.stat().st_size:,} bytes).")


@main.group(name="content")
def content_group() -> None:
    """Check, import and export the guidance files."""


def read_guidance(path: Path) -> Guidance:
    """Load a content folder, or a bundle (a zip of one) when `path` is a file."""
    if path.is_file():
        with path.open("rb") as file:
            # One byte past the limit is enough for read_bundle to refuse an oversized file.
            return bundle.read_bundle(file.read(bundle.MAX_BUNDLE_BYTES + 1))
    return loader.load(path)


@content_group.command()
@click.argument("path", type=click.Path(path_type=Path))
def check(path: Path) -> None:
    """Validate a content folder or bundle; print one line per problem."""
    try:
        guidance = read_guidance(path)
    except InvalidContent as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        click.echo(exc.message, err=True)
        sys.exit(1)
    items = sum(len(items) for p in guidance.practices for items in p.checklists.values())
    click.echo(
        f"{path}: ok: {len(guidance.practices)} practices, {len(guidance.roles)} roles, "
        f"{items} items, {len(guidance.glossary)} glossary terms, {len(guidance.sources)} sources"
    )


@content_group.command(name="import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--notes", default="", help="What changed, shown with the release.")
@click.option("--if-empty", is_flag=True, help="Import only when no release exists yet.")
@click.option(
    "--draft", is_flag=True, help="Replace the trainers' draft with it instead; publish nothing."
)
def import_(path: Path, notes: str, if_empty: bool, draft: bool) -> None:
    """Validate a content folder or bundle and store it as the next release (or the draft)."""
    engine = create_db_engine(get_settings())
    try:
        with Session(writer(engine)) as session:
            if if_empty and content.latest_version(session) is not None:
                click.echo("A release exists already; nothing imported.")
                return
            guidance = read_guidance(path)
            if draft:
                opened = drafts.open_draft(session, None)
                saved = drafts.save_draft(
                    session, guidance.model_dump(mode="json"), revision=opened.revision, actor=None
                )
                click.echo(
                    f"The draft (based on v{saved.based_on}) now holds {path}; "
                    f"revision {saved.revision}. Nothing is published."
                )
                return
            release, created = content.import_release(session, guidance, notes=notes)
    except InvalidContent as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        click.echo(f"{exc.message} Nothing was imported.", err=True)
        sys.exit(1)
    except AppError as exc:
        click.echo(exc.message, err=True)
        sys.exit(1)
    finally:
        engine.dispose()
    if created:
        click.echo(f"Imported release v{release.version} ({release.content_hash[:12]}).")
    else:
        click.echo(f"Identical to release v{release.version}; no new release.")


@content_group.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--version", type=int, help="The release to export (default: the latest).")
def export(file: Path, version: int | None) -> None:
    """Write a stored release to FILE as a bundle: a zip of the content folder."""
    if file.exists():
        click.echo(f"{file} exists already; choose a new file.", err=True)
        sys.exit(1)
    engine = create_db_engine(get_settings())
    try:
        with Session(engine) as session:
            if version is None:
                release = content.latest_release(session)
            else:
                release = content.get_release(session, version)
    finally:
        engine.dispose()
    if release is None:
        missing = (
            "No release is stored yet" if version is None else f"There is no release v{version}"
        )
        click.echo(f"{missing}; nothing exported.", err=True)
        sys.exit(1)
    data = bundle.export_bundle(Guidance.model_validate(release.body))
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(data)
    click.echo(
        f"Exported release v{release.version} ({release.content_hash[:12]}) to {file} "
        f"({len(data):,} bytes)."
    )


@main.group()
def db() -> None:
    """Manage the database schema."""


@db.command()
@click.option("--revision", default="head", show_default=True)
def upgrade(revision: str) -> None:
    """Apply the migrations up to a revision."""
    from alembic import command

    command.upgrade(alembic_config(), revision)


def alembic_config(database_url: str | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    if database_url:
        config.attributes["database_url"] = database_url
    return config
