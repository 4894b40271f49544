"""HTTP fetching with hard limits (httpx): timeouts, body size (also decompressed), redirects,
private-address refusal on every hop (each connection resolved once, checked and pinned: see
ingest/netguard.py), conditional GET, Retry-After, per-host concurrency and politeness."""

from __future__ import annotations

import socket
import threading
import time
import zlib
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

from storydiff import settings
from storydiff.errors import (
    BlockedURL,
    BodyTooLarge,
    ConnectFailed,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    TooManyRedirects,
)
from storydiff.ingest.netguard import GuardedClient, checked_addresses
from storydiff.ingest.urls import redact_text, redact_url

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
REDIRECT_CODES = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class FetchResult:
    url: str  # after redirects
    status: int  # 200-class or 304
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    max_age: int | None  # Cache-Control max-age, seconds
    elapsed: float

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class HostLimiter:
    """At most N requests in flight per host, and an optional minimum gap between them."""

    def __init__(self, per_host: int | None = None, delay: float = 0.0) -> None:
        self.per_host = per_host or settings.get_int("STORYDIFF_PER_HOST_CONCURRENCY")
        self.delay = delay
        self._lock = threading.Lock()
        self._sems: dict[str, threading.BoundedSemaphore] = {}
        self._next_slot: dict[str, float] = {}

    def acquire(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            sem = self._sems.setdefault(host, threading.BoundedSemaphore(self.per_host))
        sem.acquire()
        if self.delay > 0:
            with self._lock:
                now = time.monotonic()
                slot = max(now, self._next_slot.get(host, 0.0))
                self._next_slot[host] = slot + self.delay
            if slot > now:
                time.sleep(slot - now)
        return sem


def make_client() -> GuardedClient:
    """The client of every outgoing request but Apprise's: each connection is resolved once, its
    addresses checked, and the socket pinned to a checked address (DNS rebinding cannot turn it inward)."""
    connect = settings.get_float("STORYDIFF_CONNECT_TIMEOUT")
    read = settings.get_float("STORYDIFF_READ_TIMEOUT")
    return GuardedClient(
        timeout=httpx.Timeout(connect=connect, read=read, write=read, pool=connect),
        follow_redirects=False,
        headers={"User-Agent": settings.get("STORYDIFF_USER_AGENT"), "Accept-Encoding": "gzip, deflate"},
    )


OFFLINE_HINT = "no answer from DNS: is this machine offline, or its DNS down?"
# getaddrinfo errors that mean "could not ask" (no network, no DNS server) rather than "no such host"
_DNS_UNREACHABLE = {getattr(socket, n) for n in ("EAI_AGAIN", "EAI_FAIL", "EAI_SYSTEM") if hasattr(socket, n)}


def resolve_error(host: str | None, exc: BaseException) -> str:
    """A message for a failed host lookup that blames the right thing: a host that does not exist
    is a wrong URL; a lookup that got no answer is the network or the DNS, not the URL."""
    reason = getattr(exc, "strerror", None) or str(exc)
    if isinstance(exc, socket.gaierror) and exc.errno in _DNS_UNREACHABLE:
        return f"cannot resolve host {host!r} ({reason}): {OFFLINE_HINT}"
    return f"cannot resolve host {host!r} ({reason}): no such host; check the URL"


def _lookup_failure(exc: BaseException) -> socket.gaierror | None:
    """The socket.gaierror behind an httpx transport error, if a host lookup is what failed."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return current
        current = current.__cause__ or current.__context__
    return None


def check_scheme(url: str) -> None:
    """Refuse anything but an http(s) URL with a host (file:, gopher:, a redirect to data:…)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedURL(f"refused {redact_url(url)!r}: only http:// and https:// URLs with a host can be fetched")


def require_guarded(client: httpx.Client) -> None:
    if not isinstance(client, GuardedClient):
        raise TypeError("outgoing requests need a client from storydiff.ingest.fetch.make_client() (the SSRF guard)")


def check_url_allowed(url: str) -> None:
    """Refuse non-http(s) URLs and, unless allowed, hosts resolving to non-public addresses.

    A check ahead of a connection made by someone else (Apprise): that connection resolves the
    name again, so this cannot stop DNS rebinding. Our own requests (make_client) need no such
    check: their connections are checked and pinned when they are made."""
    check_scheme(url)
    host = urlsplit(url).hostname or ""
    try:
        checked_addresses(host, urlsplit(url).port or 443)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConnectFailed(resolve_error(host, exc)) from exc
    except BlockedURL as exc:
        raise BlockedURL(f"refused {redact_url(url)}: {exc}") from None


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time()) if when else None


def parse_max_age(cache_control: str | None) -> int | None:
    for directive in (cache_control or "").lower().split(","):
        name, _, value = directive.strip().partition("=")
        if name in ("max-age", "s-maxage") and value.strip().strip('"').isdigit():
            return int(value.strip().strip('"'))
    return None


def _decoder(encoding: str, url: str) -> zlib._Decompress | None:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise FetchError(f"{url} answered with unsupported Content-Encoding {encoding!r}")


def _read_body(response: httpx.Response, url: str, max_bytes: int, deadline: float) -> bytes:
    """The body within the limits; url is only named in the errors (pass it redacted)."""
    decoder = _decoder(response.headers.get("content-encoding", ""), url)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(f"{url} declares {int(declared):,} bytes, over the {max_bytes:,}-byte limit")
    chunks: list[bytes] = []
    size = raw_size = 0
    for raw in response.iter_raw():
        raw_size += len(raw)
        if time.monotonic() > deadline:
            raise FetchTimeout(f"{url} took longer than STORYDIFF_TOTAL_TIMEOUT to send its body")
        if raw_size > max_bytes:
            raise BodyTooLarge(f"{url} sent more than {max_bytes:,} bytes; raise STORYDIFF_MAX_BODY_BYTES if needed")
        data = raw
        while data:
            if decoder is None:
                out, data = data, b""
            else:
                try:
                    out = decoder.decompress(data, max_bytes - size + 1)
                except zlib.error as exc:
                    raise FetchError(f"{url} sent a corrupt compressed body ({exc})") from exc
                data = decoder.unconsumed_tail
            size += len(out)
            if size > max_bytes:
                raise BodyTooLarge(f"{url} decompresses to more than {max_bytes:,} bytes (possible gzip bomb); refused")
            chunks.append(out)
    return b"".join(chunks)


def fetch(
    url: str,
    client: httpx.Client,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    limiter: HostLimiter | None = None,
    accept: str = FEED_ACCEPT,
) -> FetchResult:
    """GET url within every limit. Returns 2xx or 304 results; raises a FetchError otherwise.
    Every hop's connection is checked and pinned by the client (make_client). Error messages name
    URLs redacted (ingest.urls.redact_url): they are stored on the feed and shown."""
    require_guarded(client)
    max_bytes = settings.get_int("STORYDIFF_MAX_BODY_BYTES")
    max_redirects = settings.get_int("STORYDIFF_MAX_REDIRECTS")
    started = time.monotonic()
    deadline = started + settings.get_float("STORYDIFF_TOTAL_TIMEOUT")
    headers = {"Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    visited = [url]
    current = url
    while True:
        check_scheme(current)
        shown = redact_url(current)
        host = (urlsplit(current).hostname or "").lower()
        queued = time.monotonic()
        sem = limiter.acquire(host) if limiter else None
        # waiting for the host's slot (other feeds of the host in flight) is not the server's time:
        # the total timeout measures the server, never our own queue
        deadline += time.monotonic() - queued
        try:
            with client.stream("GET", current, headers=headers) as response:
                if response.status_code in REDIRECT_CODES and "location" in response.headers:
                    target = urljoin(current, response.headers["location"])
                    if target in visited:
                        raise TooManyRedirects(f"redirect loop: {' → '.join(map(redact_url, [*visited, target]))}")
                    if len(visited) > max_redirects:
                        raise TooManyRedirects(
                            f"{redact_url(url)} redirected more than {max_redirects} times; use the final URL"
                        )
                    visited.append(target)
                    current = target
                    continue
                if response.status_code == 304:
                    body = b""
                elif response.status_code >= 400:
                    retry_after = parse_retry_after(response.headers.get("retry-after"))
                    hint = f"; server asks to retry after {retry_after:.0f}s" if retry_after is not None else ""
                    raise HTTPStatusError(
                        f"HTTP {response.status_code} {response.reason_phrase} from {shown}{hint}",
                        response.status_code,
                        retry_after,
                    )
                elif not 200 <= response.status_code < 300:
                    raise FetchError(f"unexpected HTTP {response.status_code} from {shown}")
                else:
                    body = _read_body(response, shown, max_bytes, deadline)
                return FetchResult(
                    url=current,
                    status=response.status_code,
                    body=body,
                    content_type=response.headers.get("content-type"),
                    etag=response.headers.get("etag") or etag,
                    last_modified=response.headers.get("last-modified") or last_modified,
                    max_age=parse_max_age(response.headers.get("cache-control")),
                    elapsed=time.monotonic() - started,
                )
        except BlockedURL as exc:  # the connection's address check (netguard)
            raise BlockedURL(f"refused {shown}: {exc}") from None
        except httpx.TimeoutException as exc:
            raise FetchTimeout(
                f"timed out fetching {shown} ({type(exc).__name__}); the server is slow or down"
            ) from exc
        except httpx.TransportError as exc:
            lookup = _lookup_failure(exc)
            if lookup is not None:
                raise ConnectFailed(resolve_error(urlsplit(current).hostname, lookup)) from exc
            raise ConnectFailed(f"cannot reach {shown}: {redact_text(str(exc)) or type(exc).__name__}") from exc
        finally:
            if sem is not None:
                sem.release()
