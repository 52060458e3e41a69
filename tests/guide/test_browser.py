import pytest
from playwright.sync_api import Browser

from app.content.schema import Guidance
from tests.browser import PHONE


@pytest.mark.browser
def test_every_page_fits_a_390px_phone_without_sideways_scrolling(
    browser: Browser, server: str, guidance: Guidance
) -> None:
    page = browser.new_page(viewport=PHONE)
    urls = ["/en/", "/en/glossary/", "/en/sources/", "/en/matrix/", "/en/search/?q=licence"]
    for role in guidance.roles:
        urls += [f"/en/{role.id}/"] + [f"/en/{role.id}/{p.id}/" for p in guidance.practices]

    too_wide = {}
    for url in urls:
        page.goto(server + url)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide[url] = width

    assert too_wide == {}


@pytest.mark.browser
def test_checklist_reads_on_a_phone_without_javascript(
    browser: Browser, server: str, guidance: Guidance
) -> None:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    practice = guidance.practices[0]
    item = practice.checklists["customs"][0]
    page.goto(f"{server}/en/customs/{practice.id}/")

    why = page.locator(f"#{item.id} details p").first
    assert not why.is_visible()
    page.locator(f"#{item.id} summary").click()
    assert why.is_visible()

    small = page.evaluate(
        """() => [...document.querySelectorAll('main a, summary, button, input')]
            .filter(el => el.offsetParent !== null && el.getBoundingClientRect().height < 44)
            .map(el => el.outerHTML.slice(0, 80))"""
    )
    assert small == []
    context.close()
