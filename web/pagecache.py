"""Rendered pages kept in memory, each under a key made of everything the page shows (the stored
data it was rendered from and the request's parameters), so a cached page is never stale: when the
data change, the key changes. A page is kept as its bytes and gzip-compressed, with an ETag (a hash
of the bytes): ``If-None-Match`` gets a 304, and a client that accepts gzip gets the compressed
bytes (a story page is ~10× smaller so)."""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

HTML = "text/html; charset=utf-8"
T = TypeVar("T")


@dataclass(frozen=True)
class Rendered:
    body: bytes
    gzipped: bytes
    etag: str  # W/"…": the same for both encodings (weak: the same page, not the same bytes)

    @classmethod
    def of(cls, body: bytes) -> Rendered:
        return cls(body, gzip.compress(body, compresslevel=6, mtime=0), f'W/"{hashlib.sha256(body).hexdigest()[:32]}"')


class PageCache:
    """At most ``size`` rendered pages, the least recently used dropped first; thread-safe (the
    page handlers run in a thread pool)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pages: OrderedDict[Hashable, Rendered] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, render: Callable[[], bytes]) -> Rendered:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
                return page
        page = Rendered.of(render())  # outside the lock: two threads may render one page at once
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)
        return page

    def __len__(self) -> int:
        return len(self._pages)


def not_modified(request: Request, etag: str) -> bool:
    """Whether the request's If-None-Match names this ETag (weak comparison, RFC 9110)."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in header.split(","))


def accepts_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip().removeprefix("q=").strip() if params.strip().startswith("q=") else "1"
            try:
                return float(q) > 0
            except ValueError:
                return False
    return False


def page_response(request: Request, page: Rendered) -> Response:
    """The page as an answer to this request: 304 when the client has it, gzip when it takes it."""
    headers = {"ETag": page.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if not_modified(request, page.etag):
        return Response(status_code=304, headers=headers)
    if accepts_gzip(request):
        return Response(page.gzipped, media_type=HTML, headers=headers | {"Content-Encoding": "gzip"})
    return Response(page.body, media_type=HTML, headers=headers)


async def on_database(factory: sessionmaker[Session], work: Callable[[], T], quick: bool = True) -> T:
    """Run a page's reads: on SQLite, when they are ``quick`` (a few indexed reads, no search), in
    the event loop itself — the database is a file in this process, such reads take a millisecond
    or two, and handing them to a worker thread and back cost more than that (`benchmarks/web.py`,
    stories list: p95 25–27 → 20–22 ms, +15 % requests/s under 8 concurrent clients); otherwise, and
    always on a database server, in the thread pool, so that a longer read or a network round trip
    never holds every other request."""
    engine = factory.kw.get("bind")
    if quick and engine is not None and engine.dialect.name == "sqlite":
        return work()
    return await run_in_threadpool(work)
