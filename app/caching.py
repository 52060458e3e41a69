"""Rendered responses kept per release, gzipped once, revalidated by ETag."""

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from fastapi import Request, Response


@dataclass(frozen=True)
class CachedBody:
    body: bytes
    gzipped: bytes
    etag: str


class ResponseCache:
    """A bounded LRU of rendered bodies; keys carry the release version, so none goes stale."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, CachedBody] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], str | bytes]) -> CachedBody:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry
        built = build()
        body = built.encode("utf-8") if isinstance(built, str) else built
        entry = CachedBody(
            body=body,
            gzipped=gzip.compress(body, compresslevel=9, mtime=0),
            etag='"' + hashlib.sha256(body).hexdigest()[:20] + '"',
        )
        with self._lock:
            self._entries[key] = entry
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return entry


def cached_response(
    request: Request, entry: CachedBody, media_type: str, status_code: int = 200
) -> Response:
    headers = {"ETag": entry.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if status_code == 200 and entry.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(entry.gzipped, status_code, headers, media_type)
    return Response(entry.body, status_code, headers, media_type)
