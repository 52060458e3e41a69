"""From a trainer's edit to an officer's phone: edit, preview, publish, and the phone follows."""

import time

import httpx
import pytest
from playwright.sync_api import Browser, Page
from sqlmodel import Session

from app.content.schema import Guidance
from tests.accounts import PASSWORD, make_user
from tests.browser import PHONE

NEW_ACTION = "Know which law lets you stop, detain and search goods at this very post."


def wait_until_ready(page: Page) -> None:
    page.wait_for_selector("#offline[data-state=ready]", state="attached", timeout=30_000)


@pytest.mark.browser
def test_a_trainers_edit_reaches_an_officers_phone_and_asks_to_be_reread(
    browser: Browser, server: str, session: Session, guidance: Guidance
) -> None:
    practice = guidance.practices[0]
    item = practice.checklists["customs"][0]
    url = f"{server}/en/customs/{practice.id}/"
    make_user(session, "trainer")

    officer = browser.new_context(viewport=PHONE)
    phone = officer.new_page()
    phone.goto(url)
    wait_until_ready(phone)  # the customs role is saved on the phone

    trainer = browser.new_context(viewport=PHONE)
    desk = trainer.new_page()
    desk.goto(f"{server}/sign-in")
    desk.fill("input[name=email]", "trainer@example.org")
    desk.fill("input[name=password]", PASSWORD)
    with desk.expect_navigation():
        desk.click("main button[type=submit]")
    assert desk.url == f"{server}/admin/content"
    desk.click(f"text={practice.title}")
    desk.click(f"a[href$='/customs/items/{item.id}']")
    desk.fill("#action", NEW_ACTION)
    with desk.expect_navigation():
        desk.click("text=Save the item")
    desk.goto(f"{server}/admin/content/preview/en/customs/{practice.id}/")
    previewed = desk.locator(f"#{item.id} .action").text_content()
    officer_before = phone.evaluate("url => fetch(url).then(r => r.text())", url)
    desk.goto(f"{server}/admin/content")
    desk.fill("#notes", "Clearer wording of the legal powers.")
    desk.check(f"input[name=critical][value='{item.id}']")
    with desk.expect_navigation():
        desk.click("text=Publish v2")
    published = desk.locator(".notice").text_content()
    while httpx.get(f"{server}/api/v1/content").json()["version"] != 2:
        time.sleep(0.2)  # every instance serves a new release within its release check

    officer.set_offline(True)  # the signal drops, then returns: the phone looks for a release
    phone.wait_for_function("!navigator.onLine")
    officer.set_offline(False)
    phone.wait_for_selector("#update:not([hidden])", timeout=30_000)
    listed = phone.locator("#update .changes li").all_text_contents()
    with phone.expect_navigation():
        phone.click("#update button")
    officer.set_offline(True)
    phone.goto(url)
    wait_until_ready(phone)
    shown = phone.locator(f"#{item.id} .action").text_content()
    phone.get_by_role("button", name="I have read this").click()
    phone.reload()
    wait_until_ready(phone)
    asked_again = phone.locator("#reread").is_visible()

    assert previewed is not None and previewed.endswith(NEW_ACTION)
    assert NEW_ACTION not in officer_before  # the draft never reaches an officer's page
    assert published is not None and "Published v2" in published
    assert listed[0] == f"Critical: re-read {NEW_ACTION}"
    assert shown is not None and shown.endswith(NEW_ACTION)
    assert asked_again is False
    trainer.close()
    officer.close()
