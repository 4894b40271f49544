"""Stories persisted on real databases: clustering after ingestion, idempotent re-runs,
merges of persisted stories, closing, and the demo story across outlets."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update

from storydiff.compare.cluster import ClusterConfig
from storydiff.compare.run import cluster_new_articles
from storydiff.demo.run import add_demo_feeds, load_demo
from storydiff.demo.server import DemoFeedServer
from storydiff.ingest.feeds import FeedSpec, add_feed
from storydiff.ingest.refresh import refresh_due_feeds
from storydiff.store.models import Article, ArticleFeed, Feed, Outlet, Story, StoryArticle, StoryRedirect, Version
from storydiff.store.queries import stats
from tests.demo_story import ingest_demo
from tests.feedserver import rss

NOW = datetime(2025, 10, 22, 12, 0, tzinfo=UTC)


def outlets_by_story(session):
    rows = session.execute(
        select(StoryArticle.story_id, Outlet.name, Outlet.kind)
        .join(Article, Article.id == StoryArticle.article_id)
        .join(Outlet, Outlet.id == Article.outlet_id)
    ).all()
    out = {}
    for story_id, name, kind in rows:
        out.setdefault(story_id, set()).add((name, kind))
    return out


def test_demo_articles_cluster_into_one_multi_outlet_story_and_rerun_is_idempotent(db):
    server = DemoFeedServer().start()
    try:
        load_demo(db, server.base_url)
    finally:
        server.stop()
    with db() as s:
        first = cluster_new_articles(s, now=NOW)
    assert first.articles == 29 and first.new_stories >= 20
    with db() as s:
        again = cluster_new_articles(s, now=NOW)
        assert (again.articles, again.new_stories, again.merged) == (0, 0, 0)
        assert s.scalar(select(func.count()).select_from(StoryArticle)) == 29
        assert stats(s)["stories"] == first.new_stories
        multi = [o for o in outlets_by_story(s).values() if len(o) > 1]
        assert len(multi) == 1, multi  # the 23 unrelated items stay apart
        kinds = {k for _, k in multi[0]}
        assert {"broadcaster", "wire", "state_media", "government"} <= kinds
        story = s.scalar(
            select(Story).join(StoryArticle).join(Article).where(Article.url.like("%us-russia-ministers%"))
        )
        headlines = s.scalars(
            select(Version.title)
            .join(StoryArticle, StoryArticle.article_id == Version.article_id)
            .where(StoryArticle.story_id == story.id)
        ).all()
        assert story.title in headlines and len(headlines) == 6  # all six outlets, incl. the Moscow readout


def test_new_articles_join_persisted_stories_and_wait_for_full_text(db, feed_server, monkeypatch):
    monkeypatch.setenv("STORYDIFF_FULLTEXT", "0")
    first = [
        {
            "title": "Volcano erupts near Grindavik, Iceland evacuates town",
            "link": "http://a.example/1",
            "guid": "a1",
            "date": "Tue, 21 Oct 2025 08:00:00 +0000",
            "description": "Lava reached the town walls.",
        }
    ]
    later = [
        {
            "title": "Grindavik volcano eruption: lava reaches Iceland town",
            "link": "http://b.example/1",
            "guid": "b1",
            "date": "Tue, 21 Oct 2025 11:00:00 +0000",
            "description": "Residents had left.",
        },
        {
            "title": "Summary only item about football",
            "link": feed_server.url("/page"),
            "guid": "b2",
            "date": "Tue, 21 Oct 2025 11:00:00 +0000",
            "description": "Short.",
        },
    ]
    with db.begin() as s:
        add_feed(s, FeedSpec(feed_server.add("/a", rss(first)), "A", "wire"))
    refresh_due_feeds(db)
    with db() as s:
        assert cluster_new_articles(s, now=NOW).new_stories == 1
    with db.begin() as s:
        add_feed(s, FeedSpec(feed_server.add("/b", rss(later)), "B", "broadcaster"))
    refresh_due_feeds(db)
    with db() as s:  # b2 is waiting for its full text: it is not clustered yet
        s.execute(update(Article).where(Article.url == feed_server.url("/page")).values(needs_fulltext=True))
        s.commit()
        run = cluster_new_articles(s, now=NOW)
        assert (run.articles, run.new_stories, len(run.story_ids)) == (1, 0, 1)  # only the joined story changed
        [outlets] = outlets_by_story(s).values()
        assert {n for n, _ in outlets} == {"A", "B"}
        s.execute(update(Article).values(needs_fulltext=False))
        s.commit()
        assert cluster_new_articles(s, now=NOW).articles == 1


def test_persisted_stories_that_converge_are_merged_and_quiet_ones_close(db, feed_server, monkeypatch):
    monkeypatch.setenv("STORYDIFF_FULLTEXT", "0")
    items = [
        {
            "title": title,
            "link": f"http://x.example/{n}",
            "guid": f"x{n}",
            "date": "Tue, 21 Oct 2025 08:00:00 +0000",
            "description": "",
        }
        for n, title in enumerate(["Budapest summit Lavrov Rubio", "Budapest summit Lavrov Rubio talks"])
    ]
    with db.begin() as s:
        add_feed(s, FeedSpec(feed_server.add("/x", rss(items)), "X", "wire"))
    refresh_due_feeds(db)
    with db() as s:  # a join threshold no pair reaches: two stories
        assert (
            cluster_new_articles(s, ClusterConfig(join_threshold=0.99, merge_threshold=2.0), now=NOW).new_stories == 2
        )
    more = [
        {
            "title": "Budapest summit Lavrov Rubio meeting",
            "link": "http://y.example/1",
            "guid": "y1",
            "date": "Tue, 21 Oct 2025 09:00:00 +0000",
            "description": "",
        }
    ]
    with db.begin() as s:
        add_feed(s, FeedSpec(feed_server.add("/y", rss(more)), "Y", "newspaper"))
    refresh_due_feeds(db)
    with db() as s:
        run = cluster_new_articles(s, now=NOW)
        assert run.merged == 1
        assert s.scalar(select(func.count()).select_from(Story)) == 1
        assert s.scalar(select(func.count(func.distinct(StoryArticle.story_id)))) == 1
        survivor = s.scalar(select(Story.id))
        # the absorbed story's id keeps pointing at the survivor
        [(gone, to)] = s.execute(select(StoryRedirect.from_id, StoryRedirect.to_id)).all()
        assert to == survivor and gone != survivor
    with db() as s:  # days of wall clock close nothing: time is the stream of published times
        assert cluster_new_articles(s, now=NOW + timedelta(days=5)).closed == 0
    later = [
        {
            "title": "Harbour strike ends after pay deal",
            "link": "http://z.example/1",
            "guid": "z1",
            "date": "Sun, 26 Oct 2025 09:00:00 +0000",
            "description": "",
        }
    ]
    with db.begin() as s:
        add_feed(s, FeedSpec(feed_server.add("/z", rss(later)), "Z", "newspaper"))
    refresh_due_feeds(db)
    with db() as s:  # an article published five days on moves the stream past the story's quiet period
        closed = cluster_new_articles(s, now=NOW + timedelta(days=5))
        assert closed.closed == 1
        statuses = dict(s.execute(select(Story.title, Story.status)).all())
        assert sorted(statuses.values()) == ["closed", "open"]


def test_quiet_period_is_a_setting(db, feed_server, monkeypatch):
    monkeypatch.setenv("STORYDIFF_FULLTEXT", "0")
    monkeypatch.setenv("STORYDIFF_STORY_QUIET_HOURS", "1")
    item = [
        {
            "title": "Volcano erupts near Grindavik",
            "link": "http://v.example/1",
            "guid": "v1",
            "date": "Tue, 21 Oct 2025 08:00:00 +0000",
            "description": "Lava.",
        }
    ]
    item.append(
        {
            "title": "Parliament passes the harbour budget",
            "link": "http://v.example/2",
            "guid": "v2",
            "date": "Tue, 21 Oct 2025 10:00:00 +0000",
            "description": "Budget.",
        }
    )
    with db.begin() as s:
        add_feed(s, FeedSpec(feed_server.add("/v", rss(item)), "V", "wire"))
    refresh_due_feeds(db)
    with db() as s:  # two hours of published time pass a one-hour quiet period: the volcano story closes
        run = cluster_new_articles(s, now=datetime(2026, 1, 1, tzinfo=UTC))
        assert run.new_stories == 2 and run.closed == 1


def test_a_backlog_months_old_clusters_as_it_did_when_fresh(db, feed_server, monkeypatch):
    """Event time: the demo's articles clustered months after they were published, feed by feed
    (one clustering run per feed, the others held back as articles still waiting, as a worker
    sees them), give the partition they give when clustered on the day — no story is closed by
    the wall clock between two feeds."""
    monkeypatch.setenv("STORYDIFF_FULLTEXT", "0")
    server = DemoFeedServer().start()
    try:
        with db.begin() as s:
            add_demo_feeds(s, server.base_url)
        with db() as s:
            feed_ids = list(s.scalars(select(Feed.id).order_by(Feed.id)))
        refresh_due_feeds(db, feed_ids)
    finally:
        server.stop()

    def partition_after(now: datetime) -> set[frozenset[str]]:
        with db.begin() as s:
            s.execute(delete(StoryArticle))
            s.execute(delete(Story))
        for feed_id in feed_ids:
            with db.begin() as s:
                ids = s.scalars(select(ArticleFeed.article_id).where(ArticleFeed.feed_id == feed_id)).all()
                s.execute(update(Article).where(Article.id.not_in(ids)).values(needs_fulltext=True))
            with db() as s:
                cluster_new_articles(s, now=now)
            with db.begin() as s:
                s.execute(update(Article).values(needs_fulltext=False))
        with db() as s:
            cluster_new_articles(s, now=now)
            rows = s.execute(select(StoryArticle.story_id, Article.url).join(Article)).all()
        stories: dict[int, set[str]] = {}
        for story_id, url in rows:
            stories.setdefault(story_id, set()).add(url)
        return {frozenset(urls) for urls in stories.values()}

    fresh = partition_after(NOW)
    assert partition_after(datetime(2026, 6, 1, tzinfo=UTC)) == fresh
    assert max(len(urls) for urls in fresh) >= 5  # the multi-outlet demo story held together


def test_one_clustering_run_takes_every_pending_article_batch_by_batch(db, monkeypatch):
    """A backlog larger than a batch is clustered in one call, batch after batch, with no remainder
    left for the next run (the batch is made tiny here so the demo's articles span several)."""
    from storydiff.compare import run as cluster_run

    monkeypatch.setenv("STORYDIFF_FULLTEXT", "0")
    monkeypatch.setattr(cluster_run, "BATCH", 4)
    server = DemoFeedServer().start()
    try:
        with db.begin() as s:
            add_demo_feeds(s, server.base_url)
        refresh_due_feeds(db)
    finally:
        server.stop()
    with db() as s:
        total = s.scalar(select(func.count()).select_from(Article))
        run = cluster_new_articles(s, now=NOW)
        assert total > 3 * 4 and run.articles == total
        assert s.scalar(select(func.count()).select_from(StoryArticle)) == total


def test_the_stories_page_counts_in_one_statement_equal_the_separate_queries(db):
    """page_counts (one round trip for the home page) answers what stats, outlet_names and
    count_below answer, on both databases, for every outlets filter."""
    from storydiff.compare.store_reports import compare_story
    from storydiff.store.stories import count_below, outlet_names, page_counts

    ingest_demo(db, compare=False)
    with db() as s:
        story_ids = s.scalars(select(Story.id)).all()
        for story_id in story_ids[: len(story_ids) // 2]:  # some stories without a report yet
            compare_story(s, story_id)
        s.add(Outlet(name="aardvark wire", kind="wire", country="XX"))  # lower case sorts as the database sorts
        s.add(Outlet(name="Écho du Port", kind="newspaper", country="XX"))  # and so does an accented letter
        s.commit()
    with db() as s:
        assert len(outlet_names(s)) > 5
        for min_outlets in (1, 2, 3, 7):
            counts = page_counts(s, min_outlets)
            assert counts.stats == stats(s)
            assert counts.outlets == outlet_names(s)
            assert counts.hidden == count_below(s, min_outlets)
        assert page_counts(s, 2).hidden > 0 and page_counts(s, 1).hidden == 0
