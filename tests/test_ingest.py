"""Ingestion behaviour on real databases: idempotency, conditional GET, dedup across feeds,
edit history, wire copies, full-text extraction."""

import os
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text

from storydiff.ingest.feeds import FeedSpec, add_feed
from storydiff.ingest.fulltext import extract_pending
from storydiff.ingest.refresh import refresh_due_feeds, refresh_feed
from storydiff.store.counts import quick_stats
from storydiff.store.models import Article, ArticleFeed, Feed, Version
from storydiff.store.queries import stats
from storydiff.store.revision import head_revision
from tests.feedserver import rss

DATE = "Tue, 21 Oct 2025 10:00:00 +0000"
WIRE = (
    "Foreign ministers of both countries spoke by telephone on Monday and agreed that their deputies "
    "would keep working on the agenda of the summit, officials said, adding that no date had been fixed yet "
    "and that the leaders would decide on the venue after further consultations next week."
)


def items(n, prefix="a"):
    return [
        {
            "title": f"Story {prefix}{i}",
            "link": f"http://news.example/{prefix}/{i}?utm_source=feed",
            "guid": f"{prefix}-{i}",
            "date": DATE,
            "description": f"Body of story {prefix}{i}, long enough.",
        }
        for i in range(n)
    ]


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def add(db, url, outlet="Outlet", kind="newspaper"):
    with db.begin() as s:
        return add_feed(s, FeedSpec(url, outlet, kind))[0].id


def test_ingest_twice_creates_nothing_new_and_uses_conditional_get(db, feed_server):
    url = feed_server.add(
        "/feed", rss(items(5)), etag='"v1"', headers={"Last-Modified": "Tue, 21 Oct 2025 10:00:00 GMT"}
    )
    feed_id = add(db, url)
    with db() as s:
        first = refresh_feed(s, feed_id)
    assert (first.new, first.updated, first.unchanged, first.status) == (5, 0, 0, "ok")
    with db() as s:
        second = refresh_feed(s, feed_id)
        feed = s.get(Feed, feed_id)
        assert second.status == "not_modified" and second.new == 0
        assert feed.etag == '"v1"' and feed.last_modified == "Tue, 21 Oct 2025 10:00:00 GMT"
        assert count(s, Article) == 5 and count(s, Version) == 5 and count(s, ArticleFeed) == 5
    sent = feed_server.requests_to("/feed")[1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Tue, 21 Oct 2025 10:00:00 GMT"
    assert "storydiff" in sent["user-agent"]
    # without an ETag the server re-sends the same items: still no duplicates
    feed_server.routes["/feed"].etag = None
    with db() as s:
        third = refresh_feed(s, feed_id)
        assert (third.new, third.updated, third.unchanged) == (0, 0, 5)
        assert count(s, Article) == 5 and count(s, Version) == 5


def test_many_unchanged_feeds_are_committed_together_and_nothing_is_lost(db, feed_server):
    """Not-modified and failed outcomes are committed in batches; a feed with items is stored alone.
    Every outcome is in the database when the run returns (more feeds than one batch)."""
    from storydiff.ingest.refresh import LIGHT_BATCH

    quiet = [
        add(db, feed_server.add(f"/q{n}", rss(items(1, prefix=f"q{n}")), etag=f'"q{n}"'), f"Q{n}")
        for n in range(LIGHT_BATCH + 6)
    ]
    refresh_due_feeds(db)  # first run: every feed has an item
    fresh = add(db, feed_server.add("/fresh", rss(items(2, prefix="fresh"))), "Fresh")
    broken = add(db, feed_server.add("/broken", "nope", status=500), "Broken")
    results = refresh_due_feeds(db, [*quiet, fresh, broken])
    assert sorted(r.status for r in results).count("not_modified") == len(quiet)
    with db() as s:
        statuses = dict(s.execute(select(Feed.id, Feed.last_status)).all())
        assert all(statuses[f] == "not_modified" for f in quiet)
        assert statuses[broken] == "error" and statuses[fresh] == "ok"
        assert count(s, Article) == len(quiet) + 2


def test_same_canonical_url_from_two_feeds_is_one_article_linked_to_both(db, feed_server):
    a = add(db, feed_server.add("/a", rss(items(3))), "Outlet A")
    b = add(db, feed_server.add("/b", rss(items(2))), "Outlet B")
    refresh_due_feeds(db)
    with db() as s:
        assert count(s, Article) == 3
        assert count(s, ArticleFeed) == 5
        shared = s.scalars(select(ArticleFeed.article_id).where(ArticleFeed.feed_id == b)).all()
        linked_a = s.scalars(select(ArticleFeed.article_id).where(ArticleFeed.feed_id == a)).all()
        assert set(shared) <= set(linked_a)
        assert s.get(Article, shared[0]).url == "http://news.example/a/0"


def test_changed_title_or_body_is_a_new_version_with_history_kept(db, feed_server):
    url = feed_server.add("/feed", rss(items(2)))
    feed_id = add(db, url)
    refresh_due_feeds(db, [feed_id])
    edited = items(2)
    edited[0]["title"] = "Story a0 (updated: toll rises)"
    feed_server.add("/feed", rss(edited))
    with db() as s:
        result = refresh_feed(s, feed_id)
    assert (result.new, result.updated, result.unchanged) == (0, 1, 1)
    with db() as s:
        article = s.scalar(select(Article).where(Article.url == "http://news.example/a/0"))
        titles = [
            v.title for v in s.scalars(select(Version).where(Version.article_id == article.id).order_by(Version.seq))
        ]
        assert titles == ["Story a0", "Story a0 (updated: toll rises)"]


def _wire_story():
    original = {
        "title": "Ministers agree to keep talking",
        "link": "http://wire.example/1",
        "guid": "w1",
        "date": "Tue, 21 Oct 2025 08:00:00 +0000",
        "description": WIRE,
    }
    copy = dict(original, link="http://paper.example/world/77", guid="p77", description="(Wire) " + WIRE)
    copy["date"] = "Tue, 21 Oct 2025 09:30:00 +0000"
    return original, copy


def test_wire_copies_are_linked_to_the_earliest_copy(db, feed_server):
    original, copy = _wire_story()
    unrelated = {
        "title": "Local team wins",
        "link": "http://paper.example/sport/1",
        "guid": "p1",
        "date": DATE,
        "description": "The home side scored twice in the last ten minutes to win the derby in front of a full stadium on Sunday.",
    }
    # the copy is ingested first; the original arrives later but was published earlier
    add(db, feed_server.add("/paper", rss([copy, unrelated])), "Paper")
    refresh_due_feeds(db)
    add(db, feed_server.add("/wire", rss([original])), "Wire", "wire")
    refresh_due_feeds(db)
    with db() as s:
        wire = s.scalar(select(Article).where(Article.url == "http://wire.example/1"))
        paper = s.scalar(select(Article).where(Article.url == "http://paper.example/world/77"))
        sport = s.scalar(select(Article).where(Article.url == "http://paper.example/sport/1"))
        assert wire.original_id is None
        assert paper.original_id == wire.id
        assert sport.original_id is None
        assert stats(s)["wire_copies"] == 1


def _copies(db) -> dict[str, tuple[str | None, bytes | None]]:
    with db() as s:
        urls = dict(s.execute(select(Article.id, Article.url)).all())
        rows = s.execute(select(Article.url, Article.original_id, Article.minhash)).all()
    return {url: (urls.get(orig), minhash) for url, orig, minhash in rows}


def test_a_one_shot_run_signs_and_links_copies_after_the_refresh(db, feed_server, monkeypatch):
    """`storydiff ingest --once` stores a parse process's items unsigned and signs and links them
    once the refresh is over: the signature the parse would have given, the same copy links."""
    from storydiff.ingest import neardup, shingles
    from storydiff.ingest.writer import PENDING_SIGNATURE
    from storydiff.pipeline import run_once

    monkeypatch.setenv("STORYDIFF_PARSE_PROCESSES", "1")
    original, copy = _wire_story()
    add(db, feed_server.add("/paper", rss([copy])), "Paper")
    add(db, feed_server.add("/wire", rss([original])), "Wire", "wire")
    pending_while_storing: list[bool] = []
    run_once(
        db, fulltext=False, through="ingest", one_shot=True,
        on_result=lambda r: pending_while_storing.append(bool(r.unsigned)),
    )  # fmt: skip
    assert pending_while_storing == [True, True]  # both stored unsigned
    links = _copies(db)
    assert links["http://paper.example/world/77"][0] == "http://wire.example/1"
    assert links["http://wire.example/1"][0] is None
    for item in (original, copy):
        expected = neardup.minhash_bytes(shingles.shingle_hashes(f"{item['title']}\n{item['description']}"))
        assert links[item["link"]][1] == expected != PENDING_SIGNATURE


def test_word_for_word_copies_share_one_set_of_buckets_and_join_the_earliest(db, feed_server, monkeypatch):
    """Copies with the very signature of one stored before them (a wire story run word for word)
    join its tree without bucket rows of their own: the earliest published is still the root
    whichever was stored first, a near-copy in a later run (one word changed) still finds the tree
    through the first one's buckets, and an exact copy stored by a later refresh adds no rows."""
    from storydiff.ingest.neardup import BANDS
    from storydiff.pipeline import run_once
    from storydiff.store.models import ArticleBand

    monkeypatch.setenv("STORYDIFF_PARSE_PROCESSES", "1")
    original, _ = _wire_story()
    hours = {"a": "09:00", "b": "08:00", "c": "10:30"}  # b, stored whenever its feed comes, was published first
    for name, hour in hours.items():
        item = dict(
            original, link=f"http://{name}.example/1", guid=f"{name}1", date=f"Tue, 21 Oct 2025 {hour}:00 +0000"
        )
        add(db, feed_server.add(f"/{name}", rss([item])), f"Paper {name}")
    run_once(db, fulltext=False, through="ingest", one_shot=True)
    links = _copies(db)
    assert links["http://b.example/1"][0] is None
    assert links["http://a.example/1"][0] == links["http://c.example/1"][0] == "http://b.example/1"
    assert len({m for _, m in links.values()}) == 1  # one signature
    with db() as s:
        assert count(s, ArticleBand) == BANDS  # one article's buckets, not three
    near = dict(original, link="http://d.example/1", guid="d1", date="Tue, 21 Oct 2025 12:00:00 +0000")
    near["description"] = WIRE.replace("telephone", "phone", 1)
    assert near["description"] != WIRE
    add(db, feed_server.add("/d", rss([near])), "Paper d")
    run_once(db, fulltext=False, through="ingest", one_shot=True)
    assert _copies(db)["http://d.example/1"][0] == "http://b.example/1"
    with db() as s:
        assert count(s, ArticleBand) == 2 * BANDS  # d's own words: its own buckets
    # a service refresh (signed as it is stored, one feed at a time) of one more copy word for word:
    # it finds b in its buckets with its very signature and adds no rows either
    late = dict(original, link="http://e.example/1", guid="e1", date="Tue, 21 Oct 2025 13:00:00 +0000")
    add(db, feed_server.add("/e", rss([late])), "Paper e")
    refresh_due_feeds(db)
    assert _copies(db)["http://e.example/1"][0] == "http://b.example/1"
    with db() as s:
        assert count(s, ArticleBand) == 2 * BANDS


def test_a_service_refresh_signs_and_identifies_only_new_articles_as_it_stores_them(db, feed_server, monkeypatch):
    """A refresh of the running service (Celery worker, embedded scheduler) parses without signing
    or identifying languages — most of a feed's items are already stored — and signs and
    identifies its new articles as it stores them: the values the parse would have given, the
    copy linked at once. A second refresh with one more item stores that one alike."""
    from storydiff.ingest import neardup, shingles
    from storydiff.ingest.language import detect_language
    from storydiff.ingest.writer import PENDING_LANGUAGE, PENDING_SIGNATURE

    monkeypatch.setenv("STORYDIFF_PARSE_PROCESSES", "0")  # parsed in the storing thread, as in a worker
    original, copy = _wire_story()
    add(db, feed_server.add("/paper", rss([copy])), "Paper")
    add(db, feed_server.add("/wire", rss([original])), "Wire", "wire")
    assert [r.unsigned for r in refresh_due_feeds(db)] == [[], []]  # nothing left to sign
    links = _copies(db)
    assert links["http://paper.example/world/77"][0] == "http://wire.example/1"
    later = {
        "title": "Dock workers return as the talks go on",
        "link": "http://wire.example/2",
        "guid": "w2",
        "date": "Wed, 22 Oct 2025 07:00:00 +0000",
        "description": "Dock workers went back to the quays on Wednesday while the ministers kept talking about pay.",
    }
    feed_server.add("/wire", rss([original, later]))
    with db() as s:
        every = list(s.scalars(select(Feed.id)))
    (again,) = [r for r in refresh_due_feeds(db, feed_ids=every) if r.new]  # (checked before they are due)
    assert (again.new, again.unchanged) == (1, 1)
    links = _copies(db)
    with db() as s:
        languages = dict(s.execute(select(Article.url, Article.language)).all())
    for item in (original, copy, later):
        text = item["description"]
        assert links[item["link"]][1] == neardup.minhash_bytes(shingles.shingle_hashes(f"{item['title']}\n{text}"))
        assert languages[item["link"]] == detect_language(f"{item['title']}. {text}") not in (PENDING_LANGUAGE, None)
    assert PENDING_SIGNATURE not in {m for _, m in links.values()}


def test_the_storing_process_loads_numpy_only_after_a_one_shot_refresh(tmp_path, db, feed_server):
    """While the feeds of a one-shot run are parsed and stored, the storing process has not loaded
    numpy (≈ 15 MB: the signatures and the languages wait); signing afterwards loads it and signs
    every new article."""
    original, copy = _wire_story()
    add(db, feed_server.add("/paper", rss([copy, *items(3)])), "Paper")
    add(db, feed_server.add("/wire", rss([original])), "Wire", "wire")
    during, signed = _run_like_the_cli(
        tmp_path,
        """
from storydiff.ingest.refresh import refresh_due_feeds
from storydiff.store.db import open_database
_, factory = open_database()
results = refresh_due_feeds(factory, later_languages=True, later_signatures=True)  # as a one-shot run
during = 'numpy' in sys.modules
parsepool.shutdown()
from storydiff.ingest.writer import sign_pending
with factory() as session:
    signed = sign_pending(session, (r.unsigned for r in results))
print(json.dumps([during, signed]))
""",
    )
    assert during is False and signed == 5
    assert _copies(db)["http://paper.example/world/77"][0] == "http://wire.example/1"


def test_articles_left_unsigned_by_a_run_that_stopped_are_signed_from_their_text(db, feed_server, monkeypatch):
    """A one-shot run that stopped between storing and signing leaves its articles with
    PENDING_SIGNATURE; the next run with new articles (or the sweep) signs them from the text they
    were stored with — the signature the parse would have given — and links the copies."""
    from storydiff.ingest import neardup, shingles
    from storydiff.ingest.writer import PENDING_SIGNATURE, sign_pending
    from storydiff.pipeline import run_once

    monkeypatch.setenv("STORYDIFF_PARSE_PROCESSES", "1")
    original, copy = _wire_story()
    add(db, feed_server.add("/paper", rss([copy])), "Paper")
    add(db, feed_server.add("/wire", rss([original])), "Wire", "wire")
    results = refresh_due_feeds(db, later_signatures=True)  # the run stops here: the lists are lost
    assert all(r.unsigned for r in results)
    assert {m for _, m in _copies(db).values()} == {PENDING_SIGNATURE}
    feed_server.add("/later", rss(items(1, prefix="later")))
    add(db, feed_server.url("/later"), "Later")
    run_once(db, fulltext=False, through="ingest")  # a service tick with something new
    links = _copies(db)
    assert links["http://paper.example/world/77"][0] == "http://wire.example/1"
    expected = neardup.minhash_bytes(shingles.shingle_hashes(f"{original['title']}\n{WIRE}"))
    assert links["http://wire.example/1"][1] == expected
    assert PENDING_SIGNATURE not in {m for _, m in links.values()}
    with db() as s:
        assert sign_pending(s) == 0  # nothing left for the sweep


def test_summary_only_items_get_full_text_and_thin_pages_keep_the_summary(db, feed_server, monkeypatch):
    monkeypatch.setenv("STORYDIFF_FULLTEXT_MIN_CHARS", "200")
    body = " ".join(
        f"Paragraph {n} explains what the ministers said about the summit and its timing." for n in range(12)
    )
    page = f"<html><head><script>var x=1;</script></head><body><nav>Home | World</nav><article><h1>Talks</h1><p>{body}</p></article><footer>Copyright</footer></body></html>"
    feed_server.add("/page/full", page, headers={"Content-Type": "text/html; charset=utf-8"})
    feed_server.add(
        "/page/thin", "<html><body><p>Subscribe to read.</p></body></html>", headers={"Content-Type": "text/html"}
    )
    feed_items = [
        {
            "title": "Full",
            "link": feed_server.url("/page/full"),
            "guid": "f",
            "date": DATE,
            "description": "Short summary.",
        },
        {
            "title": "Thin",
            "link": feed_server.url("/page/thin"),
            "guid": "t",
            "date": DATE,
            "description": "Another summary.",
        },
        {
            "title": "Gone",
            "link": feed_server.url("/page/missing"),
            "guid": "g",
            "date": DATE,
            "description": "Third summary.",
        },
    ]
    add(db, feed_server.add("/feed", rss(feed_items)))
    refresh_due_feeds(db)
    with db() as s:
        assert extract_pending(s) == {"extracted": 1, "thin": 1, "failed": 1}
        texts = {v.title: (v.text, v.text_source) for v in s.scalars(select(Version))}
        assert texts["Full"][1] == "extracted" and "Paragraph 11 explains" in texts["Full"][0]
        assert "var x" not in texts["Full"][0] and "Copyright" not in texts["Full"][0]
        assert texts["Thin"] == ("Another summary.", "summary")
        assert texts["Gone"] == ("Third summary.", "summary")
        errors = {a.url.rsplit("/", 1)[1]: a.fulltext_error for a in s.scalars(select(Article))}
        assert "kept the feed summary" in errors["thin"] and "HTTP 404" in errors["missing"]
        assert extract_pending(s) == {}  # nothing left to do


def test_stats_has_the_documented_keys(db, feed_server):
    add(db, feed_server.add("/feed", rss(items(2))))
    refresh_due_feeds(db)
    with db() as s:
        result = stats(s)
    assert {"feeds", "articles", "versions", "stories", "failing_feeds"} <= set(result)
    assert (result["feeds"], result["articles"], result["versions"], result["failing_feeds"]) == (1, 2, 2, 0)


def test_the_drivers_counts_equal_the_sessions_and_step_aside_for_an_older_schema(db, feed_server):
    add(db, feed_server.add("/feed", rss(items(3))))
    add(db, feed_server.add("/gone", "", status=404))
    refresh_due_feeds(db)
    url = os.environ["DATABASE_URL"]
    with db() as s:
        expected = stats(s)
    assert expected["articles"] == 3 and expected["failing_feeds"] == 1
    assert quick_stats(url) == expected
    head = head_revision()
    with db() as s:  # a database behind the newest migration: the caller must migrate first
        s.execute(text("UPDATE alembic_version SET version_num = 'older'"))
        s.commit()
    try:
        assert quick_stats(url) is None
    finally:  # the PostgreSQL database is shared by the session's tests
        with db() as s:
            s.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
            s.commit()
    assert quick_stats(url + "?connect_timeout=5") is None  # options only SQLAlchemy reads: the full path


def test_two_entries_of_one_feed_with_the_same_url_are_one_article_with_two_entries(db, feed_server):
    same = [
        {"title": "Twice", "link": "http://ex.com/x?utm_source=a", "guid": "g1", "date": DATE, "description": "d"},
        {"title": "Twice", "link": "http://ex.com/x", "guid": "g2", "date": DATE, "description": "d"},
    ]
    add(db, feed_server.add("/feed", rss(same)))
    [result] = refresh_due_feeds(db)
    assert (result.new, result.unchanged) == (1, 1)
    with db() as s:
        assert count(s, Article) == 1 and count(s, ArticleFeed) == 2
    [again] = refresh_due_feeds(db, [result.feed_id])
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)


def test_fetching_runs_only_a_window_ahead_of_storing_and_stops_with_it(db, feed_server, monkeypatch):
    """A run fetches at most ``fetch_ahead()`` feeds that are not stored yet: bodies and parsed
    feeds are not all held at once while the one storing thread catches up (a cold run of 120
    feeds held all of them). When storing fails for good, the feeds still waiting are never fetched
    and the run returns."""
    from storydiff.ingest.refresh import fetch_ahead

    monkeypatch.setenv("STORYDIFF_FETCH_WORKERS", "3")
    window = fetch_ahead()
    ids = [add(db, feed_server.add(f"/w{n}", rss(items(2, prefix=f"w{n}"))), f"W{n}") for n in range(4 * window)]
    fetched_when_stored: list[int] = []

    def slow_store(result):
        fetched_when_stored.append(len(feed_server.requests))
        time.sleep(0.05)  # storing is the slow part: the fetchers would run far ahead

    results = refresh_due_feeds(db, ids, on_result=slow_store)
    assert [r.status for r in results] == ["ok"] * len(ids)
    for stored, fetched in enumerate(fetched_when_stored, start=1):
        assert fetched <= stored + window  # the k-th stored feed's slot is free: k + window fetches at most
    assert max(fetched_when_stored) == len(ids)

    feed_server.requests.clear()
    more = [add(db, feed_server.add(f"/x{n}", rss(items(1, prefix=f"x{n}"))), f"X{n}") for n in range(4 * window)]

    def failing_store(result):
        time.sleep(0.3)  # let the fetchers fill the window
        raise RuntimeError("the storing side broke")

    with pytest.raises(RuntimeError, match="storing side broke"):
        refresh_due_feeds(db, more, on_result=failing_store)
    time.sleep(0.6)  # a waiting fetcher looks at the stop flag every 0.5 s
    assert len(feed_server.requests) <= window + 1  # the feeds outside the window were never fetched


def test_per_host_concurrency_limit(db, feed_server, monkeypatch):
    monkeypatch.setenv("STORYDIFF_PER_HOST_CONCURRENCY", "2")
    for n in range(6):
        add(db, feed_server.add(f"/slow{n}", rss(items(1, f"s{n}")), delay=0.3), f"Outlet {n}")
    results = refresh_due_feeds(db)  # 8 fetch threads, one host
    assert [r.status for r in results] == ["ok"] * 6
    assert feed_server.max_in_flight == 2


def test_waiting_for_a_busy_host_does_not_count_against_the_total_timeout(db, feed_server, monkeypatch):
    """Feeds of one host wait for its slot (per-host concurrency 1 here): the total timeout measures
    how long the server takes to send, not how long the feed queued behind the host's other feeds.
    Three feeds of 0.45 s each, one at a time, with a 1 s budget: the last one is sent 1.35 s after
    the run started, yet its own download took 0.45 s."""
    monkeypatch.setenv("STORYDIFF_PER_HOST_CONCURRENCY", "1")
    monkeypatch.setenv("STORYDIFF_TOTAL_TIMEOUT", "1")
    for n in range(3):
        add(db, feed_server.add(f"/queued{n}", rss(items(1, f"q{n}")), delay=0.45), f"Outlet {n}")
    started = time.monotonic()
    results = refresh_due_feeds(db)
    assert time.monotonic() - started > 1.3  # they did queue, one at a time
    assert [(r.status, r.error) for r in results] == [("ok", None)] * 3
    assert feed_server.max_in_flight == 1


def _run_like_the_cli(tmp_path, main: str) -> Any:
    """Run ``main`` (the body of ``if __name__ == '__main__':``) in a fresh interpreter that has
    imported what `storydiff ingest` loads, with one parse process; returns the JSON it prints last."""
    import json
    import os
    import subprocess
    import sys

    script = tmp_path / "cli_like_main.py"
    script.write_text(
        "import json, sys\n"
        "from datetime import UTC, datetime\n"
        "import storydiff.cli, storydiff.pipeline  # noqa: F401  (what `storydiff ingest` loads)\n"
        "from storydiff.ingest import parsepool\n"
        "if __name__ == '__main__':\n" + "".join(f"    {line}\n" for line in main.strip().splitlines())
    )
    env = dict(os.environ, STORYDIFF_PARSE_PROCESSES="1")
    out = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(out.stdout.splitlines()[-1])


def test_parse_workers_import_the_parser_only(tmp_path):
    """A parse worker does not re-run its parent's __main__: started from a script that imports the
    whole CLI (as the `storydiff` command does), it holds the parser and none of SQLAlchemy, the web
    app or the comparison stack."""
    parent_has_sqlalchemy, worker = _run_like_the_cli(
        tmp_path,
        """
parsepool.warm_up()
pool = parsepool._get_pool()
worker = pool.submit(eval, 'sorted(__import__("sys").modules)').result()
parsepool.shutdown()
print(json.dumps(['sqlalchemy' in sys.modules, worker]))
""",
    )
    assert parent_has_sqlalchemy
    assert "feedparser" in worker and "storydiff.ingest.parse" in worker
    for heavy in (
        "sqlalchemy",
        "storydiff.cli",
        "storydiff.web",
        "storydiff.compare.report",
        "scipy",
        "rich",
        "multiprocessing",
        "numpy",  # the worker hashes shingles; the signatures are computed by the storing process
    ):
        assert heavy not in worker, heavy


def test_the_storing_process_reads_a_worker_parse_without_the_parser(tmp_path, shared_data):
    """The process that stores a worker's parse (unpickling its items, computing the signatures,
    identifying languages) loads neither feedparser nor lxml: the items are plain data of their own
    module, and the items come back signed."""
    feed = next(p for p in sorted((shared_data / "rss-feeds-real").rglob("*.xml")) if p.stat().st_size > 20_000)
    items, signed, loaded = _run_like_the_cli(
        tmp_path,
        f"""
from storydiff.ingest.language import detect_language
body = open({str(feed)!r}, 'rb').read()
future = parsepool.submit(body, 'application/rss+xml', 'http://feeds.example/f.xml', datetime.now(UTC))
parsed = parsepool.result(future, 'http://feeds.example/f.xml')
detect_language('Harbour workers end their strike after a night of talks with the port')
parsepool.shutdown()
signed = sum(i.minhash is not None for i in parsed.items)
heavy = ('feedparser', 'lxml', 'lxml.html', 'storydiff.ingest.parse', 'storydiff.ingest.text')
print(json.dumps([len(parsed.items), signed, sorted(m for m in sys.modules if m in heavy)]))
""",
    )
    assert items > 0 and signed > 0
    assert loaded == []


LANGUAGE_ITEMS = [
    {
        "title": "Harbour workers end their strike after a night of talks",
        "link": "http://news.example/lang/en",
        "guid": "lang-en",
        "date": DATE,
        "description": "The union said the new contract would be put to a vote of all members on Friday morning.",
    },
    {
        "title": "Hafenarbeiter beenden ihren Streik nach einer langen Nacht",
        "link": "http://news.example/lang/de",
        "guid": "lang-de",
        "date": DATE,
        "description": "Die Gewerkschaft sagte, der neue Vertrag werde am Freitag allen Mitgliedern vorgelegt.",
    },
]


def _languages(db):
    with db() as s:
        return dict(s.execute(select(Article.url, Article.language)).all())


def test_a_one_shot_run_identifies_languages_once_the_parse_processes_are_gone(db, feed_server, monkeypatch):
    """`storydiff ingest --once` never holds the language model and the parse processes at the same
    time: the new articles' languages are identified after the refresh, with the same answers."""
    from storydiff.ingest import language, parsepool
    from storydiff.pipeline import run_once

    monkeypatch.setenv("STORYDIFF_PARSE_PROCESSES", "1")
    language.release_language_model()
    add(db, feed_server.add("/lang", rss(LANGUAGE_ITEMS)), "Languages")
    model_while_storing: list[bool] = []
    run = run_once(
        db, fulltext=False, through="ingest", one_shot=True,
        on_result=lambda _: model_while_storing.append(language._identifier is not None),
    )  # fmt: skip
    assert [r.new for r in run.refreshed] == [2]
    assert model_while_storing == [False]  # the parse process was alive: no model in this process
    assert parsepool._pool is None and language._identifier is None  # both released when the run ends
    assert _languages(db) == {"http://news.example/lang/en": "en", "http://news.example/lang/de": "de"}


def test_languages_left_pending_by_a_run_that_stopped_are_identified_later(db, feed_server, monkeypatch):
    """A one-shot run that stopped between storing and identifying leaves its new articles pending
    (the API shows no language for them); the next pipeline run with new articles, or the sweep,
    identifies them."""
    from storydiff.ingest.writer import PENDING_LANGUAGE, identify_pending_languages
    from storydiff.pipeline import run_once
    from storydiff.store.queries import recent_articles

    monkeypatch.setenv("STORYDIFF_PARSE_PROCESSES", "1")
    feed = add(db, feed_server.add("/lang", rss(LANGUAGE_ITEMS)), "Languages")
    refresh_due_feeds(db, [feed], later_languages=True)  # the run stops here
    assert set(_languages(db).values()) == {PENDING_LANGUAGE}
    with db() as s:
        assert [a["language"] for a in recent_articles(s)] == [None, None]  # the API's rows: not identified yet
    feed_server.add("/later", rss(items(1, prefix="later")))
    add(db, feed_server.url("/later"), "Later")
    run_once(db, fulltext=False, through="ingest")  # a service tick with something new
    languages = _languages(db)
    assert languages["http://news.example/lang/en"] == "en" and languages["http://news.example/lang/de"] == "de"
    assert PENDING_LANGUAGE not in languages.values()
    with db() as s:
        assert identify_pending_languages(s) == 0  # nothing left for the sweep


def test_a_parse_worker_that_dies_fails_only_its_feed_and_is_replaced(monkeypatch):
    """A worker process killed while it parses (out of memory, a crash in C code) fails that feed
    with an error saying so; the next feed is parsed by a new worker."""
    from storydiff.errors import FeedError
    from storydiff.ingest import parsepool

    monkeypatch.setenv("STORYDIFF_PARSE_PROCESSES", "1")
    parsepool.shutdown()
    try:
        pool = parsepool._get_pool()
        assert pool is not None
        dying = pool.submit(os._exit, 9)
        with pytest.raises(FeedError, match="parser process died"):
            parsepool.result(dying, "http://news.example/feed")
        body = rss(items(3, prefix="after")).encode()
        future = parsepool.submit(body, "application/rss+xml", "http://news.example/feed", datetime.now(UTC))
        assert future is not None
        parsed = parsepool.result(future, "http://news.example/feed")
        assert [i.title for i in parsed.items] == ["Story after0", "Story after1", "Story after2"]
    finally:
        parsepool.shutdown()


def test_parse_workers_exit_when_their_parent_is_killed(tmp_path):
    """No orphan is left behind: a worker reads its calls from a pipe, and when the parent dies
    (SIGKILL: no clean-up runs) the pipe ends and the worker exits."""
    import signal
    import subprocess
    import sys

    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time\n"
        "from storydiff.ingest import parsepool\n"
        "parsepool.warm_up()\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    env = dict(os.environ, STORYDIFF_PARSE_PROCESSES="2")
    parent = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "ready"
        children = [
            int(entry.name)
            for entry in os.scandir("/proc")
            if entry.name.isdigit() and _parent_of(int(entry.name)) == parent.pid
        ]
        assert len(children) == 2
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in children):
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in children)
    finally:
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return int(stat[stat.rindex(b")") + 2 :].split()[1])


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2 :].split()[0] != b"Z"
