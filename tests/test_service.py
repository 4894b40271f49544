"""The embedded default: the in-process scheduler runs the same pipeline as the worker."""

import time

from sqlalchemy import func, select

from storydiff.ingest.feeds import FeedSpec, add_feed
from storydiff.ingest.refresh import due_feed_ids, refresh_due_feeds
from storydiff.service import InProcessScheduler
from storydiff.store.models import Article, Feed
from tests.feedserver import rss

ITEMS = [
    {
        "title": f"Scheduled {n}",
        "link": f"http://ex.com/s/{n}",
        "guid": f"s{n}",
        "date": "Tue, 21 Oct 2025 10:00:00 +0000",
        "description": "text",
    }
    for n in range(3)
]


def test_in_process_scheduler_ingests_due_feeds(db, feed_server):
    with db.begin() as s:
        feed_id = add_feed(s, FeedSpec(feed_server.add("/feed", rss(ITEMS)), "Sched", "newspaper"))[0].id
    scheduler = InProcessScheduler(db, tick=0.2)
    scheduler.start()
    try:
        deadline = time.monotonic() + 30
        stored = 0
        while stored < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
            with db() as s:
                stored = s.scalar(select(func.count()).select_from(Article))
    finally:
        scheduler.stop()
        scheduler.join(timeout=30)
    assert stored == 3 and not scheduler.is_alive()
    with db() as s:
        assert s.get(Feed, feed_id).last_status == "ok"
    assert len(feed_server.requests_to("/feed")) == 1  # not due again after success


def test_lease_hands_a_due_feed_out_once(db, feed_server):
    with db.begin() as s:
        add_feed(s, FeedSpec(feed_server.add("/feed", rss(ITEMS)), "Lease", "newspaper"))
    with db() as s:
        first = due_feed_ids(s, lease=True)
        second = due_feed_ids(s, lease=True)
    assert len(first) == 1 and second == []


def test_parsing_in_process_matches_the_parse_pool(db, feed_server, monkeypatch):
    monkeypatch.setenv("STORYDIFF_PARSE_PROCESSES", "0")
    with db.begin() as s:
        add_feed(s, FeedSpec(feed_server.add("/feed", rss(ITEMS)), "Inline", "newspaper"))
        add_feed(s, FeedSpec(feed_server.add("/html", "<html><body>no</body></html>"), "Html", "newspaper"))
    results = sorted(refresh_due_feeds(db), key=lambda r: r.url)
    assert [(r.status, r.new) for r in results] == [("ok", 3), ("error", 0)]
    assert "HTML page" in results[1].error


def test_concurrent_claims_split_the_due_feeds_and_never_take_one_twice(db):
    """Four schedulers claim at once (beat restarted twice, or two beats by mistake): every due feed
    is handed out exactly once. On PostgreSQL without SKIP LOCKED the later claims wait for the
    first, then take the same rows again."""
    import threading

    with db.begin() as s:
        for n in range(120):
            add_feed(s, FeedSpec(f"http://127.0.0.1:9/claim/{n}.xml", f"Claim {n % 7}", "newspaper"))
    barrier = threading.Barrier(4)
    claimed: list[list[int]] = []
    errors: list[BaseException] = []

    def claim() -> None:
        try:
            with db() as s:
                s.execute(select(func.count()).select_from(Feed))  # connected before the start line
                barrier.wait(timeout=30)
                claimed.append(due_feed_ids(s, lease=True))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    every = [feed_id for ids in claimed for feed_id in ids]
    assert len(every) == len(set(every)) == 120
    with db() as s:
        assert due_feed_ids(s, lease=True) == []
