from fastapi.testclient import TestClient

from app.config import Settings
from app.content.models import Release
from app.main import create_app


def test_a_page_served_from_memory_answers_as_the_route_did(
    settings: Settings, release: Release
) -> None:
    app = create_app(settings.model_copy(update={"release_check_seconds": 3600}))
    with TestClient(app) as client:
        rendered = client.get("/en/customs/", headers={"Accept-Encoding": "gzip"})
        remembered = client.get("/en/customs/", headers={"Accept-Encoding": "gzip"})
        plain = client.get("/en/customs/", headers={"Accept-Encoding": "identity"})
        unchanged = client.get("/en/customs/", headers={"If-None-Match": rendered.headers["etag"]})

    assert app.state.responses.peek((release.version, "/en/customs/", "")) is not None
    assert remembered.content == rendered.content == plain.content
    for name in ("etag", "cache-control", "content-type", "content-encoding", "vary"):
        assert remembered.headers[name] == rendered.headers[name], name
    assert (
        remembered.headers["content-security-policy"] == rendered.headers["content-security-policy"]
    )
    assert "content-encoding" not in plain.headers
    assert unchanged.status_code == 304
