"""What a phone needs to carry a role offline, and how it learns what changed."""

import hashlib
import json
from typing import Any

from pydantic import BaseModel, Field

from app.caching import JSON, CachedBody, ResponseCache
from app.content.published import Published
from app.guide import pages
from app.guide import service as guide
from app.templating import STATIC_DIR, static_url

SHELL_FILES = [
    "css/app.css",
    "js/outbox-store.js",
    "js/feedback.js",
    "js/outbox-page.js",
    "js/offline.js",
    "js/changes.js",
    "js/ticks.js",
    "js/search.js",
    "js/install.js",
    "icons/icon-192.png",
    "icons/icon-512.png",
    "icons/maskable-512.png",
]


class PackEntry(BaseModel):
    url: str
    hash: str
    size: int


class ItemTitle(BaseModel):
    title: str = Field(description="The item's action, as its checklist shows it")
    practice: str = Field(description="The practice whose checklist holds the item")


class OfflineManifest(BaseModel):
    version: int
    release_label: str
    role: str
    lang: str
    urls: list[PackEntry]
    items: dict[str, str]
    total_bytes: int
    notes: str = Field(description="The release notes")
    titles: dict[str, ItemTitle] = Field(
        description="Item id -> its action and practice, for every item of the role's checklists;"
        " the item's page is /{lang}/{role}/{practice}/#{id}"
    )
    critical: dict[str, int] = Field(
        description="Item id -> the latest release, up to this one, that marked the item critical"
        " (officers must re-read it); only items still in the role's checklists"
    )


class SearchEntry(BaseModel):
    id: str
    url: str
    text: str
    title: str
    context: str


class SearchIndex(BaseModel):
    role: str
    lang: str
    items: list[SearchEntry]
    terms: list[SearchEntry]


def page_hash(body: bytes) -> str:
    """The hash a phone checks a page against; the release marker is left out of it."""
    normalized = pages.RELEASE_MARKER.sub(b'<span data-release=""></span>', body)
    return hashlib.sha256(normalized).hexdigest()


def item_hash(item: Any) -> str:
    canonical = json.dumps(item.model_dump(mode="json"), sort_keys=True).encode("utf-8")
    return hashlib.sha256(canonical).hexdigest()[:16]


def search_index(published: Published, lang: str, role_id: str) -> SearchIndex:
    role = guide.get_role(published, role_id)
    items = [
        SearchEntry(
            id=placed.item.id,
            url=f"/{lang}/{role.id}/{placed.practice.id}/#{placed.item.id}",
            title=placed.item.action,
            text=text,
            context=placed.practice.title,
        )
        for placed, text in published.findable_items
        if placed.role.id == role.id
    ]
    terms = [
        SearchEntry(
            id=term.id,
            url=f"/{lang}/glossary/#{term.id}",
            title=term.term,
            text=term.definition,
            context="",
        )
        for term in published.glossary
    ]
    return SearchIndex(role=role.id, lang=lang, items=items, terms=terms)


def search_index_url(lang: str, role_id: str) -> str:
    return f"/api/v1/search-index?role={role_id}&lang={lang}"


def cached_search_index(
    cache: ResponseCache, published: Published, lang: str, role_id: str
) -> CachedBody:
    return cache.get(
        (published.version, "/api/v1/search-index", f"role={role_id}&lang={lang}"),
        lambda: search_index(published, lang, role_id).model_dump_json(),
        JSON,
    )


def offline_manifest(
    cache: ResponseCache, published: Published, lang: str, role_id: str
) -> OfflineManifest:
    bodies = {
        url: pages.cached_page(cache, published, lang, *page).body
        for url, page in pages.role_pack(published, lang, role_id).items()
    }
    bodies[search_index_url(lang, role_id)] = cached_search_index(
        cache, published, lang, role_id
    ).body
    entries = [
        PackEntry(url=url, hash=page_hash(body), size=len(body)) for url, body in bodies.items()
    ]
    placed_items = [placed for placed in published.items if placed.role.id == role_id]
    return OfflineManifest(
        version=published.version,
        release_label=pages.release_label(published, lang),
        role=role_id,
        lang=lang,
        urls=entries,
        items={placed.item.id: item_hash(placed.item) for placed in placed_items},
        total_bytes=sum(entry.size for entry in entries),
        notes=published.notes,
        titles={
            placed.item.id: ItemTitle(title=placed.item.action, practice=placed.practice.id)
            for placed in placed_items
        },
        critical={
            placed.item.id: published.critical[placed.item.id]
            for placed in placed_items
            if placed.item.id in published.critical
        },
    )


def shell_urls() -> list[str]:
    return [static_url(path) for path in SHELL_FILES] + ["/manifest.webmanifest"]


def service_worker(languages: list[str], check_seconds: int) -> str:
    """The worker's script, led by the list of files it must precache for this deployment."""
    config = {
        "shell": shell_urls(),
        "offline": {lang: f"/{lang}/offline/" for lang in languages},
        "checkSeconds": check_seconds,
        "outboxScript": static_url("js/outbox-store.js"),
    }
    source = (STATIC_DIR / "js" / "sw.js").read_text("utf-8")
    return f"const CONFIG = {json.dumps(config)};\n{source}"


def web_manifest(lang: str, direction: str) -> dict[str, Any]:
    return {
        "name": "Frontline: trade control checklists",
        "short_name": "Frontline",
        "description": "Strategic trade control checklists for customs, licensing and police.",
        "start_url": f"/{lang}/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b3d5c",
        "lang": lang,
        "dir": direction,
        "icons": [
            {"src": static_url("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static_url("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static_url("icons/maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
