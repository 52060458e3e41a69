import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright
from sqlmodel import Session

from app.content import service as content
from app.content.schema import Guidance
from tests.browser import PHONE, chromium_profile
from tests.servers import requests_seen, running_server

ROLES = ["customs", "licensing", "police"]


def wait_until_ready(page: Page) -> None:
    page.wait_for_selector("#offline[data-state=ready]", state="attached", timeout=30_000)


def manifest(server: str, role: str) -> dict[str, str]:
    response = httpx.get(f"{server}/api/v1/offline-manifest", params={"role": role, "lang": "en"})
    return {entry["url"]: entry["hash"] for entry in response.json()["urls"]}


@pytest.mark.browser
@pytest.mark.parametrize("role", ROLES)
def test_a_role_saved_on_its_first_visit_opens_offline_page_by_page(
    browser: Browser, server: str, role: str
) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    urls = manifest(server, role)

    page.goto(f"{server}/en/{role}/")
    wait_until_ready(page)
    status = page.locator("#offline summary").text_content()
    context.set_offline(True)
    answers = {}
    for url in urls:
        if url.startswith("/api/"):
            answers[url] = page.evaluate("url => fetch(url).then(r => r.status)", url)
            continue
        response = page.goto(server + url)
        page.wait_for_load_state("networkidle")  # let the page's own fetches finish
        assert response is not None
        assert response.from_service_worker, url
        answers[url] = response.status

    assert status == f"Ready offline · v1 · {len(urls)} pages"
    assert answers == dict.fromkeys(urls, 200)
    assert failed == []
    context.close()


@pytest.mark.browser
def test_a_page_that_was_never_saved_falls_back_to_the_offline_page(
    browser: Browser, server: str
) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{server}/en/customs/")
    wait_until_ready(page)
    context.set_offline(True)

    response = page.goto(f"{server}/en/police/")

    assert response is not None and response.from_service_worker
    assert page.locator("h1").text_content() == "You are offline"
    assert page.locator("main a[href='/en/customs/']").count() == 1
    context.close()


@pytest.mark.browser
def test_offline_search_finds_an_item_by_a_word_of_its_action(
    browser: Browser, server: str, guidance: Guidance
) -> None:
    practice = guidance.practices[3]
    item = practice.checklists["customs"][2]
    word = max(item.action.split(), key=len).strip(".,;:()\"'")
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{server}/en/customs/")
    wait_until_ready(page)
    context.set_offline(True)

    page.goto(f"{server}/en/search/?q={word}")
    link = page.locator(f"#results a[href='/en/customs/{practice.id}/#{item.id}']")
    link.wait_for(timeout=10_000)
    page.fill("#q", "")
    page.locator("#q").press_sequentially(word[:-1])

    assert page.locator(f"#results a[href='/en/customs/{practice.id}/#{item.id}']").count() == 1
    context.close()


@pytest.mark.browser
def test_a_new_release_reaches_an_open_page_downloading_only_what_changed(
    browser: Browser, database_url: str, session: Session, guidance: Guidance, tmp_path: Path
) -> None:
    content.import_release(session, guidance, notes="")
    practice = guidance.practices[1]
    item = practice.checklists["customs"][0]
    data = guidance.model_dump()
    data["practices"][1]["checklists"]["customs"][0]["action"] = (
        "Hold the goods and call the duty officer."
    )
    changed = Guidance.model_validate(data)
    log = tmp_path / "access.log"

    with running_server(database_url, access_log=log) as server:
        context = browser.new_context(viewport=PHONE)
        page = context.new_page()
        page.goto(f"{server}/en/customs/{practice.id}/")
        wait_until_ready(page)
        before = manifest(server, "customs")
        content.import_release(session, changed, notes="One item reworded")
        while httpx.get(f"{server}/api/v1/content").json()["version"] != 2:
            time.sleep(0.2)  # until the server's release cache expires
        mark = len(requests_seen(log))
        context.set_offline(True)
        page.wait_for_function("!navigator.onLine")
        context.set_offline(False)  # signal returns: the app looks for a new release
        page.wait_for_function("navigator.onLine")
        page.wait_for_selector("#update:not([hidden])", timeout=30_000)
        seen = requests_seen(log)[mark:]
        banner = page.locator("#update span").text_content()
        open_text = page.locator(f"#{item.id} .action").text_content()
        after = manifest(server, "customs")
        page.reload()
        new_text = page.locator(f"#{item.id} .action").text_content()
        context.set_offline(True)
        versions = {}
        for url in after:
            if not url.startswith("/api/"):
                page.goto(server + url)
                versions[url] = page.locator("[data-release]").get_attribute("data-release")
        packs = [n for n in page.evaluate("caches.keys()") if n.startswith("frontline-pack-")]
        context.close()

    changed_urls = {url for url in after if after[url] != before[url]}
    assert banner == "Guidance updated to v2 · 1 changes for your role"
    assert sorted(seen) == sorted(
        ["GET /api/v1/offline-manifest?role=customs&lang=en"] + [f"GET {u}" for u in changed_urls]
    )
    assert f"/en/customs/{practice.id}/" in changed_urls
    assert len(changed_urls) < len(after) // 2
    assert open_text is not None and open_text.endswith(item.action)
    assert new_text is not None and new_text.endswith("Hold the goods and call the duty officer.")
    assert versions == dict.fromkeys(versions, "2")
    assert len(packs) == 1 and packs[0].startswith("frontline-pack-v2-")  # the old one is gone


@pytest.mark.browser
def test_ticks_survive_reload_offline_and_a_browser_restart(
    playwright: Playwright, server: str, guidance: Guidance, tmp_path: Path
) -> None:
    practice = guidance.practices[0]
    first, second = practice.checklists["police"][:2]
    url = f"{server}/en/police/{practice.id}/"
    profile = tmp_path / "profile"

    with chromium_profile(playwright, profile) as context:
        page = context.new_page()
        page.goto(url)
        wait_until_ready(page)
        page.check(f"#{first.id} input.tick")
        page.check(f"#{second.id} input.tick")
        page.reload()
        after_reload = page.is_checked(f"#{first.id} input.tick")
        context.set_offline(True)
        page.goto(url)
        offline = [page.is_checked(f"#{i.id} input.tick") for i in (first, second)]

    with chromium_profile(playwright, profile) as context:
        context.set_offline(True)
        page = context.new_page()
        page.goto(url)
        restarted = [page.is_checked(f"#{i.id} input.tick") for i in (first, second)]
        progress_text = page.locator("#progress").text_content()
        page.goto(f"{server}/en/police/")
        role_progress = page.locator(f"a[data-practice='{practice.id}'] .progress").text_content()
        page.goto(url)
        page.click("#clear-ticks")
        page.reload()
        cleared = page.is_checked(f"#{first.id} input.tick")

    total = len(practice.checklists["police"])
    assert after_reload is True
    assert offline == [True, True]
    assert restarted == [True, True]
    assert progress_text == f"2 of {total} done"
    assert role_progress == f"2 of {total} done"
    assert cleared is False


def publish(
    session: Session, server: str, data: dict[str, Any], *, notes: str, critical: set[str]
) -> None:
    """Publish `data` as the next release and wait until the server serves it."""
    release, _ = content.add_release(
        session, Guidance.model_validate(data), notes=notes, critical=critical
    )
    content.commit_release(session, release)
    while httpx.get(f"{server}/api/v1/content").json()["version"] != release.version:
        time.sleep(0.2)  # until the server's release cache expires


def signal_returns(context: BrowserContext, page: Page) -> None:
    """Drop and restore the network: the app looks for a new release and announces it."""
    context.set_offline(True)
    page.wait_for_function("!navigator.onLine")
    context.set_offline(False)
    page.wait_for_function("navigator.onLine")
    page.wait_for_selector("#update:not([hidden])", timeout=30_000)


@pytest.mark.browser
def test_a_critical_change_is_listed_first_and_asked_for_until_confirmed_read(
    playwright: Playwright, server: str, session: Session, guidance: Guidance, tmp_path: Path
) -> None:
    first, practice = guidance.practices[0], guidance.practices[1]
    reworded, critical = first.checklists["customs"][0], practice.checklists["customs"][0]
    data = guidance.model_dump()
    data["practices"][0]["checklists"]["customs"][0]["action"] = "Compare the papers."
    data["practices"][1]["checklists"]["customs"][0]["action"] = "Hold the goods, then call."
    url = f"{server}/en/customs/{practice.id}/"
    profile = tmp_path / "profile"

    with chromium_profile(playwright, profile) as context:
        page = context.new_page()
        page.goto(url)
        wait_until_ready(page)
        publish(session, server, data, notes="Hold first, then call.", critical={critical.id})
        signal_returns(context, page)
        headline = page.locator("#update span").text_content()
        listed = page.locator("#update .changes li").all_text_contents()
        links = page.locator("#update .changes a").evaluate_all("links => links.map(a => a.href)")
        notes = page.locator("#update .release-notes").text_content()
        with page.expect_navigation():
            page.click("#update button")
        context.set_offline(True)
        response = page.goto(url)
        wait_until_ready(page)
        new_text = page.locator(f"#{critical.id} .action").text_content()
        asked = page.get_by_role("button", name="I have read this").all_text_contents()
        asked_for = page.locator("#reread a").get_attribute("href")

    with chromium_profile(playwright, profile) as context:
        context.set_offline(True)
        page = context.new_page()
        page.goto(url)
        wait_until_ready(page)
        asked_after_restart = page.locator("#reread").is_visible()
        page.get_by_role("button", name="I have read this").click()
        hidden_at_once = page.locator("#reread").is_hidden()
        page.reload()
        wait_until_ready(page)
        asked_after_confirming = page.locator("#reread").is_visible()

    with chromium_profile(playwright, profile) as context:
        context.set_offline(True)
        page = context.new_page()
        page.goto(url)
        wait_until_ready(page)
        asked_after_another_restart = page.locator("#reread").is_visible()

    assert headline == "Guidance updated to v2 · 2 changes for your role"
    assert listed == [
        "Critical: re-read Hold the goods, then call.",
        "Changed Compare the papers.",
    ]
    assert links == [
        f"{url}#{critical.id}",
        f"{server}/en/customs/{first.id}/#{reworded.id}",
    ]
    assert notes == "Release notes: Hold first, then call."
    assert response is not None and response.from_service_worker
    assert new_text is not None and new_text.endswith("Hold the goods, then call.")
    assert asked == ["I have read this"]
    assert asked_for == f"/en/customs/{practice.id}/#{critical.id}"
    assert asked_after_restart is True
    assert hidden_at_once is True
    assert asked_after_confirming is False
    assert asked_after_another_restart is False


@pytest.mark.browser
def test_a_change_not_yet_confirmed_is_asked_for_after_later_releases_until_its_item_goes(
    browser: Browser, server: str, session: Session, guidance: Guidance
) -> None:
    practice = guidance.practices[2]
    kept, removed = practice.checklists["customs"][:2]
    data = guidance.model_dump()
    customs = data["practices"][2]["checklists"]["customs"]
    customs[0]["action"] = "Seal the container first."
    customs[1]["action"] = "Photograph the seals."
    url = f"{server}/en/customs/{practice.id}/"
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(url)
    wait_until_ready(page)

    publish(session, server, data, notes="", critical={kept.id, removed.id})
    signal_returns(context, page)
    with page.expect_navigation():
        page.click("#update button")
    wait_until_ready(page)
    asked_in_v2 = page.locator("#reread a").evaluate_all("links => links.map(a => a.hash)")
    customs[0]["action"] = "Seal the container before anything else."
    del customs[1]
    publish(session, server, data, notes="One item dropped.", critical=set())
    signal_returns(context, page)
    listed = page.locator("#update .changes li").all_text_contents()
    context.set_offline(True)
    page.goto(url)
    wait_until_ready(page)
    asked_in_v3 = page.locator("#reread li a").all_text_contents()
    context.close()

    assert asked_in_v2 == [f"#{kept.id}", f"#{removed.id}"]
    assert listed == [
        "Changed Seal the container before anything else.",
        "Removed Photograph the seals.",
    ]
    assert asked_in_v3 == ["Seal the container before anything else."]
