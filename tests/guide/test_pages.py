import gzip
from pathlib import Path
from xml.etree.ElementTree import Element

import html5lib
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.content import loader
from app.content import service as content
from app.content.models import Release
from app.content.schema import Guidance
from tests.factories import guidance as guidance_files
from tests.factories import write_content

PAGE_BUDGET_GZIP = 14 * 1024


def guide_urls(guidance: Guidance) -> list[str]:
    urls = ["/en/", "/en/glossary/", "/en/sources/", "/en/matrix/", "/en/search/?q=licence"]
    for role in guidance.roles:
        urls.append(f"/en/{role.id}/")
        urls += [f"/en/{role.id}/{practice.id}/" for practice in guidance.practices]
    return urls


def parse(html: str) -> Element:
    """Parse as a browser would, failing on any HTML syntax error."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    return parser.parse(html)


def text_of(element: Element) -> str:
    return "".join(element.itertext()).strip()


def test_root_redirects_to_the_language_the_browser_prefers(client: TestClient) -> None:
    response = client.get("/", headers={"Accept-Language": "xx, en;q=0.8"}, follow_redirects=False)

    assert response.status_code == 302
    assert response.headers["location"] == "/en/"


def test_every_guide_page_is_valid_accessible_html(
    client: TestClient, release: Release, guidance: Guidance
) -> None:
    for url in guide_urls(guidance):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        document = parse(response.text)
        assert document.get("lang") == "en", url
        assert document.get("dir") == "ltr", url
        viewports = [m for m in document.iter("meta") if m.get("name") == "viewport"]
        assert [m.get("content") for m in viewports] == ["width=device-width, initial-scale=1"]
        assert len(list(document.iter("h1"))) == 1, url
        for link in document.iter("a"):
            assert text_of(link) or link.get("aria-label"), f"unlabelled link on {url}"
        for field in document.iter("input"):
            labels = [label.get("for") for label in document.iter("label")]
            assert field.get("id") in labels, f"unlabelled input on {url}"
        footer = text_of(next(document.iter("footer")))
        assert f"Guidance version {release.version}," in footer, url


def test_every_guide_page_fits_the_first_round_trip(
    client: TestClient, release: Release, guidance: Guidance
) -> None:
    sizes = {
        url: len(gzip.compress(client.get(url).content, compresslevel=9))
        for url in guide_urls(guidance)
    }

    too_large = {url: size for url, size in sizes.items() if size > PAGE_BUDGET_GZIP}
    assert too_large == {}


def test_pages_are_served_gzipped_with_an_etag(client: TestClient, release: Release) -> None:
    first = client.get("/en/customs/", headers={"Accept-Encoding": "gzip"})
    again = client.get("/en/customs/", headers={"If-None-Match": first.headers["etag"]})

    assert first.headers["content-encoding"] == "gzip"
    assert first.headers["cache-control"] == "no-cache"
    assert again.status_code == 304
    assert again.content == b""


def test_role_page_lists_every_practice_with_its_item_count(
    client: TestClient, release: Release, guidance: Guidance
) -> None:
    document = parse(client.get("/en/police/").text)

    rows = [text_of(li) for li in document.iter("li") if li.find("a/span[@class='n']") is not None]
    assert len(rows) == len(guidance.practices)
    for row, practice in zip(rows, guidance.practices, strict=True):
        count = len(practice.checklists["police"])
        assert practice.title in row
        assert f"{count} items" in row


def test_practice_page_shows_each_item_with_reference_regimes_and_markers(
    client: TestClient, release: Release, guidance: Guidance
) -> None:
    practice = guidance.practices[0]
    items = practice.checklists["customs"]
    sources = {source.id: source for source in guidance.sources}
    regimes = {regime.id: regime for regime in guidance.regimes}

    document = parse(client.get(f"/en/customs/{practice.id}/").text)

    checklist = [li for li in document.iter("li") if li.get("class", "").startswith("item")]
    assert [li.get("id") for li in checklist] == [item.id for item in items]
    for li, item in zip(checklist, items, strict=True):
        action = text_of(li.find("p[@class='action']"))
        assert action.endswith(item.action)
        assert ("Red flag" in action) == item.red_flag
        assert ("Critical" in action) == item.critical
        refs = text_of(li.find("p[@class='refs']"))
        for ref in item.refs:
            assert f"{sources[ref.source].short}{' ' + ref.at if ref.at else ''}" in refs
        badges = [text_of(abbr) for abbr in li.iter("abbr") if abbr.get("class") == "rg"]
        assert badges == [regimes[regime].short for regime in item.regimes]
        assert li.find("details/summary") is not None


def test_practice_page_links_previous_and_next_practice(
    client: TestClient, release: Release, guidance: Guidance
) -> None:
    first, second = guidance.practices[0], guidance.practices[1]

    document = parse(client.get(f"/en/licensing/{second.id}/").text)

    links = {a.get("rel"): a.get("href") for a in document.iter("a") if a.get("rel")}
    assert links["prev"] == f"/en/licensing/{first.id}/"
    if len(guidance.practices) > 2:
        assert links["next"] == f"/en/licensing/{guidance.practices[2].id}/"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/xx/", "There is no guidance in the language &#39;xx&#39;."),
        ("/xx/customs/", "There is no guidance in the language &#39;xx&#39;."),
        ("/en/pilots/", "There is no role &#39;pilots&#39;. The roles are: customs, licensing"),
        ("/en/customs/nothing/", "There is no practice &#39;nothing&#39;."),
        ("/en/customs/a/b/", "There is no page at this address."),
    ],
)
def test_unknown_language_role_or_practice_gives_a_helpful_404_page(
    client: TestClient, release: Release, url: str, message: str
) -> None:
    response = client.get(url)

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text
    document = parse(response.text)
    hrefs = [a.get("href") for a in document.iter("a")]
    assert "/en/" in hrefs
    assert "/en/customs/" in hrefs


def test_search_finds_items_by_a_word_of_their_action(
    client: TestClient, release: Release, guidance: Guidance
) -> None:
    item = guidance.practices[1].checklists["licensing"][0]
    word = max(item.action.split(), key=len).strip(".,;:()")

    document = parse(client.get("/en/search/", params={"q": word}).text)

    hrefs = [a.get("href") for a in document.iter("a")]
    assert f"/en/licensing/{guidance.practices[1].id}/#{item.id}" in hrefs


def test_search_finds_glossary_terms(
    client: TestClient, release: Release, guidance: Guidance
) -> None:
    term = guidance.glossary[0]

    document = parse(client.get("/en/search/", params={"q": term.term}).text)

    assert f"/en/glossary/#{term.id}" in [a.get("href") for a in document.iter("a")]


def test_search_can_be_limited_to_one_role(
    client: TestClient, release: Release, guidance: Guidance
) -> None:
    word = "licence"

    document = parse(client.get("/en/search/", params={"q": word, "role": "police"}).text)

    item_links = [
        a.get("href")
        for a in document.iter("a")
        if "/#" in a.get("href", "") and "/glossary/" not in a.get("href", "")
    ]
    assert item_links
    assert [h for h in item_links if not h.startswith("/en/police/")] == []


def test_search_refuses_a_query_that_is_too_long(client: TestClient, release: Release) -> None:
    response = client.get("/en/search/", params={"q": "x" * 201})

    assert response.status_code == 422
    assert "q: String should have at most 200 characters" in response.text


def test_content_markup_is_shown_inert(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    files = guidance_files()
    hostile = files["practices/01-legal-framework.yaml"]["checklists"]["customs"][0]
    hostile["why"] = "Look <script>alert(1)</script> here."
    hostile["action"] = 'Open <img src=x onerror="alert(1)"> carefully.'
    files["glossary.yaml"][0]["definition"] = "A <b onmouseover=alert(1)>term</b>."
    content.import_release(session, loader.load(write_content(tmp_path, files)), notes="")

    page = client.get("/en/customs/legal-framework/").text
    glossary = client.get("/en/glossary/").text

    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page
    assert "Open &lt;img src=x onerror=&#34;alert(1)&#34;&gt; carefully." in page
    assert "<b onmouseover" not in glossary
    assert "&lt;b onmouseover=alert(1)&gt;term&lt;/b&gt;" in glossary


def test_matrix_shows_every_item_once_with_its_regimes(
    client: TestClient, release: Release, guidance: Guidance
) -> None:
    document = parse(client.get("/en/matrix/").text)

    rows = [tr for tr in document.iter("tr") if tr.find("td/a") is not None]
    items = [item for p in guidance.practices for items in p.checklists.values() for item in items]
    assert len(rows) == len(items)
    for tr, item in zip(rows, items, strict=True):
        assert text_of(tr.find("td/a")) == item.action
        marks = ["✓" in text_of(td) for td in tr.findall("td")[1:]]
        assert marks == [regime.id in item.regimes for regime in guidance.regimes]


def test_sources_page_lists_documents_and_the_method(
    client: TestClient, release: Release, guidance: Guidance
) -> None:
    document = parse(client.get("/en/sources/").text)

    listed = {li.get("id"): li for li in document.iter("li") if li.get("id")}
    for source in guidance.sources:
        assert source.id in listed
        link = listed[source.id].find("a")
        assert link.get("href") == source.url
        assert source.year in text_of(listed[source.id])
    assert document.find(".//div[@class='about']") is not None


def test_responses_carry_security_headers(client: TestClient, release: Release) -> None:
    response = client.get("/en/")

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_static_files_are_fingerprinted_and_cached_for_a_year(
    client: TestClient, release: Release
) -> None:
    document = parse(client.get("/en/").text)
    stylesheet = next(link.get("href") for link in document.iter("link"))

    response = client.get(stylesheet)

    unversioned = client.get("/static/css/app.css")

    assert stylesheet.startswith("/static/css/app.css?v=")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert unversioned.headers["cache-control"] == "no-cache"
