import hashlib
import re
import struct
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.content import loader
from app.content import service as content
from app.content.models import Release
from app.content.schema import Guidance
from app.pwa import icons
from app.templating import STATIC_DIR
from tests.factories import guidance as guidance_files
from tests.factories import write_content


def normalized_hash(body: bytes) -> str:
    body = re.sub(
        rb'<span data-release="[^"]*">[^<]*</span>', b'<span data-release=""></span>', body
    )
    return hashlib.sha256(body).hexdigest()


def manifest(client: TestClient, role: str = "customs") -> dict:
    response = client.get("/api/v1/offline-manifest", params={"role": role, "lang": "en"})
    assert response.status_code == 200
    return response.json()


def test_offline_manifest_lists_every_page_of_the_role_with_hash_and_size(
    client: TestClient, release: Release, guidance: Guidance
) -> None:
    body = manifest(client, "police")

    urls = [entry["url"] for entry in body["urls"]]
    expected = ["/en/", "/en/police/"] + [f"/en/police/{p.id}/" for p in guidance.practices]
    expected += ["/en/glossary/", "/en/sources/", "/en/matrix/", "/en/search/", "/en/offline/"]
    expected += ["/en/outbox/"]
    expected += ["/api/v1/search-index?role=police&lang=en"]
    assert urls == expected
    assert body["version"] == release.version
    assert body["release_label"].startswith(f"Guidance version {release.version}, ")
    for entry in body["urls"]:
        served = client.get(entry["url"])
        assert served.status_code == 200, entry["url"]
        assert entry["size"] == len(served.content)
        assert entry["hash"] == normalized_hash(served.content)
    assert body["total_bytes"] == sum(entry["size"] for entry in body["urls"])
    police_items = [i.id for p in guidance.practices for i in p.checklists["police"]]
    assert list(body["items"]) == police_items


def test_a_changed_item_changes_only_the_pages_that_show_it(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    files = guidance_files()
    content.import_release(session, loader.load(write_content(tmp_path / "a", files)), notes="")
    before = {e["url"]: e["hash"] for e in manifest(client)["urls"]}
    items_before = manifest(client)["items"]
    files["practices/02-control-lists.yaml"]["checklists"]["customs"][0]["action"] = "Hold it."
    content.import_release(session, loader.load(write_content(tmp_path / "b", files)), notes="")

    after = manifest(client)
    changed = {e["url"] for e in after["urls"] if before[e["url"]] != e["hash"]}

    assert after["version"] == 2
    assert changed == {
        "/en/customs/control-lists/",
        "/en/matrix/",
        "/api/v1/search-index?role=customs&lang=en",
    }
    changed_items = {i for i, h in after["items"].items() if items_before[i] != h}
    assert changed_items == {"customs-control-lists-licence"}


def test_offline_manifest_names_each_item_of_the_role_and_carries_the_notes(
    client: TestClient, release: Release, guidance: Guidance
) -> None:
    body = manifest(client, "licensing")

    assert body["notes"] == "Test release"
    assert body["titles"] == {
        item.id: {"title": item.action, "practice": practice.id}
        for practice in guidance.practices
        for item in practice.checklists["licensing"]
    }
    assert list(body["titles"]) == list(body["items"])
    assert body["critical"] == {}


def publish(
    session: Session, tmp_path: Path, files: dict[str, Any], *, critical: set[str]
) -> Release:
    guidance = loader.load(write_content(tmp_path / f"v{len(list(tmp_path.iterdir()))}", files))
    release, created = content.add_release(session, guidance, notes="", critical=critical)
    assert created
    return content.commit_release(session, release)


def test_an_item_stays_critical_at_the_latest_release_that_marked_it_until_removed(
    client: TestClient, app: FastAPI, session: Session, tmp_path: Path
) -> None:
    files = guidance_files()
    customs = files["practices/02-control-lists.yaml"]["checklists"]["customs"]
    licence, embargo = "customs-control-lists-licence", "customs-control-lists-embargo"
    publish(session, tmp_path, files, critical=set())
    customs[0]["action"] = "Hold the goods."
    publish(session, tmp_path, files, critical={licence})
    marked_in_v2 = manifest(client)
    police_v2 = manifest(client, "police")
    customs[1]["action"] = "Check the embargo list of the day."
    publish(session, tmp_path, files, critical={embargo})
    marked_in_v3 = manifest(client)
    files["glossary.yaml"][0]["definition"] = "Arranging a transfer for others."
    publish(session, tmp_path, files, critical=set())
    unmarked_v4 = manifest(client)
    customs[0]["action"] = "Hold the goods and call the duty officer."
    publish(session, tmp_path, files, critical={licence})
    marked_again_in_v5 = manifest(client)
    del customs[0]
    publish(session, tmp_path, files, critical=set())
    removed_in_v6 = manifest(client)
    v2 = app.state.releases.version(2)

    assert marked_in_v2["critical"] == {licence: 2}
    assert marked_in_v2["titles"][licence] == {
        "title": "Hold the goods.",
        "practice": "control-lists",
    }
    assert police_v2["critical"] == {}
    assert marked_in_v3["critical"] == {licence: 2, embargo: 3}
    assert unmarked_v4["version"] == 4
    assert unmarked_v4["critical"] == {licence: 2, embargo: 3}
    assert marked_again_in_v5["critical"] == {licence: 5, embargo: 3}
    assert removed_in_v6["critical"] == {embargo: 3}
    assert licence not in removed_in_v6["titles"]
    assert v2.critical == {licence: 2}  # an older release knows only the marks up to it


def test_offline_manifest_refuses_unknown_role_or_language(
    client: TestClient, release: Release
) -> None:
    role = client.get("/api/v1/offline-manifest", params={"role": "pilots", "lang": "en"})
    lang = client.get("/api/v1/offline-manifest", params={"role": "customs", "lang": "xx"})
    missing = client.get("/api/v1/offline-manifest")

    assert role.status_code == 404
    assert role.json()["detail"].startswith("There is no role 'pilots'.")
    assert lang.status_code == 404
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["loc"] == "query.role"


def test_offline_manifest_answers_304_when_unchanged(client: TestClient, release: Release) -> None:
    params = {"role": "customs", "lang": "en"}
    first = client.get("/api/v1/offline-manifest", params=params)

    again = client.get(
        "/api/v1/offline-manifest", params=params, headers={"If-None-Match": first.headers["etag"]}
    )

    assert again.status_code == 304


def test_search_index_holds_the_role_items_and_the_glossary(
    client: TestClient, release: Release, guidance: Guidance
) -> None:
    body = client.get("/api/v1/search-index", params={"role": "licensing", "lang": "en"}).json()

    practice = guidance.practices[0]
    first = practice.checklists["licensing"][0]
    assert body["items"][0]["id"] == first.id
    assert body["items"][0]["title"] == first.action
    assert body["items"][0]["url"] == f"/en/licensing/{practice.id}/#{first.id}"
    assert len(body["items"]) == sum(len(p.checklists["licensing"]) for p in guidance.practices)
    assert len(body["terms"]) == len(guidance.glossary)


def test_web_manifest_is_installable_and_its_icons_exist(client: TestClient) -> None:
    response = client.get("/manifest.webmanifest")

    assert response.headers["content-type"] == "application/manifest+json"
    assert response.headers["cache-control"] == "no-cache"
    body = response.json()
    assert body["start_url"] == "/en/"
    assert body["scope"] == "/"
    assert body["display"] == "standalone"
    assert (body["lang"], body["dir"]) == ("en", "ltr")
    assert {icon.get("purpose", "any") for icon in body["icons"]} == {"any", "maskable"}
    for icon in body["icons"]:
        png = client.get(icon["src"])
        assert png.status_code == 200
        assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", png.content[16:24])
        assert f"{width}x{height}" == icon["sizes"]
    assert {icon["sizes"] for icon in body["icons"]} == {"192x192", "512x512"}


def test_icons_in_the_repository_are_the_ones_the_script_draws(tmp_path: Path) -> None:
    written = icons.write_icons(tmp_path)

    for path in written:
        assert path.read_bytes() == (STATIC_DIR / "icons" / path.name).read_bytes(), path.name


def test_service_worker_is_served_from_the_root_uncached_with_its_shell(
    client: TestClient, release: Release
) -> None:
    response = client.get("/sw.js")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    config = response.text.splitlines()[0]
    shell = re.findall(r'"(/[^"]+)"', config.split('"offline"')[0])
    assert "/manifest.webmanifest" in shell
    assert any(url.startswith("/static/js/offline.js?v=") for url in shell)
    for url in shell:
        assert client.get(url).status_code == 200, url
