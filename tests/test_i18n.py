import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from app.config import ROOT, Settings
from app.content.models import Release
from app.main import create_app


def msgids(path: Path) -> set[str]:
    with path.open("rb") as file:
        return {message.id for message in read_po(file) if message.id}


def test_the_catalog_template_holds_every_page_string(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-o",
            str(fresh),
            "--no-wrap",
            "--omit-header",
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )

    assert msgids(ROOT / "app" / "locales" / "messages.pot") == msgids(fresh)


def test_a_right_to_left_language_gets_a_right_to_left_page(
    settings: Settings, release: Release
) -> None:
    app = create_app(settings.model_copy(update={"languages": ["en", "ar"]}))
    with TestClient(app) as client:
        page = client.get("/ar/customs/").text
        english = client.get("/en/customs/").text

    assert '<html lang="ar" dir="rtl">' in page
    assert '<html lang="en" dir="ltr">' in english
