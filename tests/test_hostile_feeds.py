"""Hostile or broken responses: each gets a clear error on its feed; the others in the same
run are stored normally. Real HTTP on 127.0.0.1, real databases."""

import gzip
import zlib

import pytest
from sqlalchemy import func, select

from storydiff.ingest.feeds import FeedSpec, add_feed
from storydiff.ingest.refresh import refresh_due_feeds
from storydiff.store.models import Article, ArticleFeed, Feed
from tests.feedserver import rss

GOOD = rss(
    [
        {
            "title": f"Good item {n}",
            "link": f"http://ex.com/good/{n}",
            "guid": f"good-{n}",
            "date": "Tue, 21 Oct 2025 10:00:00 +0000",
            "description": "fine",
        }
        for n in range(3)
    ]
)


def redirect_to(target):
    def handler(req):
        req.send_response(302)
        req.send_header("Location", target)
        req.send_header("Content-Length", "0")
        req.end_headers()

    return handler


def undeclared_length_handler(req):
    req.send_response(200)
    req.send_header("Content-Type", "application/rss+xml")
    req.send_header("Connection", "close")
    req.end_headers()
    req.close_connection = True
    try:
        for _ in range(64):
            req.wfile.write(b"x" * 65536)
    except (BrokenPipeError, ConnectionResetError):
        pass


def gzip_bomb_handler(req):
    # 20 MB of zeros compressed to ~20 kB; declared as gzip
    body = gzip.compress(b"\0" * (20 * 1024 * 1024), compresslevel=9)
    req.send_response(200)
    req.send_header("Content-Type", "application/rss+xml")
    req.send_header("Content-Encoding", "gzip")
    req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    req.wfile.write(body)


# path → (route kwargs, substring of the stored error, status)
CASES = {
    "/404": ({"body": "gone", "status": 404}, "HTTP 404", "error"),
    "/500": ({"body": "oops", "status": 500}, "HTTP 500", "error"),
    "/429": ({"body": "", "status": 429, "headers": {"Retry-After": "7200"}}, "retry after 7200s", "error"),
    "/timeout": ({"body": GOOD, "delay": 3.0}, "timed out", "error"),
    "/drip": ({"body": GOOD, "drip": 0.05}, "STORYDIFF_TOTAL_TIMEOUT", "error"),
    "/loop-a": ({"handler": None}, "redirect loop", "error"),
    "/hop0": ({"handler": None}, "redirected more than", "error"),
    "/oversized": ({"body": b"<rss>" + b" " * (2 * 1024 * 1024)}, "over the 1,048,576-byte limit", "error"),
    "/oversized-undeclared": ({"handler": None}, "sent more than 1,048,576 bytes", "error"),
    "/bomb": ({"handler": gzip_bomb_handler}, "gzip bomb", "error"),
    "/html": (
        {"body": "<!doctype html><html><body><h1>Welcome</h1></body></html>", "headers": {"Content-Type": "text/html"}},
        "HTML page",
        "error",
    ),
    "/empty-channel": ({"body": rss([])}, "no entries", "warning"),
    "/dup-guids": (
        {"body": rss([{"title": "A", "guid": "same"}, {"title": "B", "guid": "same"}])},
        "repeat an earlier entry's GUID",
        "warning",
    ),
    "/no-link-no-date": (
        {"body": rss([{"title": "Orphan item", "description": "no link, no date"}])},
        "missing, unparseable or future date",
        "warning",
    ),
    "/bad-deflate": (
        {"body": b"not deflate at all", "headers": {"Content-Encoding": "deflate"}},
        "corrupt compressed body",
        "error",
    ),
}


@pytest.fixture
def hostile(feed_server, monkeypatch):
    monkeypatch.setenv("STORYDIFF_MAX_BODY_BYTES", str(1024 * 1024))
    for path, (route, _, _) in CASES.items():
        feed_server.add(path, **route)
    feed_server.routes["/oversized-undeclared"].handler = undeclared_length_handler
    feed_server.routes["/loop-a"].handler = redirect_to(feed_server.url("/loop-b"))
    feed_server.add("/loop-b", handler=redirect_to(feed_server.url("/loop-a")))
    for hop in range(7):
        feed_server.add(f"/hop{hop}", handler=redirect_to(feed_server.url(f"/hop{hop + 1}")))
    feed_server.add("/hop7", GOOD)
    feed_server.add("/good", GOOD)
    return feed_server


def test_each_hostile_feed_gets_a_clear_error_and_others_are_unaffected(db, hostile):
    with db.begin() as s:
        ids = {
            path: add_feed(s, FeedSpec(hostile.url(path), "Hostile", "newspaper"))[0].id for path in [*CASES, "/good"]
        }
    results = {r.feed_id: r for r in refresh_due_feeds(db)}
    assert len(results) == len(ids)
    with db() as s:
        for path, (_, message, status) in CASES.items():
            feed = s.get(Feed, ids[path])
            assert feed.last_status == status, (path, feed.last_error)
            assert message in (feed.last_error or ""), (path, feed.last_error)
            assert feed.error_count == (1 if status == "error" else 0), path
            assert feed.next_check_at > feed.last_fetch_at
        good = s.get(Feed, ids["/good"])
        assert good.last_status == "ok" and good.error_count == 0 and good.last_error is None
        stored = s.scalar(select(func.count()).select_from(ArticleFeed).where(ArticleFeed.feed_id == ids["/good"]))
        assert stored == 3
        # items of the warning feeds were kept
        assert (
            s.scalar(select(func.count()).select_from(ArticleFeed).where(ArticleFeed.feed_id == ids["/dup-guids"])) == 1
        )
        orphan = s.scalar(select(Article).join(ArticleFeed).where(ArticleFeed.feed_id == ids["/no-link-no-date"]))
        assert orphan.url is None and orphan.published_flag == "missing"
        # Retry-After pushed the next check at least two hours out
        throttled = s.get(Feed, ids["/429"])
        assert (throttled.next_check_at - throttled.last_fetch_at).total_seconds() >= 7200


def test_private_addresses_are_refused_unless_allowed(db, feed_server, monkeypatch):
    url = feed_server.add("/good", GOOD)
    monkeypatch.setenv("STORYDIFF_ALLOW_PRIVATE_URLS", "0")
    with db.begin() as s:
        feed_id = add_feed(s, FeedSpec(url, "Local", "newspaper"))[0].id
    [result] = refresh_due_feeds(db)
    assert result.status == "error" and "non-public address 127.0.0.1" in result.error
    assert "STORYDIFF_ALLOW_PRIVATE_URLS=1" in result.error
    assert feed_server.requests == []  # nothing was sent
    with db() as s:
        assert s.get(Feed, feed_id).error_count == 1


def test_repeated_failures_back_off_but_keep_the_feed_scheduled(db, feed_server):
    url = feed_server.add("/500", "down", status=500)
    with db.begin() as s:
        feed_id = add_feed(s, FeedSpec(url, "Flaky", "newspaper"))[0].id
    gaps = []
    for _ in range(4):
        refresh_due_feeds(db, [feed_id])
        with db() as s:
            feed = s.get(Feed, feed_id)
            gaps.append((feed.next_check_at - feed.last_fetch_at).total_seconds())
    assert feed.error_count == 4 and feed.next_check_at is not None
    assert gaps[3] > gaps[0]  # 300·2^3/2 = 1200 s at least vs at most 300 s
    feed_server.add("/500", GOOD)  # recovers
    refresh_due_feeds(db, [feed_id])
    with db() as s:
        feed = s.get(Feed, feed_id)
        assert feed.error_count == 0 and feed.last_error is None and feed.last_status == "ok"


def test_deflate_and_gzip_bodies_are_decoded(db, feed_server):
    gz = feed_server.add("/gz", gzip.compress(GOOD.encode()), headers={"Content-Encoding": "gzip"})
    zl = feed_server.add("/zl", zlib.compress(GOOD.encode()), headers={"Content-Encoding": "deflate"})
    with db.begin() as s:
        add_feed(s, FeedSpec(gz, "Gz", "newspaper"))
        add_feed(s, FeedSpec(zl, "Zl", "newspaper"))
    assert [r.status for r in refresh_due_feeds(db)] == ["ok", "ok"]
