import re

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.content.models import Release
from app.content.schema import Guidance
from app.feedback.models import Feedback


def rows(session: Session) -> list[Feedback]:
    session.rollback()  # end the read snapshot: see what others committed
    return list(session.exec(select(Feedback)))


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, name
    return match.group(1)


def open_form(client: TestClient, guidance: Guidance, item: bool = True) -> tuple[str, dict]:
    practice = guidance.practices[2]
    item_id = practice.checklists["police"][1].id
    url = f"/en/police/{practice.id}/flag/"
    page = client.get(url, params={"item": item_id} if item else {})
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    fields = {
        name: hidden(page.text, name)
        for name in ("csrf_token", "id", "item_id", "release_version", "created_at")
    }
    return url, fields


def test_every_item_and_checklist_has_a_flag_link(
    client: TestClient, release: Release, guidance: Guidance
) -> None:
    practice = guidance.practices[0]

    html = client.get(f"/en/customs/{practice.id}/").text

    for item in practice.checklists["customs"]:
        assert f'href="/en/customs/{practice.id}/flag/?item={item.id}"' in html
    assert f'href="/en/customs/{practice.id}/flag/"' in html


def test_a_report_sent_without_javascript_is_stored_and_thanked(
    client: TestClient, session: Session, release: Release, guidance: Guidance
) -> None:
    url, fields = open_form(client, guidance)

    response = client.post(
        url,
        data={**fields, "kind": "missing", "comment": "No case for diplomatic bags.", "post": ""},
        follow_redirects=False,
    )

    assert response.status_code == 303, re.findall(r'<p class="lead">([^<]*)', response.text)
    assert response.headers["location"] == "/en/thanks/"
    assert client.get("/en/thanks/").status_code == 200
    [row] = rows(session)
    assert (row.kind, row.role, row.item_id, row.post) == (
        "missing",
        "police",
        fields["item_id"],
        None,
    )
    assert str(row.id) == fields["id"]
    assert row.release_version == release.version


def test_sending_the_same_form_twice_stores_it_once(
    client: TestClient, session: Session, release: Release, guidance: Guidance
) -> None:
    url, fields = open_form(client, guidance, item=False)
    data = {**fields, "kind": "worked_well", "comment": "Clear."}

    first = client.post(url, data=data, follow_redirects=False)
    again = client.post(url, data=data, follow_redirects=False)

    assert (first.status_code, again.status_code) == (303, 303)
    assert len(rows(session)) == 1
    assert rows(session)[0].item_id is None


def test_a_form_without_a_valid_csrf_token_is_refused(
    client: TestClient, session: Session, release: Release, guidance: Guidance
) -> None:
    url, fields = open_form(client, guidance)
    data = {**fields, "kind": "unclear"}

    forged = client.post(url, data={**data, "csrf_token": "abc.def"})
    missing = client.post(url, data={**data, "csrf_token": ""})
    client.cookies.clear()
    no_cookie = client.post(url, data=data)

    assert [r.status_code for r in (forged, missing, no_cookie)] == [403, 403, 403]
    assert "This form has expired or was not sent from Frontline" in forged.text
    assert rows(session) == []


def test_a_form_with_a_mistake_comes_back_with_the_message_and_what_was_typed(
    client: TestClient, session: Session, release: Release, guidance: Guidance
) -> None:
    url, fields = open_form(client, guidance)

    response = client.post(url, data={**fields, "comment": "Kept <b>as typed</b>"})

    assert response.status_code == 422
    assert "body.kind: Input should be" in response.text
    assert "Kept &lt;b&gt;as typed&lt;/b&gt;</textarea>" in response.text
    assert hidden(response.text, "id") == fields["id"]
    assert rows(session) == []


def test_a_flag_form_for_an_unknown_item_is_404(
    client: TestClient, release: Release, guidance: Guidance
) -> None:
    response = client.get(f"/en/police/{guidance.practices[0].id}/flag/", params={"item": "x"})

    assert response.status_code == 404
    assert "There is no item" in response.text
