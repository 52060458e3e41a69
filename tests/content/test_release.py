from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from app import cli
from app.config import Settings
from app.content import loader
from app.content import service as content
from app.content.models import Release
from app.content.schema import Guidance
from tests.factories import guidance as guidance_files
from tests.factories import write_content


def release_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Release)).one()


def test_import_stores_version_1_with_hash_time_and_notes(
    session: Session, guidance: Guidance
) -> None:
    before = datetime.now(UTC)

    release, created = content.import_release(session, guidance, notes="  First release  ")

    assert created is True
    assert release.version == 1
    assert release.content_hash == content.content_hash(guidance)
    assert len(release.content_hash) == 64
    assert release.notes == "First release"
    assert release.created_at.tzinfo is not None
    assert before <= release.created_at <= datetime.now(UTC)
    assert Guidance.model_validate(release.body) == guidance


def test_import_of_identical_content_creates_no_release(
    session: Session, guidance: Guidance
) -> None:
    first, _ = content.import_release(session, guidance, notes="one")

    again, created = content.import_release(session, guidance, notes="two")

    assert created is False
    assert again.id == first.id
    assert release_count(session) == 1


def test_import_of_changed_content_creates_the_next_version(
    session: Session, tmp_path: Path
) -> None:
    files = guidance_files()
    content.import_release(session, loader.load(write_content(tmp_path / "a", files)), notes="")
    files["practices/01-legal-framework.yaml"]["title"] = "Legal basis"

    release, created = content.import_release(
        session, loader.load(write_content(tmp_path / "b", files)), notes="Renamed"
    )

    assert created is True
    assert release.version == 2
    assert release_count(session) == 2
    assert content.latest_release(session) == release


def test_cli_import_validates_stores_and_is_idempotent(settings: Settings, tmp_path: Path) -> None:
    runner = CliRunner(env={"DATABASE_URL": settings.database_url})
    cli.get_settings.cache_clear()
    folder = str(write_content(tmp_path))
    try:
        first = runner.invoke(cli.main, ["content", "import", folder, "--notes", "Initial"])
        second = runner.invoke(cli.main, ["content", "import", folder])
        only_if_empty = runner.invoke(cli.main, ["content", "import", folder, "--if-empty"])
    finally:
        cli.get_settings.cache_clear()

    assert first.exit_code == 0, first.output
    assert first.output.startswith("Imported release v1 (")
    assert second.output.startswith("Identical to release v1; no new release.")
    assert only_if_empty.output == "A release exists already; nothing imported.\n"


def test_cli_import_of_invalid_content_stores_nothing(
    settings: Settings, session: Session, tmp_path: Path
) -> None:
    files = guidance_files()
    files["roles.yaml"][0]["name"] = ""
    runner = CliRunner(env={"DATABASE_URL": settings.database_url})
    cli.get_settings.cache_clear()
    try:
        result = runner.invoke(cli.main, ["content", "import", str(write_content(tmp_path, files))])
    finally:
        cli.get_settings.cache_clear()

    assert result.exit_code == 1
    assert "roles.yaml:2: [0].name: String should have at least 1 character" in result.output
    assert "Nothing was imported." in result.output
    assert release_count(session) == 0


def test_app_serves_a_new_release_without_restart(
    client: TestClient, session: Session, guidance: Guidance, tmp_path: Path
) -> None:
    content.import_release(session, guidance, notes="")
    assert client.get("/api/v1/content").json()["version"] == 1
    files = guidance_files()
    files["roles.yaml"][0]["name"] = "Border and customs"

    content.import_release(session, loader.load(write_content(tmp_path, files)), notes="")

    body = client.get("/api/v1/content").json()
    assert body["version"] == 2
    assert body["roles"][0]["name"] == "Border and customs"
    assert "Border and customs" in client.get("/en/").text


def test_pages_answer_503_before_any_release(client: TestClient) -> None:
    page = client.get("/en/customs/")
    api = client.get("/api/v1/content")

    assert page.status_code == 503
    assert "No guidance has been published yet" in page.text
    assert api.status_code == 503
    assert api.json()["detail"].startswith("No guidance has been published yet")
