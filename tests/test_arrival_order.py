"""Arrival order does not change the stories: real events (BASIL, three outlets in full text, day-only
dates) moved close together so that they interleave over a week, stored once, then made to "arrive"
in different orders — feed by feed, the feeds reversed, shuffled into random batches, all at once —
with a clustering run after each arrival. Every order gives the same partition, on SQLite and
PostgreSQL (articles that have not arrived yet are held back as waiting for their full text, as a
worker sees them)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select, update

from storydiff.compare.cluster import ClusterConfig, OnlineClusterer
from storydiff.compare.run import _docs, cluster_new_articles
from storydiff.evals.cluster import bcubed
from storydiff.evals.divergences import load_basil
from storydiff.ingest import neardup
from storydiff.ingest.feeds import FeedSpec, add_feed
from storydiff.ingest.items import Item
from storydiff.ingest.writer import store_items
from storydiff.store.models import Article, Story, StoryArticle, StoryRedirect

EVENTS = 15
DAY0 = datetime(2025, 3, 3, tzinfo=UTC)
NOW = DAY0 + timedelta(days=30)


def _items(data: Path) -> dict[str, list[tuple[Item, str]]]:
    """Per outlet: its articles of the first EVENTS events as parsed items, with the event id. Event k
    starts on day k // 3 (three events a day, a week in all); each article keeps its day offset
    from the event's first article (0–2 days)."""
    events = sorted(load_basil(data / "basil-dev"), key=lambda e: e.id)[:EVENTS]
    out: dict[str, list[tuple[Item, str]]] = {}
    for k, event in enumerate(events):
        first = min(a.published for a in event.articles)
        for a in event.articles:
            published = DAY0 + timedelta(days=k // 3) + (a.published - first)
            sig = neardup.signature(f"{a.title}\n{a.text[:500]}")
            item = Item(
                entry_id=a.id,
                url=f"https://{a.outlet.lower().replace(' ', '')}.example/{a.id}",
                title=a.title,
                summary=a.text[:300],
                content=a.text,
                published=published,
                published_flag=None,
                language="en",
                author=None,
                minhash=neardup.to_bytes(sig) if sig is not None else None,
            )
            out.setdefault(a.outlet, []).append((item, event.id))
    return out


def test_any_arrival_order_gives_the_same_stories(db, shared_data, monkeypatch):
    monkeypatch.setenv("STORYDIFF_FULLTEXT", "0")
    by_outlet = _items(shared_data)
    gold: dict[str, str] = {}
    with db.begin() as s:
        for outlet, items in sorted(by_outlet.items()):
            feed, _ = add_feed(
                s, FeedSpec(f"https://{outlet.lower().replace(' ', '')}.example/feed", outlet, "newspaper")
            )
            store_items(s, feed, [i for i, _ in items], NOW)
            gold.update({i.url: event for i, event in items})
    with db() as s:
        stored = s.scalars(select(Article)).all()
        url_of = {a.id: a.url for a in stored}
        outlet_of = {a.id: a.url.split("/")[2] for a in stored}  # the host names the outlet
        newest_first = [a.id for a in sorted(stored, key=lambda a: (a.published, a.id), reverse=True)]
    feeds = sorted(set(outlet_of.values()))
    rng = random.Random(11)
    shuffled = sorted(url_of)
    rng.shuffle(shuffled)
    cuts = sorted(rng.sample(range(1, len(shuffled)), 4))
    orders = {
        "all at once": [sorted(url_of)],
        "feed by feed": [[a for a in url_of if outlet_of[a] == f] for f in feeds],
        "feeds reversed": [[a for a in url_of if outlet_of[a] == f] for f in reversed(feeds)],
        "shuffled batches": [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)],
        "newest first, one at a time": [[a] for a in newest_first],
    }

    def partition(arrivals: list[list[int]]) -> set[frozenset[str]]:
        with db.begin() as s:
            s.execute(delete(StoryRedirect))
            s.execute(delete(StoryArticle))
            s.execute(delete(Story))
            s.execute(update(Article).values(needs_fulltext=True))  # nothing has arrived yet
        for batch in arrivals:
            with db.begin() as s:
                s.execute(update(Article).where(Article.id.in_(batch)).values(needs_fulltext=False))
            with db() as s:
                cluster_new_articles(s, now=NOW)
        with db() as s:
            rows = s.execute(select(StoryArticle.story_id, StoryArticle.article_id)).all()
        stories: dict[int, set[str]] = {}
        for story_id, article_id in rows:
            stories.setdefault(story_id, set()).add(url_of[article_id])
        assert sum(map(len, stories.values())) == len(url_of)  # every article in exactly one story
        return {frozenset(urls) for urls in stories.values()}

    results = {name: partition(arrivals) for name, arrivals in orders.items()}
    reference = results["all at once"]
    for name, result in results.items():
        assert result == reference, f"{name}: {len(result)} stories, all at once: {len(reference)}"
    # and they are the stories the pure clusterer makes of the same articles in published order
    with db() as s:
        ordered = sorted(s.scalars(select(Article)).all(), key=lambda a: (a.published, a.id))
        docs = list(_docs(s, ordered))
    assert [d.id for d in docs] == [a.id for a in ordered]
    clusterer = OnlineClusterer(ClusterConfig())
    assignments = clusterer.add_all(docs)
    pure: dict[int, set[str]] = {}
    for a in assignments:
        pure.setdefault(clusterer.final_id(clusterer.story_of[a.doc_id]), set()).add(url_of[a.doc_id])
    assert reference == {frozenset(urls) for urls in pure.values()}
    urls = sorted(gold)
    story_of = {u: n for n, story in enumerate(reference) for u in story}
    print(f"B3 F1 against the events: {bcubed([story_of[u] for u in urls], [gold[u] for u in urls])[2]:.3f}")
