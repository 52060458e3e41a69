"""What each guide page shows, built from the published release."""

import re
from dataclasses import dataclass
from typing import Any

from app.content.published import PlacedItem, Published
from app.content.schema import Practice, Role, Term
from app.errors import AppError, NotFound

MAX_QUERY_LENGTH = 200
MAX_RESULTS = 50
_WORD = re.compile(r"\w+", re.UNICODE)


def check_language(lang: str, languages: list[str]) -> None:
    if lang not in languages:
        raise NotFound(f"There is no guidance in the language {lang!r}.")


def get_role(published: Published, role_id: str) -> Role:
    role = published.roles.get(role_id)
    if role is None:
        names = ", ".join(published.roles)
        raise NotFound(f"There is no role {role_id!r}. The roles are: {names}.")
    return role


def get_practice(published: Published, practice_id: str) -> Practice:
    practice = published.practices.get(practice_id)
    if practice is None:
        raise NotFound(f"There is no practice {practice_id!r}.")
    return practice


def role_page(published: Published, role_id: str) -> dict[str, Any]:
    role = get_role(published, role_id)
    rows = []
    for practice in published.guidance.practices:
        items = practice.checklists.get(role.id, [])
        rows.append(
            {
                "practice": practice,
                "number": published.practice_numbers[practice.id],
                "count": len(items),
                "red_flags": sum(item.red_flag for item in items),
                "critical": sum(item.critical for item in items),
            }
        )
    return {"role": role, "rows": rows, "total": sum(row["count"] for row in rows)}


def practice_page(published: Published, role_id: str, practice_id: str) -> dict[str, Any]:
    role = get_role(published, role_id)
    practice = get_practice(published, practice_id)
    practices = published.guidance.practices
    index = practices.index(practice)
    return {
        "role": role,
        "practice": practice,
        "number": index + 1,
        "items": practice.checklists.get(role.id, []),
        "previous": practices[index - 1] if index > 0 else None,
        "next": practices[index + 1] if index + 1 < len(practices) else None,
        "count": len(practices),
    }


def matrix_page(published: Published) -> dict[str, Any]:
    sections = []
    for number, practice in enumerate(published.guidance.practices, start=1):
        groups = [
            (published.roles[role_id], items)
            for role_id, items in practice.checklists.items()
            if role_id in published.roles
        ]
        sections.append({"practice": practice, "number": number, "groups": groups})
    return {"sections": sections}


@dataclass(frozen=True)
class SearchResults:
    query: str
    items: list[PlacedItem]
    terms: list[Term]


def search_page(published: Published, query: str = "", role_id: str = "") -> dict[str, Any]:
    return {"results": search(published, query, role_id or None), "role_id": role_id}


def _words(text: str) -> list[str]:
    return [word.casefold() for word in _WORD.findall(text)]


def search(published: Published, query: str, role_id: str | None = None) -> SearchResults:
    query = query.strip()
    if len(query) > MAX_QUERY_LENGTH:
        raise AppError(f"The search is too long: at most {MAX_QUERY_LENGTH} characters.", 422)
    if role_id:
        get_role(published, role_id)
    words = _words(query)[:10]
    if not words:
        return SearchResults(query, [], [])

    def score(primary: str, secondary: str) -> int:
        if not all(word in primary or word in secondary for word in words):
            return 0
        return sum(3 * primary.count(word) + secondary.count(word) for word in words)

    scored_items = [
        (found, placed)
        for placed, action, text in published.folded_items
        if (not role_id or placed.role.id == role_id) and (found := score(action, text))
    ]
    scored_terms = [
        (found, term) for term, name, text in published.folded_terms if (found := score(name, text))
    ]
    scored_items.sort(key=lambda pair: -pair[0])
    scored_terms.sort(key=lambda pair: -pair[0])
    return SearchResults(
        query,
        [placed for _, placed in scored_items[:MAX_RESULTS]],
        [term for _, term in scored_terms[:MAX_RESULTS]],
    )
