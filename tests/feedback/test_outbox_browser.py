import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, Route
from sqlalchemy import func
from sqlmodel import Session, select

from app.content.schema import Guidance
from app.feedback.models import Feedback
from tests.browser import PHONE, chromium_profile

REPORTS = 20


def stored(session: Session) -> int:
    session.rollback()  # end the read snapshot: see what others committed
    return session.exec(select(func.count()).select_from(Feedback)).one()


def flag(page: Page, item_id: str, comment: str) -> None:
    page.click(f"#{item_id} a.flag")
    page.check("#flag-dialog input[value=unclear]")
    page.fill("#d-comment", comment)
    page.click("#flag-dialog button[value=send]")
    page.wait_for_selector("#flag-dialog", state="hidden")


def states(page: Page) -> list[str]:
    return page.eval_on_selector_all("#outbox-list li", "items => items.map(i => i.dataset.state)")


def wait_for_states(page: Page, expected: list[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while states(page) != expected and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    assert states(page) == expected


@pytest.mark.browser
def test_twenty_reports_written_offline_are_delivered_once_when_the_signal_returns(
    browser: Browser, server: str, session: Session, guidance: Guidance
) -> None:
    practice = guidance.practices[0]
    items = practice.checklists["customs"]
    context = browser.new_context(viewport=PHONE, service_workers="block")
    page = context.new_page()
    page.goto(f"{server}/en/customs/{practice.id}/")
    context.set_offline(True)

    for number in range(REPORTS):
        flag(page, items[number % len(items)].id, f"Report {number}")
    badge = page.text_content("#outbox-count")
    context.set_offline(False)  # the 'online' event drains the outbox from the open page
    page.wait_for_function("navigator.onLine")
    page.wait_for_selector("#outbox-count", state="hidden", timeout=30_000)
    page.goto(f"{server}/en/outbox/")
    wait_for_states(page, ["delivered"] * REPORTS)

    assert badge == str(REPORTS)
    assert stored(session) == REPORTS
    assert page.is_hidden("#outbox-count")
    context.close()


@pytest.mark.browser
def test_lost_acknowledgements_are_retried_and_nothing_is_stored_twice(
    browser: Browser, server: str, session: Session, guidance: Guidance
) -> None:
    practice = guidance.practices[1]
    items = practice.checklists["licensing"]
    context = browser.new_context(viewport=PHONE, service_workers="block")
    lost: list[str] = []

    def lose_five_answers(route: Route) -> None:
        response = route.fetch()  # the server receives and commits the report
        if len(lost) < 5 and response.status == 201:
            lost.append(route.request.post_data_json["id"])
            route.abort("connectionreset")  # ...but its answer never reaches the phone
        else:
            route.fulfill(response=response)

    context.route("**/api/v1/feedback", lose_five_answers)
    page = context.new_page()
    page.goto(f"{server}/en/licensing/{practice.id}/")
    context.set_offline(True)
    for number in range(REPORTS):
        flag(page, items[number % len(items)].id, f"Report {number}")
    context.set_offline(False)
    page.goto(f"{server}/en/outbox/")
    wait_for_states(page, ["delivered"] * REPORTS)

    assert len(lost) == 5
    assert stored(session) == REPORTS
    context.close()


@pytest.mark.browser
def test_the_outbox_survives_closing_the_browser_offline(
    playwright: Playwright, server: str, session: Session, guidance: Guidance, tmp_path: Path
) -> None:
    practice = guidance.practices[2]
    item = practice.checklists["police"][0]
    profile = tmp_path / "profile"

    with chromium_profile(playwright, profile) as context:
        page = context.new_page()
        page.goto(f"{server}/en/police/{practice.id}/")
        page.wait_for_selector("#offline[data-state=ready]", state="attached", timeout=30_000)
        context.set_offline(True)
        page.reload()
        for number in range(3):
            flag(page, item.id, f"Report {number}")

    with chromium_profile(playwright, profile) as context:
        context.set_offline(True)
        page = context.new_page()
        page.goto(f"{server}/en/outbox/")
        page.wait_for_function("document.querySelectorAll('#outbox-list li').length === 3")
        kept = page.eval_on_selector_all(
            "#outbox-list li p:not(.state)", "ps => ps.map(p => p.textContent).sort()"
        )
        context.set_offline(False)
        page.click("#send-now")
        wait_for_states(page, ["delivered"] * 3)

    # Background Sync may deliver some as soon as the browser starts; none is lost or doubled.
    assert kept == ["Report 0", "Report 1", "Report 2"]
    assert stored(session) == 3


@pytest.mark.browser
def test_a_refused_report_shows_why_and_can_be_discarded(
    browser: Browser, server: str, session: Session, guidance: Guidance
) -> None:
    practice = guidance.practices[0]
    context = browser.new_context(viewport=PHONE, service_workers="block")
    page = context.new_page()
    page.goto(f"{server}/en/customs/{practice.id}/")
    page.evaluate(
        """() => self.FrontlineOutbox.add({id: crypto.randomUUID(), kind: 'unclear',
            comment: 'Old item', role: 'customs', practice: 'nothing', item_id: null,
            release_version: 1, language: 'en', created_at: new Date().toISOString()})"""
    )
    page.goto(f"{server}/en/outbox/")
    wait_for_states(page, ["refused"])

    reason = page.text_content("#outbox-list li .state")
    page.click("#outbox-list li button:has-text('Discard')")
    wait_for_states(page, [])

    assert (
        reason
        == "Refused: The report cannot be accepted: body.practice: unknown practice 'nothing'"
    )
    assert stored(session) == 0
    context.close()
