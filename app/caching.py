"""Responses rendered once per release, gzipped once, kept by URL, revalidated by ETag."""

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request, Response
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

HTML = "text/html; charset=utf-8"
JSON = "application/json"

# (release version, path, query string): what a response depends on, and how it is found.
CacheKey = tuple[int, str, str]


@dataclass(frozen=True)
class CachedBody:
    body: bytes
    gzipped: bytes
    etag: str
    media_type: str


class ResponseCache:
    """A bounded LRU of rendered responses; keys carry the release version, so none goes stale."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._entries: OrderedDict[CacheKey, CachedBody] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, key: CacheKey) -> CachedBody | None:
        with self._lock:
            return self._entries.get(key)

    def get(self, key: CacheKey, build: Callable[[], str], media_type: str = HTML) -> CachedBody:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry
        body = build().encode("utf-8")
        entry = CachedBody(
            body=body,
            gzipped=gzip.compress(body, compresslevel=9, mtime=0),
            etag='"' + hashlib.sha256(body).hexdigest()[:20] + '"',
            media_type=media_type,
        )
        with self._lock:
            self._entries[key] = entry
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return entry


def request_key(version: int, request: Request) -> CacheKey:
    return (version, request.url.path, request.url.query)


def cached_response(request_headers: Headers, entry: CachedBody) -> Response:
    headers = {"ETag": entry.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if entry.etag in request_headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if "gzip" in request_headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(entry.gzipped, 200, headers, entry.media_type)
    return Response(entry.body, 200, headers, entry.media_type)


class CachedResponses:
    """Answer a request already rendered for the current release before any routing happens.

    Routing and dependency resolution cost several times what sending the stored bytes does;
    only requests that a route answered successfully are stored, so a miss, a stale release or
    an invalid request goes on to the routes as usual.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            state = scope["app"].state
            published = state.releases.fresh()
            if published is not None:
                query = scope["query_string"].decode("latin-1")
                entry = state.responses.peek((published.version, scope["path"], query))
                if entry is not None:
                    await cached_response(Headers(scope=scope), entry)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
