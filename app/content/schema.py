"""The guidance as data: what content/ holds and what a release stores."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Slug = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", min_length=1, max_length=80)
]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=500)]

# Page names that share the URL space with roles: /{lang}/glossary/ and /{lang}/{role}/.
RESERVED_ROLE_IDS = frozenset(
    {"glossary", "sources", "search", "matrix", "offline", "outbox", "thanks", "api", "static"}
)


class ContentModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class Role(ContentModel):
    id: Slug
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
    summary: Text


class Regime(ContentModel):
    id: Slug
    short: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=12)]
    name: Line
    title: Line


class Source(ContentModel):
    id: Slug
    short: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    title: Line
    year: Line
    url: Url
    kind: Literal["instrument", "guidance"]
    regimes: list[Slug]
    note: Text | None = None
    caveat: Text | None = None


class Reference(ContentModel):
    source: Slug
    at: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None


class Item(ContentModel):
    id: Slug
    action: Line
    why: Text
    refs: list[Reference] = Field(min_length=1)
    regimes: list[Slug] = Field(min_length=1)
    red_flag: bool = False
    critical: bool = False
    terms: list[Slug] = []


class Practice(ContentModel):
    id: Slug
    title: Line
    summary: Text
    regimes: dict[str, Text]
    checklists: dict[str, list[Item]]


class Term(ContentModel):
    id: Slug
    term: Line
    definition: Text
    refs: list[Reference] = []


class Guidance(ContentModel):
    """A whole, validated release of the guidance."""

    roles: list[Role]
    regimes: list[Regime]
    sources: list[Source]
    practices: list[Practice]
    glossary: list[Term]
    about: str
