import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Playwright, sync_playwright
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.cli import alembic_config
from app.config import ROOT, Settings
from app.content import loader
from app.content import service as content
from app.content.models import Release
from app.content.schema import Guidance
from app.db import create_db_engine, normalize_url
from app.main import create_app
from tests.browser import launch
from tests.servers import running_server

# Set by `make test` for its second run: a PostgreSQL server where tests may create databases.
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")
CONTENT_DIR = ROOT / "content"


def _admin_engine() -> Engine:
    return create_engine(normalize_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")


def _create_database(template: str | None = None) -> str:
    name = f"frontline_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as connection:
        suffix = f" TEMPLATE {template}" if template else ""
        connection.execute(text(f"CREATE DATABASE {name}{suffix}"))
    admin.dispose()
    return name


def _drop_database(name: str) -> None:
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def _postgres_url(name: str) -> str:
    return make_url(normalize_url(POSTGRES_URL)).set(database=name).render_as_string(False)


def migrate(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


@pytest.fixture(scope="session")
def backend() -> str:
    return "postgresql" if POSTGRES_URL else "sqlite"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated once per run; each test gets a copy of it."""
    if POSTGRES_URL:
        name = _create_database()
        migrate(_postgres_url(name))
        yield name
        _drop_database(name)
    else:
        path = tmp_path_factory.mktemp("template") / "frontline.db"
        migrate(f"sqlite:///{path}")
        yield str(path)


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all."""
    if POSTGRES_URL:
        name = _create_database()
        yield _postgres_url(name)
        _drop_database(name)
    else:
        yield f"sqlite:///{tmp_path / 'empty.db'}"


@pytest.fixture
def database_url(migrated_template: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database of the backend under test, for this test alone."""
    if POSTGRES_URL:
        name = _create_database(template=migrated_template)
        yield _postgres_url(name)
        _drop_database(name)
    else:
        path = tmp_path / "frontline.db"
        shutil.copyfile(migrated_template, path)
        yield f"sqlite:///{path}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        database_url=database_url,
        release_check_seconds=0,
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="session")
def guidance() -> Guidance:
    """The guidance shipped in content/."""
    return loader.load(CONTENT_DIR)


@pytest.fixture
def release(session: Session, guidance: Guidance) -> Release:
    release, _ = content.import_release(session, guidance, notes="Test release")
    return release


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = launch(playwright)
    yield browser
    browser.close()


@pytest.fixture
def server(database_url: str, release: Release) -> Iterator[str]:
    """The app in its own process, serving the shipped guidance as release 1."""
    with running_server(database_url) as base:
        yield base
