"""Every real and edge-case feed in ../shared/data through fetch → parse → store, served over
real HTTP with the headers the upstream harness specifies. Zero crashes allowed."""

import html
import re
from pathlib import Path

import feedparser
import pytest
from sqlalchemy import func, select

from storydiff.ingest.feeds import FeedSpec, add_feed
from storydiff.ingest.refresh import refresh_due_feeds
from storydiff.store.models import ArticleFeed, Feed, Version

HEADER = re.compile(rb"^\s*Header:\s*([A-Za-z-]+):\s*(.+?)\s*$", re.M)
EXPECT_BOZO = re.compile(rb"Expect:\s*bozo\b")


def served_headers(raw: bytes) -> dict[str, str]:
    head = raw[:2000]
    headers = {k.decode(): v.decode("latin-1") for k, v in HEADER.findall(head) if k.lower() != b"content-location"}
    headers.setdefault("Content-Type", "application/xml")
    return {("Content-Type" if k.lower() == "content-type" else k): v for k, v in headers.items()}


def ingest_folder(db, server, files: list[Path], root: Path):
    with db.begin() as s:
        ids = {}
        for path in files:
            raw = path.read_bytes()
            route = "/" + str(path.relative_to(root)).replace("\\", "/")
            server.add(route, raw, headers=served_headers(raw))
            ids[path] = add_feed(s, FeedSpec(server.url(route), "Corpus", "aggregator"))[0].id
    results = refresh_due_feeds(db)
    assert len(results) == len(files)
    crashes = [r for r in results if r.error and "storing the items failed" in r.error]
    assert crashes == []
    with db() as s:
        stored = dict(s.execute(select(ArticleFeed.feed_id, func.count()).group_by(ArticleFeed.feed_id)).all())
        feeds = {f.id: f for f in s.scalars(select(Feed))}
    return ids, stored, feeds


def feedparser_entries(path: Path) -> int:
    raw = path.read_bytes()
    headers = {k.lower(): v for k, v in served_headers(raw).items()}
    result = feedparser.parse(raw, response_headers=headers)

    def visible(markup: str) -> bool:  # feedparser's sanitised HTML, tags stripped by a regex
        return bool(html.unescape(re.sub(r"<[^>]*>", "", markup)).strip())

    def has_text(e):  # something a reader could see: a title, a link or visible text
        bodies = [e.get("title", ""), e.get("summary", "")] + [c.get("value", "") for c in e.get("content", [])]
        return bool(e.get("link") or any(visible(b) for b in bodies))

    return sum(1 for e in result.entries if has_text(e))


@pytest.mark.slow
def test_feedparser_edge_case_corpus(db, feed_server, shared_data):
    root = shared_data / "feedparser-test-feeds"
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix in (".xml", ".rdf", ".json") and p.name != "README.md"
    )
    assert len(files) > 2000
    ids, stored, feeds = ingest_folder(db, feed_server, files, root)
    missing, expected_total, stored_total = [], 0, 0
    for path in files:
        feed = feeds[ids[path]]
        rel = path.relative_to(root).parts[0]
        if rel == "wellformed":
            expected = feedparser_entries(path)
            expected_total += expected
            stored_total += stored.get(feed.id, 0)
            if expected and (feed.last_status == "error" or not stored.get(feed.id)):
                missing.append((str(path.relative_to(root)), feed.last_error))
        if rel == "illformed" and EXPECT_BOZO.search(path.read_bytes()[:2000]):
            assert feed.last_status in ("warning", "error"), path
            assert feed.last_error, path
    assert missing == [], f"{len(missing)} well-formed feeds lost their entries: {missing[:10]}"
    assert stored_total >= 0.97 * expected_total, (stored_total, expected_total)
    print(f"\nfeedparser corpus: {len(files)} files, {stored_total}/{expected_total} well-formed entries stored")


@pytest.mark.slow
def test_real_news_feeds(db, feed_server, shared_data):
    root = shared_data / "rss-feeds-real"
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "README.md")
    ids, stored, feeds = ingest_folder(db, feed_server, files, root)
    for path in files:
        feed = feeds[ids[path]]
        assert feed.last_status in ("ok", "warning"), (path, feed.last_error)
        expected = feedparser_entries(path)
        assert stored.get(feed.id, 0) == expected or (feed.last_error and "GUID" in feed.last_error), path
    uol = feeds[ids[root / "fixtures_single_outlet" / "rss-parser__uolNoticias.rss"]]
    with db() as s:
        titles = s.scalars(
            select(Version.title)
            .join(ArticleFeed, ArticleFeed.article_id == Version.article_id)
            .where(ArticleFeed.feed_id == uol.id)
        ).all()
    assert len(titles) == 15
    text = " ".join(titles)
    assert "\ufffd" not in text and re.search(r"[çãéíóú]", text), text[:300]
