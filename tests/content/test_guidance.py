"""The shipped guidance: complete, referenced and consistent, as officers rely on it."""

import re
from collections import Counter

import pytest

from app.content.schema import Guidance, Item

REGIMES = {"fp", "att", "1540"}


def all_items(guidance: Guidance) -> list[Item]:
    return [item for p in guidance.practices for items in p.checklists.values() for item in items]


def test_guidance_has_eight_practices_three_roles_and_150_items(guidance: Guidance) -> None:
    assert len(guidance.practices) == 8
    assert [role.id for role in guidance.roles] == ["customs", "licensing", "police"]
    assert {regime.id for regime in guidance.regimes} == REGIMES
    assert len(all_items(guidance)) >= 150
    assert len(guidance.glossary) >= 40


def test_every_practice_has_5_to_10_items_for_every_role(guidance: Guidance) -> None:
    sizes = {
        (practice.id, role.id): len(practice.checklists[role.id])
        for practice in guidance.practices
        for role in guidance.roles
    }

    assert {cell: size for cell, size in sizes.items() if not 5 <= size <= 10} == {}


def test_no_two_items_share_an_action(guidance: Guidance) -> None:
    actions = Counter(item.action.casefold() for item in all_items(guidance))

    assert [action for action, count in actions.items() if count > 1] == []


def test_every_item_cites_a_listed_source_and_its_regimes_agree(guidance: Guidance) -> None:
    sources = {source.id: source for source in guidance.sources}
    for item in all_items(guidance):
        cited = [sources[ref.source] for ref in item.refs]
        required = {r for s in cited if s.kind == "instrument" for r in s.regimes}
        allowed = {r for s in cited for r in s.regimes}
        assert cited, item.id
        assert required <= set(item.regimes) <= allowed, item.id


def test_each_practice_serves_all_three_regimes(guidance: Guidance) -> None:
    for practice in guidance.practices:
        served = {
            r for items in practice.checklists.values() for item in items for r in item.regimes
        }
        assert served == REGIMES, practice.id
        assert set(practice.regimes) == REGIMES, practice.id


def test_practice_summaries_are_three_to_five_sentences(guidance: Guidance) -> None:
    for practice in guidance.practices:
        sentences = re.findall(r"[^.!?]+(?:[.!?](?=\s+[A-Z]|\s*$))", practice.summary.strip())
        assert 3 <= len(sentences) <= 5, (practice.id, len(sentences))


def test_items_are_short_and_marked(guidance: Guidance) -> None:
    items = all_items(guidance)

    assert max(len(item.action) for item in items) <= 200
    assert sum(item.red_flag for item in items) >= 10
    assert sum(item.critical for item in items) >= 5


def test_items_link_only_to_glossary_terms_that_exist(guidance: Guidance) -> None:
    terms = {term.id for term in guidance.glossary}
    linked = {term for item in all_items(guidance) for term in item.terms}

    assert linked <= terms
    assert len(linked) >= 40


def test_sources_have_a_title_year_and_public_url(guidance: Guidance) -> None:
    for source in guidance.sources:
        assert source.url.startswith(("https://", "http://")), source.id
        assert source.year, source.id
    dangerous_goods = {s.id: s for s in guidance.sources if s.id in ("iata-dgr", "who-tis")}
    assert set(dangerous_goods) == {"iata-dgr", "who-tis"}
    for source in dangerous_goods.values():
        assert "edition" in source.year.casefold(), source.id
        assert source.caveat and "edition" in source.caveat.casefold(), source.id


def test_the_sources_page_text_says_how_the_practices_were_derived(guidance: Guidance) -> None:
    about = guidance.about.casefold()

    assert "stimson" in about
    assert "inferred" in about
    assert "caveat" in about


# Each key fact of the research brief that an officer acts on: words the item must state, and
# the reference it must carry (source id, and the article or paragraph as the brief gives it).
KEY_FACTS = [
    (["at least 10 years", "export"], "att", "Art. 12"),
    (["10 years", "trace"], "fp", "Art. 7"),
    (["30 years", "20 years"], "iti", "para. 12"),
    (["maker", "country", "serial number"], "fp", "Art. 8(1)(a)"),
    (["import mark", "year"], "fp", "Art. 8(1)(b)"),
    (["expiry", "final recipient", "transit"], "fp", "Art. 10(3)"),
    (["exposed surface", "without tools"], "iti", "para. 7"),
    (["50 mL", "50 g", "4 L", "4 kg"], "iata-dgr", ""),
    (["UN 3373", "4 L", "1 L"], "iata-dgr", ""),
    (["10 cm"], "iata-dgr", ""),
    (["UN 1845", "air waybill"], "iata-dgr", ""),
    (["5 kg", "1.4S"], "iata-dgr", ""),
    (["UN 2908", "I-WHITE"], "iata-dgr", "Class 7"),
    (["Category 1 or 2"], "iaea-coc", ""),
    (["Schedule 1", "Schedule 2", "Schedule 3", "end-use certificate"], "cwc", ""),
    (["initial report", "31 May"], "att", "Art. 13"),
    (["eight categories"], "att", "Art. 2"),
    (["six months"], "unscr1540", "OP4"),
]


@pytest.mark.parametrize(("words", "source", "at"), KEY_FACTS)
def test_key_facts_are_stated_with_their_reference(
    guidance: Guidance, words: list[str], source: str, at: str
) -> None:
    def states(item: Item) -> bool:
        text = f"{item.action} {item.why}"
        return all(word.casefold() in text.casefold() for word in words)

    def cites(item: Item) -> bool:
        return not source or any(ref.source == source and at in (ref.at or "") for ref in item.refs)

    matching = [item.id for item in all_items(guidance) if states(item) and cites(item)]
    assert matching, f"no item states {words} citing {source} {at}"
