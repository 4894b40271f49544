"""Feed bytes → normalised items (pure: no database, no network).

``parse_feed`` runs feedparser on the fetched bytes with the response's Content-Type,
keeps every entry that parses, and reports what was wrong in ``ParsedFeed.problems``.
feedparser's own HTML sanitiser is switched off because every body is reduced to plain
text here (``html_to_text`` drops scripts, styles and markup).
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from xml.sax.expatreader import ExpatParser

import feedparser
import feedparser.api
import feedparser.mixin
import feedparser.urls

from storydiff.errors import ParseError
from storydiff.ingest.items import Item, ParsedFeed, best_body
from storydiff.ingest.language import detect_language
from storydiff.ingest.shingles import shingle_hashes
from storydiff.ingest.text import html_to_text
from storydiff.ingest.urls import canonical_url

FUTURE_TOLERANCE = timedelta(minutes=10)

# feedparser joins the base URI with itself at every start tag (to keep it absolute and of a safe
# scheme): two pure string functions called with the same few arguments tens of thousands of times
# per feed, ~14 % of its parse time here. Their answers are memoised for its parser (same answers).
URL_JOIN_CACHE = 1024
_safe_absolute_uri = lru_cache(maxsize=URL_JOIN_CACHE)(feedparser.urls.make_safe_absolute_uri)
_joined_uri = lru_cache(maxsize=URL_JOIN_CACHE)(feedparser.urls._urljoin)


def _memoised_url_joins(on: bool = True) -> None:
    """Install (or remove) the memoised URL joins in feedparser's parser module."""
    feedparser.mixin.make_safe_absolute_uri = _safe_absolute_uri if on else feedparser.urls.make_safe_absolute_uri
    feedparser.mixin._urljoin = _joined_uri if on else feedparser.urls._urljoin


_memoised_url_joins()


class _BufferedExpatParser(ExpatParser):
    """The standard library's SAX driver with expat's character buffering on: a text node comes in
    one call instead of one per line and entity (~6 calls an element on news feeds), and feedparser
    joins the pieces anyway — the same text, ~7 % less parse time."""

    def reset(self) -> None:
        super().reset()
        self._parser.buffer_text = True  # type: ignore[attr-defined]


def create_parser() -> ExpatParser:
    """``xml.sax.make_parser``'s driver protocol: this module is feedparser's preferred driver."""
    return _BufferedExpatParser()


def _buffered_text(on: bool = True) -> None:
    """Make (or stop making) feedparser's SAX parser the buffering one above."""
    feedparser.api.PREFERRED_XML_PARSERS = [__name__] if on else ["drv_libxml2"]


_buffered_text()
# Benign feedparser "bozo" reasons: the document parsed fine, only metadata was off.
BENIGN_BOZO = ("NonXMLContentType", "CharacterEncodingOverride")
# Month abbreviations of non-English RFC 822-style dates ("Seg, 24 Set 2018 19:42:40 -0300").
FOREIGN_MONTHS = {
    "jan": "Jan",
    "fev": "Feb",
    "fév": "Feb",
    "feb": "Feb",
    "mar": "Mar",
    "mär": "Mar",
    "abr": "Apr",
    "avr": "Apr",
    "apr": "Apr",
    "mai": "May",
    "mag": "May",
    "may": "May",
    "jun": "Jun",
    "giu": "Jun",
    "jui": "Jul",
    "jul": "Jul",
    "lug": "Jul",
    "ago": "Aug",
    "aoû": "Aug",
    "aug": "Aug",
    "set": "Sep",
    "sep": "Sep",
    "out": "Oct",
    "oct": "Oct",
    "okt": "Oct",
    "ott": "Oct",
    "nov": "Nov",
    "dez": "Dec",
    "dic": "Dec",
    "déc": "Dec",
    "dec": "Dec",
}


def parse_foreign_date(raw: str) -> datetime | None:
    """RFC 822-style dates with Portuguese/Spanish/French/Italian/German month names."""
    parts = raw.replace(",", " ").split()
    if parts and not parts[0][:1].isdigit():
        parts = parts[1:]  # weekday name, in whatever language
    if len(parts) < 4:
        return None
    month = FOREIGN_MONTHS.get(parts[1][:3].lower())
    if month is None:
        return None
    try:
        when = parsedate_to_datetime(" ".join([parts[0], month, *parts[2:]]))
    except (TypeError, ValueError):
        return None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def _time_of(entry: Any, fetched_at: datetime) -> tuple[datetime, str | None]:
    raw = None
    for key in ("published", "updated", "created"):
        # dict.get: FeedParserDict.get maps missing keys onto others (with a DeprecationWarning)
        parsed = dict.get(entry, f"{key}_parsed")
        text = dict.get(entry, key)
        if not parsed and isinstance(text, str) and text:
            foreign = parse_foreign_date(text)
            parsed = foreign.timetuple() if foreign else None
        if parsed:
            try:
                when = datetime.fromtimestamp(calendar.timegm(parsed), UTC)
            except (OverflowError, ValueError, OSError):
                raw = raw or dict.get(entry, key)
                continue
            if when > fetched_at + FUTURE_TOLERANCE:
                return fetched_at, "future"
            return when, None
        raw = raw or dict.get(entry, key)
    return fetched_at, ("unparseable" if raw else "missing")


def _stable_id(entry: Any, url: str | None, title: str, published_raw: str) -> str:
    guid = (entry.get("id") or "").strip()
    if guid:
        return guid[:2000]
    if url:
        return url
    return "hash:" + hashlib.sha1(f"{title}\x00{published_raw}".encode()).hexdigest()


def _content_text(entry: Any) -> str:
    best = ""
    for part in entry.get("content") or ():
        text = html_to_text(part.get("value"))
        if len(text) > len(best):
            best = text
    return best


def _ttl(feed: Any) -> int | None:
    try:
        minutes = int(str(feed.get("ttl", "")).strip())
    except ValueError:
        return None
    return minutes * 60 if 0 < minutes <= 7 * 24 * 60 else None


def parse_feed(
    body: bytes,
    content_type: str | None,
    url: str,
    fetched_at: datetime,
    identify_language: bool = True,
    sign: bool = True,
) -> ParsedFeed:
    """Parse one fetched feed document. Raises ParseError when the body is not a feed at all.
    ``identify_language=False`` keeps a declared language but leaves identification from the text
    to ``Item.identified_language()`` (``language_pending``): the parse workers then need not load
    the language model (~75 MB each), and only new articles are identified, in the storing process.
    ``sign=False`` leaves each item's MinHash signature to ``parsepool.signed()`` (``Item.shingles``)."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    result = feedparser.parse(body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    problems: list[str] = []
    exc = result.get("bozo_exception")
    if result.get("bozo") and type(exc).__name__ not in BENIGN_BOZO:
        problems.append(f"malformed feed ({type(exc).__name__}: {exc}); kept the entries that could be read")
    if not result.get("version") and not result.entries:
        snippet = body[:200].decode("utf-8", "replace").strip().lower()
        what = "an HTML page" if "<html" in snippet or "<!doctype html" in snippet else "neither RSS nor Atom"
        if not body.strip():
            what = "an empty document"
        raise ParseError(f"the response is {what}, not a feed; check that the URL points to the feed itself")
    meta = result.get("feed", {})
    base = meta.get("link") or url
    sign_item: Callable[[bytes], bytes | None] | None = None
    if sign:  # (numpy: only where the signatures are computed)
        from storydiff.ingest.neardup import minhash_bytes

        sign_item = minhash_bytes
    language = detect_language("", meta.get("language"))
    items: list[Item] = []
    seen: set[str] = set()
    duplicates = skipped = undated = 0
    for entry in result.entries:
        link = canonical_url(entry.get("link"), base)
        title = html_to_text(entry.get("title"))
        summary = html_to_text(entry.get("summary"))
        content = _content_text(entry)
        if not (title or summary or content or link):
            skipped += 1
            continue
        published, flag = _time_of(entry, fetched_at)
        undated += flag is not None
        raw_date = dict.get(entry, "published") or dict.get(entry, "updated") or ""
        entry_id = _stable_id(entry, link, title, raw_date)
        if entry_id in seen:
            duplicates += 1
            continue
        seen.add(entry_id)
        declared = entry.get("language") or language
        if identify_language:
            lang, pending = detect_language(f"{title}. {summary or content}", declared), False
        else:  # a usable declared language, else None and identified later from the same text
            lang = detect_language("", declared)
            pending = lang is None
        hashes = shingle_hashes(f"{title}\n{best_body(content, summary)}")
        minhash, shingles = (sign_item(hashes), None) if sign_item else (None, hashes)
        author = entry.get("author")
        items.append(
            Item(entry_id, link, title, summary, content, published, flag, lang, author, minhash, pending, shingles)
        )
    if duplicates:
        problems.append(f"{duplicates} entries repeat an earlier entry's GUID; kept the first of each")
    if skipped:
        problems.append(f"{skipped} entries have no title, text or link; skipped them")
    if undated:
        problems.append(f"{undated} entries have a missing, unparseable or future date; used the fetch time")
    if not items:
        problems.append("the feed has no entries")
    parsed = ParsedFeed(meta.get("title"), meta.get("link"), language, _ttl(meta), tuple(items), tuple(problems))
    return parsed
