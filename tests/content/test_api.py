from fastapi.testclient import TestClient

from app.content.models import Release
from app.content.schema import Guidance


def test_content_api_returns_the_current_release_whole(
    client: TestClient, release: Release, guidance: Guidance
) -> None:
    response = client.get("/api/v1/content", params={"lang": "en"})

    assert response.status_code == 200
    body = response.json()
    assert body["version"] == release.version
    assert body["content_hash"] == release.content_hash
    assert body["language"] == "en"
    assert [role["id"] for role in body["roles"]] == [role.id for role in guidance.roles]
    assert [p["number"] for p in body["practices"]] == list(range(1, len(guidance.practices) + 1))
    first = guidance.practices[0]
    item = first.checklists["customs"][0]
    served = body["practices"][0]["checklists"]["customs"][0]
    assert served == item.model_dump(mode="json")
    assert set(served) == {
        "id",
        "action",
        "why",
        "refs",
        "regimes",
        "red_flag",
        "critical",
        "terms",
    }
    assert len(body["glossary"]) == len(guidance.glossary)
    assert len(body["sources"]) == len(guidance.sources)


def test_content_api_revalidates_with_etag(client: TestClient, release: Release) -> None:
    first = client.get("/api/v1/content")

    again = client.get("/api/v1/content", headers={"If-None-Match": first.headers["etag"]})

    assert again.status_code == 304


def test_content_api_gives_404_json_for_an_unknown_language(
    client: TestClient, release: Release
) -> None:
    response = client.get("/api/v1/content", params={"lang": "xx"})

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "detail": "There is no guidance in the language 'xx'.",
        "errors": [],
    }


def test_unknown_api_path_gives_404_json(client: TestClient) -> None:
    response = client.get("/api/v1/nothing")

    assert response.status_code == 404
    assert response.json()["detail"] == "There is no page at this address."


def test_openapi_documents_every_response_the_api_gives(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()

    assert set(spec["paths"]) == {
        "/api/v1/content",
        "/api/v1/offline-manifest",
        "/api/v1/search-index",
        "/api/v1/feedback",
        "/api/v1/feedback/batch",
        "/healthz",
    }
    content_responses = spec["paths"]["/api/v1/content"]["get"]["responses"]
    assert set(content_responses) == {"200", "304", "404", "422", "503"}
    assert set(spec["paths"]["/healthz"]["get"]["responses"]) == {"200", "503"}
    for path in ("/api/v1/offline-manifest", "/api/v1/search-index"):
        assert set(spec["paths"][path]["get"]["responses"]) == {"200", "304", "404", "422", "503"}
    feedback = spec["paths"]["/api/v1/feedback"]["post"]
    assert set(feedback["responses"]) == {"200", "201", "409", "413", "415", "422", "429"}
    assert "id" in feedback["requestBody"]["content"]["application/json"]["schema"]["required"]
    batch = spec["paths"]["/api/v1/feedback/batch"]["post"]
    assert set(batch["responses"]) == {"200", "413", "415", "422", "429"}
