"""Story search on real SQLite and PostgreSQL: the terms a story is found by, the ranking, the
index kept current by the clusterer (new members, merges), by report recomputation (edited
articles), rebuilt by reindex and backfilled by migration 0005, and ranked pages."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import delete, func, select

from storydiff.compare.cluster import ClusterConfig
from storydiff.compare.run import cluster_new_articles
from storydiff.compare.search_index import index_stories, reindex
from storydiff.compare.store_reports import compare_stale_stories
from storydiff.errors import InvalidInput
from storydiff.ingest.feeds import FeedSpec, add_feed
from storydiff.ingest.refresh import refresh_due_feeds
from storydiff.store.db import MIGRATIONS_DIR
from storydiff.store.models import Article, Story, StoryArticle, StoryRedirect, StoryTerm, Version
from storydiff.store.search import Member, normalise, parse_query, story_terms, tokenize
from storydiff.store.stories import StoryFilter, list_stories
from tests.demo_story import ingest_demo
from tests.feedserver import rss

NOW = datetime(2025, 10, 22, 12, 0, tzinfo=UTC)
APART = ClusterConfig(join_threshold=0.99, merge_threshold=2.0)  # every article its own story


def search(session, q, **kw):
    kw.setdefault("min_outlets", 1)  # stories of one outlet too (the lists' default hides them)
    page, _ = list_stories(session, StoryFilter(q=q, **kw), limit=50)
    return [s["id"] for s in page]


def publish(db, feed_server, path, outlet, items, config=None):
    """Serve ``items`` as an RSS feed of ``outlet``, ingest it and cluster: the real pipeline."""
    entries = [
        {
            "title": title,
            "link": f"http://{path.strip('/')}.example/{n}",
            "guid": f"{path}{n}",
            "date": "Tue, 21 Oct 2025 08:00:00 +0000",
            "description": lead,
        }
        for n, (title, lead) in enumerate(items)
    ]
    with db.begin() as s:
        add_feed(s, FeedSpec(feed_server.add(path, rss(entries)), outlet, "newspaper"))
    refresh_due_feeds(db)
    with db() as s:
        return cluster_new_articles(s, config, now=NOW)


def story_of(session, title_start):
    return session.scalar(select(Story.id).where(Story.title.like(f"{title_start}%")))


def test_words_are_folded_and_stripped_of_plurals_and_possessives():
    assert [normalise(w) for w in ("Lavrov's", "Lavrov’s", "ZÜRICH", "São", "countries", "talks", "crisis")] == [
        "lavrov",
        "lavrov",
        "zurich",
        "sao",
        "country",
        "talk",
        "crisis",
    ]
    assert [t.term for t in tokenize("The U.S.-Russia foreign ministers' meeting, on hold!") if t.term] == [
        "us",
        "russia",
        "foreign",
        "minister",
        "meeting",
        "hold",
    ]


def test_titles_weigh_more_than_leads_and_names_in_leads_are_phrases():
    terms = story_terms(
        "Budapest summit plans stall",
        [
            Member(
                "Budapest summit plans stall", "Talks with Foreign Minister Sergei Lavrov were put off.", "Danube Daily"
            )
        ],
    )
    assert terms["budapest"] > terms["lavrov"] > terms["talk"]  # title > a name in the lead > a lead word
    assert {"~sergei lavrov", "~foreign minister", "~budapest summit", "~danube daily", "danube"} <= set(terms)
    assert "~talk foreign" not in terms  # "Talks" starts the sentence: not part of the name
    shouted = story_terms("x", [Member("x", "Talks With Foreign Minister Sergei Lavrov Were Put Off", "O")])
    assert "~sergei lavrov" not in shouted  # title case says nothing about names


def test_a_query_without_searchable_words_is_refused_clearly():
    with pytest.raises(InvalidInput, match="only common words"):
        parse_query("the of and")
    with pytest.raises(InvalidInput, match="no words to search for"):
        parse_query("?! -- …")
    with pytest.raises(InvalidInput, match="at most 10"):
        parse_query("one two three four five six seven eight nine ten eleven")
    query = parse_query("Sergei Lavrov's")
    assert query.words == ("sergei", "lavrov") and query.phrases == ("~sergei lavrov",)
    assert query.prefix == ("lavrov", "lavrov")
    assert parse_query("in US").prefix is None  # too short to be an unfinished word
    with pytest.raises(InvalidInput, match="sort=relevance ranks the results of a search"):
        StoryFilter(sort="relevance").check()
    assert StoryFilter(q="lavrov").check().sort == "relevance" and StoryFilter().check().sort == "updated"
    assert StoryFilter(q="lavrov", sort="score").check().sort == "score"


def test_the_demo_story_is_found_by_names_places_and_outlets(db):
    story_id = ingest_demo(db, compare=False)
    with db() as s:
        for q in ("lavrov", "rubio", "budapest", "northwind", "LAVROV", "Lavrov’s", "lavr",
                  "Sergei Lavrov", "Budapést", "US-Russia", "ministers' meeting", "peskov kremlin"):  # fmt: skip
            found = search(s, q)
            assert found and found[0] == story_id, (q, found)
        assert story_id in search(s, "Danube Daily") and story_id in search(s, "courier wire")  # outlets
        assert search(s, "lavrov penguins") == [] and search(s, "penguins") == []
        assert search(s, "lavrov", outlet="Danube Daily") == [story_id]
        assert search(s, "lavrov", since=NOW + timedelta(days=30)) == []
        page, _ = list_stories(s, StoryFilter(q="northwind", min_outlets=1), limit=50)
        assert page[0]["relevance"] > page[1]["relevance"]  # named in its text, not only its outlet
        for q, message in (("the", "only common words"), ("!!!", "no words")):
            with pytest.raises(InvalidInput, match=message):
                list_stories(s, StoryFilter(q=q, min_outlets=1))


def test_a_title_ranks_above_a_lead_regardless_of_case_accents_and_possessives(db, feed_server, monkeypatch):
    monkeypatch.setenv("STORYDIFF_FULLTEXT", "0")
    items = [
        ("Farmers count losses after a dry summer", "Cattle were moved to pastures near Zürich's lakes."),
        ("Glacier collapse in Zürich canton closes a valley road", "Rescue teams searched the valley."),
        ("Central bank holds rates", "Inflation slowed in September."),
    ]
    publish(db, feed_server, "/a", "Alpine Post", items, APART)
    with db() as s:
        glacier, farmers = story_of(s, "Glacier"), story_of(s, "Farmers")
        for q in ("zurich", "ZÜRICH", "Zurich's", "zürich"):
            assert search(s, q) == [glacier, farmers], q
        assert search(s, "zurich cattle") == [farmers]  # every word required
        assert search(s, "zurich", sort="updated") == sorted([glacier, farmers], reverse=True)  # same time: by id
        assert len(search(s, "alpine post")) == 3  # the outlet's name


def test_new_members_edits_and_merges_keep_the_index_current(db, feed_server, monkeypatch):
    monkeypatch.setenv("STORYDIFF_FULLTEXT", "0")
    publish(db, feed_server, "/x", "Xanadu Times", [("Budapest summit Lavrov Rubio", "Talks near Ankara."),
                                          ("Budapest summit Lavrov Rubio talks", "Envoys met in Oslo.")], APART)  # fmt: skip
    with db() as s:
        first, second = search(s, "ankara"), search(s, "oslo")
        assert len(first) == 1 and len(second) == 1 and first != second
        assert search(s, "tromso") == []
    run = publish(
        db,
        feed_server,
        "/y",
        "Yonder Gazette",
        [("Budapest summit Lavrov Rubio meeting", "A delegation flew from Tromsø.")],
    )
    assert run.merged == 1
    with db() as s:
        survivor = s.scalar(select(Story.id))
        gone = s.scalar(select(StoryRedirect.from_id))
        # the absorbed story's words now find the survivor, the new member's words too
        for q in ("ankara", "oslo", "tromso", "budapest lavrov", "yonder"):
            assert search(s, q) == [survivor], q
        assert s.scalar(select(func.count()).select_from(StoryTerm).where(StoryTerm.story_id == gone)) == 0
        article = s.scalar(select(Article).where(Article.url == "http://y.example/0"))
        old = s.scalar(select(Version).where(Version.article_id == article.id))
        s.add(Version(article_id=article.id, seq=2, title="Budapest summit Lavrov Rubio meeting postponed",
                      summary="A delegation flew from Reykjavik.", text="A delegation flew from Reykjavik.",
                      text_source="feed", content_hash="edited", fetched_at=old.fetched_at + timedelta(hours=1)))  # fmt: skip
        s.commit()
        assert search(s, "reykjavik") == []  # not before the story is recomputed …
        assert survivor in compare_stale_stories(s)
        assert search(s, "reykjavik") == [survivor] and search(s, "postponed") == [survivor]
        assert search(s, "tromso") == []  # … and the replaced lead is forgotten


def test_ranked_pages_have_no_duplicates_or_gaps_and_cursors_belong_to_their_search(db, feed_server, monkeypatch):
    monkeypatch.setenv("STORYDIFF_FULLTEXT", "0")
    items = [
        (
            f"Harbour {'strike' if n % 3 else 'talks'} day {n} in Rotterdam",
            f"Dockers at pier {n} {'strike' if n % 2 else 'wait'} as {n * 7} ships queue, crews counted {n * 13}.",
        )
        for n in range(23)
    ]
    publish(db, feed_server, "/h", "Harbour Herald", items, APART)
    with db() as s:
        everything, _ = list_stories(s, StoryFilter(q="strike", min_outlets=1), limit=100)
        assert len(everything) == 19  # a word in the title or the lead
        scores = [(p["relevance"], p["id"]) for p in everything]
        assert scores == sorted(scores, reverse=True) and len(set(p["relevance"] for p in everything)) > 1
        for limit in (1, 4, 7):
            seen, cursor = [], None
            while True:
                page, cursor = list_stories(s, StoryFilter(q="strike", min_outlets=1), limit=limit, cursor=cursor)
                seen += page
                if not cursor:
                    break
            assert [p["id"] for p in seen] == [p["id"] for p in everything], limit
        _, cursor = list_stories(s, StoryFilter(q="strike", min_outlets=1), limit=4)
        with pytest.raises(InvalidInput, match="cursor is not valid"):
            list_stories(s, StoryFilter(q="harbour", min_outlets=1), limit=4, cursor=cursor)
        with pytest.raises(InvalidInput, match="cursor is not valid"):
            list_stories(s, StoryFilter(q="strike", sort="updated", min_outlets=1), limit=4, cursor=cursor)
        by_time, cursor = list_stories(s, StoryFilter(q="strike", sort="updated", min_outlets=1), limit=10)
        rest, _ = list_stories(s, StoryFilter(q="strike", sort="updated", min_outlets=1), limit=10, cursor=cursor)
        assert {p["id"] for p in by_time + rest} == {p["id"] for p in everything} and "relevance" not in rest[0]


def _index(session):
    return sorted(session.execute(select(StoryTerm.story_id, StoryTerm.term, StoryTerm.weight)).all())


def test_reindex_rebuilds_and_migration_0005_backfills_the_same_index(db):
    ingest_demo(db, compare=False)
    with db() as s:
        built = _index(s)
        assert len(built) > 500
        s.execute(delete(StoryTerm))
        s.add(StoryTerm(story_id=s.scalar(select(Story.id)), term="stale", weight=1))
        s.commit()
        assert reindex(s) == (s.scalar(select(func.count()).select_from(Story)), len(built))
        assert _index(s) == built
        story_id = s.scalar(select(StoryArticle.story_id))
        assert index_stories(s, [story_id]) == sum(row.story_id == story_id for row in built)
        s.commit()
    engine = db.kw["bind"]
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0004")
    finally:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    with db() as s:
        assert _index(s) == built


def test_two_transactions_indexing_one_story_take_turns(db):
    """A report and a clustering run may index the same story at once: the second waits for the first
    (the story's row is locked) instead of inserting the same rows twice."""
    story_id = ingest_demo(db, compare=False)
    with db() as s:
        built = _index(s)
    first = db()
    index_stories(first, [story_id])  # holds the story's row until it commits
    outcome: list[object] = []

    def second() -> None:
        with db() as s:
            try:
                outcome.append(index_stories(s, [story_id]))
                s.commit()
            except Exception as exc:  # reported below
                outcome.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(1.0)
    assert thread.is_alive() and outcome == []  # waiting for the first writer
    first.commit()
    first.close()
    thread.join(30)
    assert len(outcome) == 1 and isinstance(outcome[0], int), outcome
    with db() as s:
        assert _index(s) == built
