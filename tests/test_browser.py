"""Real-browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium, never a
downloaded browser) against the real app over HTTP on 127.0.0.1."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storydiff.compare.run import cluster_new_articles
from storydiff.compare.store_reports import compare_stale_stories
from storydiff.ingest.feeds import FeedSpec, add_feed
from storydiff.ingest.refresh import refresh_due_feeds
from storydiff.store.models import Article, StoryArticle
from tests.conftest import need
from tests.demo_story import ingest_demo
from tests.feedserver import rss
from tests.webserver import serve_app

CHROMIUM = Path("/usr/bin/chromium")
NOW = datetime(2025, 10, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def browser():
    need(CHROMIUM.exists(), f"Debian chromium not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield chromium
        chromium.close()


def _pipeline(db, now=NOW):
    with db() as s:
        cluster_new_articles(s, now=now)
        compare_stale_stories(s)


def test_demo_story_in_a_real_browser(sqlite_db, browser, tmp_path):
    ingest_demo(sqlite_db)
    with serve_app(sqlite_db) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page.goto(base + "/")
        page.get_by_role("link", name="US-Russia foreign ministers' meeting put on hold, officials say").click()
        page.wait_for_url("**/stories/*")
        numeric = page.locator('.divergence[data-type="numeric"]')
        assert numeric.locator("mark", has_text="18 civilians").is_visible()
        assert numeric.locator("mark", has_text="21 civilians").first.is_visible()
        quote = page.locator('.divergence[data-type="quote"]')
        assert quote.locator("del").first.is_visible() and quote.locator("ins").first.is_visible()
        assert "prepared" in quote.locator("del").all_inner_texts()[0] + quote.locator("ins").all_inner_texts()[0]
        assert page.locator("svg.heatmap rect").count() == 36 and page.locator(".timeline .tl-dot").count() >= 6
        page.screenshot(path=str(tmp_path / "story.png"), full_page=True)
        # switch a filter: only quote divergences
        page.select_option('select[name="type"]', "quote")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url("**type=quote**")
        types = set(page.locator(".divergence[data-type]").evaluate_all("els => els.map(e => e.dataset.type)"))
        assert types == {"quote"}
        # export Markdown
        with page.expect_download() as download:
            page.get_by_role("link", name="Markdown").click()
        saved = tmp_path / "story.md"
        download.value.save_as(saved)
        text = saved.read_text(encoding="utf-8")
        assert "**HIGH · numeric**" in text and "~~prepared~~" in text
        page.screenshot(path=str(tmp_path / "filtered.png"))
        assert (tmp_path / "story.png").stat().st_size > 10_000
        page.close()


HOSTILE = [
    {
        "title": "<script>alert('title')</script>Summit <img src=x onerror=alert('img')> talks stall",
        "link": "javascript:alert('link')",
        "guid": "hostile-1",
        "date": "Tue, 21 Oct 2025 10:00:00 GMT",
        "description": "<p>The summit talks between the two leaders stalled on Tuesday, officials said.</p>"
        "<script>alert('body')</script><img src=x onerror=\"alert('body img')\">"
        "<a href=\"javascript:alert('a')\">click</a> <svg onload=alert('svg')></svg>",
    },
    {
        "title": 'Summit talks stall as leaders disagree "><script>alert(2)</script>',
        "link": 'http://127.0.0.1:1/"onmouseover="alert(3)',
        "guid": "hostile-2",
        "date": "Tue, 21 Oct 2025 11:00:00 GMT",
        "description": "The summit talks between the two leaders stalled on Tuesday, diplomats said. "
        "&lt;script&gt;alert('escaped')&lt;/script&gt; <iframe src=\"javascript:alert('iframe')\"></iframe>",
    },
]


def test_hostile_feed_cannot_run_script_in_the_browser(sqlite_db, feed_server, browser, monkeypatch):
    monkeypatch.setenv("STORYDIFF_ALLOW_PRIVATE_URLS", "1")
    monkeypatch.setenv("STORYDIFF_FULLTEXT", "0")
    url_a = feed_server.add("/a.rss", rss(HOSTILE[:1], title="<script>alert('feed')</script>"))
    url_b = feed_server.add("/b.rss", rss(HOSTILE[1:], title="Other <b onmouseover=alert(1)>outlet</b>"))
    with sqlite_db.begin() as s:
        add_feed(s, FeedSpec(url_a, "<script>alert('outlet')</script>Evil Wire", "wire", None))
        add_feed(s, FeedSpec(url_b, "Other Outlet", "newspaper", None))
    refresh_due_feeds(sqlite_db)
    _pipeline(sqlite_db)
    with sqlite_db() as s:
        story_ids = sorted(set(s.scalars(select(StoryArticle.story_id))))
        assert s.scalar(select(func.count()).select_from(Article)) == 2 and story_ids
    dialogs: list[str] = []
    with serve_app(sqlite_db) as base:
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        urls = ["/?min_outlets=1", "/articles", "/feeds", "/docs"] + [f"/stories/{i}" for i in story_ids]
        for url in urls:
            response = page.goto(base + url)
            assert response is not None and response.status == 200, url
            assert "script-src" not in response.headers["content-security-policy"]  # default-src 'none': no script
            page.wait_for_timeout(100)
            assert page.locator("script").count() == 0, url
            assert page.locator("[onerror], [onload], [onmouseover]").count() == 0, url
            assert page.locator('a[href^="javascript:"], iframe, img').count() == 0, url
            page.locator("body").hover()
        body = page.goto(base + "/articles") and page.inner_text("body")
        assert "<script>alert('outlet')</script>Evil Wire" in body  # shown as text, harmless
        exported = page.context.request.get(f"{base}/stories/{story_ids[0]}/export.html").text()
        assert "<script" not in exported and "onerror=" not in exported.replace("onerror=alert", "")
        page.close()
    assert dialogs == []
