"""What a parse of one feed gives: its items and its metadata (plain data). Its own module, apart
from the parser, so the storing process can unpickle a parse worker's result without importing
feedparser or lxml."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from storydiff.ingest.language import detect_language


def best_body(content: str, summary: str) -> str:
    """The fuller of the feed's full content and its summary."""
    return content if len(content) >= len(summary) else summary


@dataclass(frozen=True)
class Item:
    entry_id: str  # guid, else canonical link, else hash of title + date
    url: str | None  # canonical link
    title: str
    summary: str  # plain text of the summary/description
    content: str  # plain text of the full body when the feed carries one, else ""
    published: datetime  # UTC
    published_flag: str | None  # None, "missing", "unparseable" or "future" (then published = fetched_at)
    language: str | None
    author: str | None
    minhash: bytes | None = None  # near-duplicate signature of title + body (None: too short)
    # parsed with identify_language=False and no usable declared language: identified_language() fills
    # it in where it is needed (the writer, for a new article)
    language_pending: bool = False
    # parsed with sign=False: the packed shingle hashes, turned into ``minhash`` by parsepool.signed()
    # in the storing process (the parse workers do not load numpy)
    shingles: bytes | None = None

    @property
    def body(self) -> str:
        return best_body(self.content, self.summary)

    def identified_language(self) -> str | None:
        """The item's language; identified from its text now when parsing left it pending (the same
        answer ``parse_feed`` gives with identify_language=True)."""
        if not self.language_pending:
            return self.language
        return detect_language(f"{self.title}. {self.summary or self.content}")


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    link: str | None
    language: str | None
    ttl_seconds: int | None
    items: tuple[Item, ...]
    problems: tuple[str, ...] = field(default=())
