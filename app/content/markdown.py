"""Markdown from content files, rendered so that it can never carry markup or script."""

from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markupsafe import Markup

SAFE_SCHEMES = frozenset({"http", "https", "mailto", ""})


def _is_safe(url: str) -> bool:
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return False
    return scheme in SAFE_SCHEMES


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "typographer": False}).disable("image")
    md.validateLink = _is_safe  # type: ignore[method-assign]
    return md


_md = _parser()
_md_any_link = MarkdownIt("commonmark", {"html": False}).disable("image")
_md_any_link.validateLink = lambda url: True  # type: ignore[method-assign]


def block(text: str) -> Markup:
    """Render paragraphs and lists; raw HTML comes out as text."""
    return Markup(_md.render(text))  # noqa: S704 - markdown-it escapes all text, html is off


def inline(text: str) -> Markup:
    """Render one paragraph's worth of Markdown without a wrapping <p>."""
    return Markup(_md.renderInline(text))  # noqa: S704 - as above


def unsafe_links(text: str) -> list[str]:
    """The link targets in `text` whose scheme is not allowed."""
    found = []
    for token in _md_any_link.parse(text):
        for child in token.children or []:
            href = child.attrGet("href")
            if child.type == "link_open" and isinstance(href, str) and not _is_safe(href):
                found.append(href)
    return found
