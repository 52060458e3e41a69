from fastapi.testclient import TestClient

from app.config import Settings
from app.content.models import Release
from app.main import create_app


def test_healthz_reports_database_and_release(client: TestClient, release: Release) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "release": release.version}
    assert response.headers["cache-control"] == "no-store"


def test_healthz_is_degraded_before_any_release(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "release": None}


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1",
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unreachable", "release": None}
