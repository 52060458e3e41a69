"""The `frontline` command."""

import sys
from pathlib import Path

import click
from sqlmodel import Session

from app.config import ROOT, get_settings
from app.content import loader
from app.content import service as content
from app.db import create_db_engine, writer
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

    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        server_header=False,
    )


@main.group(name="content")
def content_group() -> None:
    """Check and import the guidance files."""


@content_group.command()
@click.argument("directory", type=click.Path(path_type=Path))
def check(directory: Path) -> None:
    """Validate a content folder; print one line per problem."""
    try:
        guidance = loader.load(directory)
    except InvalidContent as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        click.echo(exc.message, err=True)
        sys.exit(1)
    items = sum(len(items) for p in guidance.practices for items in p.checklists.values())
    click.echo(
        f"{directory}: ok: {len(guidance.practices)} practices, {len(guidance.roles)} roles, "
        f"{items} items, {len(guidance.glossary)} glossary terms, {len(guidance.sources)} sources"
    )


@content_group.command(name="import")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--notes", default="", help="What changed, shown with the release.")
@click.option("--if-empty", is_flag=True, help="Import only when no release exists yet.")
def import_(directory: Path, notes: str, if_empty: bool) -> None:
    """Validate a content folder and store it as the next release."""
    engine = create_db_engine(get_settings())
    try:
        with Session(writer(engine)) as session:
            if if_empty and content.latest_version(session) is not None:
                click.echo("A release exists already; nothing imported.")
                return
            guidance = loader.load(directory)
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
