"""/healthz says when work is stuck: pending work older than STORYDIFF_STUCK_AFTER makes it 503
with the reason, and it is 200 again once the work is done."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from storydiff.compare.run import cluster_new_articles
from storydiff.ingest.feeds import FeedSpec, add_feed
from storydiff.ingest.items import Item
from storydiff.ingest.writer import store_items

from .webserver import serve_app


def test_healthz_reports_stuck_work_until_it_is_done(db, monkeypatch):
    monkeypatch.setenv("STORYDIFF_STUCK_AFTER", "0")
    monkeypatch.setenv("STORYDIFF_FULLTEXT", "0")  # the article is settled: it waits only for clustering
    now = datetime.now(UTC)
    item = Item(
        entry_id="x1", url="https://news.example/x1", title="Harbour strike halts ferries",
        summary="Ferries stopped on Tuesday as crews walked out over pay.", content="", published=now,
        published_flag=None, language="en", author=None, minhash=None,
    )  # fmt: skip
    with db.begin() as s:
        feed, _ = add_feed(s, FeedSpec("https://news.example/feed", "Example", "wire"))
        store_items(s, feed, [item], now)
    with serve_app(db) as base:
        stuck = httpx.get(f"{base}/healthz")
        assert stuck.status_code == 503
        assert stuck.json()["stuck"] == {"articles not clustered": 1}
        assert "degraded" in stuck.json()["error"] and "articles not clustered" in stuck.json()["error"]
        with db() as s:
            cluster_new_articles(s)
        monkeypatch.setenv("STORYDIFF_STUCK_AFTER", "3600")  # the new story's report is only seconds late
        healthy = httpx.get(f"{base}/healthz")
        assert healthy.status_code == 200 and healthy.json()["stuck"] == {}
