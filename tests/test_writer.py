"""The article writer (ingest/writer.py) fed parsed items directly: no HTTP, a real database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from storydiff.ingest import neardup
from storydiff.ingest.feeds import FeedSpec, add_feed
from storydiff.ingest.items import Item
from storydiff.ingest.writer import BUCKET_CANDIDATES, store_items
from storydiff.store.models import Article, ArticleFeed, Feed, Version

NOW = datetime(2025, 10, 22, 12, 0, tzinfo=UTC)
WIRE = (
    "Port workers in the northern harbour walked out on Tuesday after talks over night-shift pay broke "
    "down, leaving eleven container ships waiting offshore, the union's regional secretary told reporters."
)


def item(n: int, body: str = "", url: str | None = None, **kw) -> Item:
    body = body or f"Short item number {n} about something else entirely."
    fields: dict = dict(
        entry_id=f"guid-{n}",
        url=url if url is not None else f"https://news.example/{n}",
        title=f"Harbour strike {n}",
        summary=body,
        content="",
        published=NOW - timedelta(hours=n),
        published_flag=None,
        language="en",
        author=None,
    )
    fields.update(kw)
    sig = neardup.signature(f"{fields['title']}\n{fields['summary']}")  # as the parser computes it
    return Item(**fields, minhash=neardup.to_bytes(sig) if sig is not None else None)


def make_feed(session, url: str, outlet: str) -> Feed:
    return add_feed(session, FeedSpec(url, outlet, "wire"))[0]


@pytest.mark.postgres
def test_it_stores_new_items_once_and_is_idempotent(db):
    with db.begin() as s:
        feed = make_feed(s, "https://a.example/rss", "A")
        first = store_items(s, feed, [item(1), item(2)], NOW)
        again = store_items(s, feed, [item(1), item(2)], NOW + timedelta(minutes=5))
    assert (first.new, first.updated, first.unchanged) == (2, 0, 0)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)
    with db() as s:
        assert s.scalar(select(func.count()).select_from(Article)) == 2
        assert s.scalar(select(func.count()).select_from(Version)) == 2


@pytest.mark.postgres
def test_it_keeps_an_edit_as_a_new_version(db):
    with db.begin() as s:
        feed = make_feed(s, "https://a.example/rss", "A")
        store_items(s, feed, [item(1)], NOW)
        edited = store_items(s, feed, [replace(item(1), summary="Corrected: twelve ships wait offshore.")], NOW)
    assert (edited.new, edited.updated) == (0, 1)
    with db() as s:
        seqs = s.execute(select(Version.seq, Version.summary).order_by(Version.seq)).all()
    assert [q for q, _ in seqs] == [1, 2] and "twelve ships" in seqs[1][1]


@pytest.mark.postgres
def test_it_links_one_url_from_two_feeds_to_one_article(db):
    with db.begin() as s:
        a = make_feed(s, "https://a.example/rss", "A")
        b = make_feed(s, "https://b.example/rss", "A")
        store_items(s, a, [item(1)], NOW)
        seen = store_items(s, b, [replace(item(1), entry_id="other-guid")], NOW)
    assert seen.new == 0
    with db() as s:
        assert s.scalar(select(func.count()).select_from(Article)) == 1
        assert s.scalar(select(func.count()).select_from(ArticleFeed)) == 2


@pytest.mark.postgres
def test_it_points_a_wire_copy_at_the_earliest_article(db):
    copy_text = WIRE.replace("told reporters", "told reporters on the quay")
    with db.begin() as s:
        wire = make_feed(s, "https://wire.example/rss", "Wire")
        paper = make_feed(s, "https://paper.example/rss", "Paper")
        store_items(s, wire, [item(1, WIRE, title="Harbour strike", published=NOW - timedelta(hours=3))], NOW)
        later = NOW - timedelta(hours=1)
        store_items(
            s,
            paper,
            [item(2, copy_text, url="https://paper.example/strike", title="Harbour strike", published=later)],
            NOW,
        )
        store_items(s, paper, [item(3, url="https://paper.example/other")], NOW)
    with db() as s:
        by_url = {a.url: a for a in s.scalars(select(Article))}
    original = by_url["https://news.example/1"]
    assert original.original_id is None
    assert by_url["https://paper.example/strike"].original_id == original.id
    assert by_url["https://paper.example/other"].original_id is None


@pytest.mark.postgres
def test_a_story_run_by_more_sites_than_a_bucket_is_read_for_still_forms_one_tree(db):
    many = BUCKET_CANDIDATES * 2 + 3  # more stored copies than a new article is compared with
    with db.begin() as s:
        feeds = [make_feed(s, f"https://site{k}.example/rss", f"Site {k}") for k in range(many + 1)]
        for k in range(many):  # one copy a site, each published after the one before
            published = NOW - timedelta(hours=100 - k)
            store_items(
                s, feeds[k], [item(10 + k, WIRE, url=f"https://site{k}.example/strike", published=published)], NOW
            )
        # the wire's own text arrives last but was published first: every stored copy now points at it
        store_items(
            s,
            feeds[many],
            [item(1, WIRE, url="https://wire.example/strike", published=NOW - timedelta(hours=200))],
            NOW,
        )
    with db() as s:
        by_url = {a.url: a for a in s.scalars(select(Article))}
    original = by_url["https://wire.example/strike"]
    assert original.original_id is None
    assert all(by_url[f"https://site{k}.example/strike"].original_id == original.id for k in range(many))


@pytest.mark.postgres
def test_it_stores_an_item_without_url_under_its_entry_id(db):
    with db.begin() as s:
        feed = make_feed(s, "https://a.example/rss", "A")
        store_items(s, feed, [replace(item(1), url=None)], NOW)
    with db() as s:
        (key,) = s.scalars(select(Article.key)).all()
    assert key.startswith("entry:") and key.endswith(":guid-1")


def test_a_worker_parse_signed_by_the_storing_process_equals_a_parse_in_one_process(shared_data):
    """A parse worker hashes the shingles without numpy (sign=False) and the storing process turns
    them into signatures: the items are those a parse in one process gives, signatures included."""
    from storydiff.ingest.parse import parse_feed
    from storydiff.ingest.parsepool import signed

    at = datetime(2025, 10, 22, tzinfo=UTC)
    compared = signatures = 0
    for path in sorted((shared_data / "rss-feeds-real").rglob("*.xml"))[:40]:
        body = path.read_bytes()
        whole = parse_feed(body, "application/rss+xml", "http://feeds.example/f.xml", at)
        split = parse_feed(body, "application/rss+xml", "http://feeds.example/f.xml", at, sign=False)
        assert all(i.minhash is None and i.shingles is not None for i in split.items)
        assert signed(split) == whole
        compared += len(whole.items)
        signatures += sum(i.minhash is not None for i in whole.items)
    assert compared > 300 and signatures > 0.8 * compared


def test_signatures_are_datasketch_minhash_bit_for_bit(shared_data):
    """neardup computes datasketch's MinHash (affine32, 64 permutations, seed 7) itself so that the
    parse workers need not import datasketch (scipy, redis): the signatures stored before must match."""
    import feedparser
    import numpy as np
    from datasketch import MinHash

    ds = MinHash(num_perm=neardup.NUM_PERM, seed=neardup.SEED)
    texts = []
    for path in sorted((shared_data / "rss-feeds-real").rglob("*.xml")):
        for entry in feedparser.parse(path.read_bytes()).entries:
            texts.append(f"{entry.get('title', '')}\n{entry.get('summary', '')}")
    compared = 0
    for text in [WIRE, *texts]:
        ours = neardup.signature(text)
        hashes = neardup.shingle_hashes(text)
        if len(hashes) < neardup.MIN_SHINGLES:
            assert ours is None
            continue
        theirs = MinHash(num_perm=neardup.NUM_PERM, hashfunc=int, permutations=ds.permutations, scheme=ds.scheme)
        theirs.update_batch(hashes.tolist())
        assert ours is not None and ours.dtype == np.uint64
        assert np.array_equal(ours, theirs.hashvalues.astype(np.uint64))
        compared += 1
    assert compared > 500
