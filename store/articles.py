"""Storing parsed feed items: dedup by entry and canonical URL, versions on edits, and
linking near-duplicate wire copies to the earliest copy. Batched: a few queries per feed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

import settings
from ingest import neardup
from ingest.parse import Item
from store.models import Article, ArticleBand, ArticleFeed, Feed, Version

CHUNK = 500  # ids per IN (...) query


@dataclass
class StoreCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    new_article_ids: list[int] = field(default_factory=list)
    updated_article_ids: list[int] = field(default_factory=list)


def content_hash(item: Item) -> str:
    return hashlib.sha256(f"{item.title}\x00{item.summary}\x00{item.content}".encode()).hexdigest()


def article_key(feed_id: int, item: Item) -> str:
    return item.url or f"entry:{feed_id}:{item.entry_id}"


def _chunks(values: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _latest_versions(session: Session, article_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    """article id → (seq, content hash) of its newest version."""
    out: dict[int, tuple[int, str]] = {}
    for chunk in _chunks(list(article_ids)):
        newest = (
            select(Version.article_id, func.max(Version.seq).label("seq"))
            .where(Version.article_id.in_(chunk))
            .group_by(Version.article_id)
            .subquery()
        )
        rows = session.execute(
            select(Version.article_id, Version.seq, Version.content_hash).join(
                newest, (Version.article_id == newest.c.article_id) & (Version.seq == newest.c.seq)
            )
        )
        out.update({aid: (seq, digest) for aid, seq, digest in rows})
    return out


def _version_row(article_id: int, seq: int, item: Item, digest: str, now: datetime, fulltext: bool) -> dict:
    return {
        "article_id": article_id,
        "seq": seq,
        "title": item.title,
        "summary": item.summary,
        "text": item.body,
        "text_source": "feed" if item.content and not fulltext else "summary",
        "content_hash": digest,
        "fetched_at": now,
    }


def store_items(session: Session, feed: Feed, items: Sequence[Item], now: datetime) -> StoreCounts:
    """Insert or update the feed's items. Idempotent: the same items again change nothing."""
    counts = StoreCounts()
    fulltext_on = settings.get_bool("STORYDIFF_FULLTEXT")
    min_chars = settings.get_int("STORYDIFF_FULLTEXT_MIN_CHARS")
    by_entry: dict[str, int] = {}
    for chunk in _chunks([i.entry_id for i in items]):
        by_entry.update(
            session.execute(
                select(ArticleFeed.entry_id, ArticleFeed.article_id).where(
                    ArticleFeed.feed_id == feed.id, ArticleFeed.entry_id.in_(chunk)
                )
            ).all()
        )
    unlinked = [i for i in items if i.entry_id not in by_entry]
    by_key: dict[str, int] = {}
    for chunk in _chunks([article_key(feed.id, i) for i in unlinked]):
        by_key.update(session.execute(select(Article.key, Article.id).where(Article.key.in_(chunk))).all())

    links: list[dict] = []
    fresh: list[Item] = []
    for item in unlinked:
        article_id = by_key.get(article_key(feed.id, item))
        if article_id is None:
            fresh.append(item)
        else:  # same canonical URL from another feed: one article, linked to both
            by_entry[item.entry_id] = article_id
            links.append({"feed_id": feed.id, "article_id": article_id, "entry_id": item.entry_id, "first_seen": now})

    latest = _latest_versions(session, list(set(by_entry.values())))
    versions: list[dict] = []
    for item in items:
        article_id = by_entry.get(item.entry_id)
        if article_id is None:
            continue
        digest = content_hash(item)
        seq, old = latest.get(article_id, (0, ""))
        if digest == old:
            counts.unchanged += 1
            continue
        latest[article_id] = (seq + 1, digest)
        versions.append(_version_row(article_id, seq + 1, item, digest, now, False))
        counts.updated += 1
        counts.updated_article_ids.append(article_id)

    seen_keys: set[str] = set()
    fresh = [i for i in fresh if not (article_key(feed.id, i) in seen_keys or seen_keys.add(article_key(feed.id, i)))]
    if fresh:
        sigs = [neardup.signature(f"{i.title}\n{i.body}") for i in fresh]
        wants_fulltext = [fulltext_on and bool(i.url) and len(i.body) < min_chars for i in fresh]
        rows = [
            {
                "key": article_key(feed.id, i),
                "url": i.url,
                "outlet_id": feed.outlet_id,
                "first_seen": now,
                "published": i.published,
                "published_flag": i.published_flag,
                "language": i.language,
                "minhash": neardup.to_bytes(s) if s is not None else None,
                "needs_fulltext": wants,
            }
            for i, s, wants in zip(fresh, sigs, wants_fulltext, strict=True)
        ]
        session.connection().execute(Article.__table__.insert(), rows)  # executemany, no per-row RETURNING
        id_of: dict[str, int] = {}
        for chunk in _chunks([r["key"] for r in rows]):
            id_of.update(session.execute(select(Article.key, Article.id).where(Article.key.in_(chunk))).all())
        ids = [id_of[r["key"]] for r in rows]
        for article_id, item, wants in zip(ids, fresh, wants_fulltext, strict=True):
            links.append({"feed_id": feed.id, "article_id": article_id, "entry_id": item.entry_id, "first_seen": now})
            versions.append(_version_row(article_id, 1, item, content_hash(item), now, wants))
        counts.new = len(ids)
        counts.new_article_ids = ids
        link_copies(session, {a: s for a, s in zip(ids, sigs, strict=True) if s is not None})
    if links:
        session.connection().execute(ArticleFeed.__table__.insert(), links)
    if versions:
        session.connection().execute(Version.__table__.insert(), versions)
    return counts


def link_copies(session: Session, sigs: dict[int, object]) -> None:
    """Store LSH buckets of new articles and point every near-duplicate at the earliest copy."""
    if not sigs:
        return
    threshold = settings.get_float("STORYDIFF_NEARDUP_THRESHOLD")
    band_rows = [
        {"article_id": aid, "band": band, "bucket": bucket}
        for aid, sig in sigs.items()
        for band, bucket in enumerate(neardup.band_buckets(sig))  # type: ignore[arg-type]
    ]
    session.connection().execute(ArticleBand.__table__.insert(), band_rows)
    pairs: set[tuple[int, int]] = set()
    owner = {(r["bucket"], r["article_id"]) for r in band_rows}
    for chunk in _chunks(sorted({r["bucket"] for r in band_rows})):
        rows = session.execute(select(ArticleBand.bucket, ArticleBand.article_id).where(ArticleBand.bucket.in_(chunk)))
        by_bucket: dict[int, list[int]] = {}
        for bucket, aid in rows:
            by_bucket.setdefault(bucket, []).append(aid)
        for bucket, members in by_bucket.items():
            if len(members) < 2:
                continue
            for new_id in (m for m in members if (bucket, m) in owner):
                pairs.update((new_id, other) for other in members if other != new_id)
    if not pairs:
        return
    others = {o for _, o in pairs}
    info = _copy_info(session, others | set(sigs))
    info.update(_copy_info(session, {v[0] for v in info.values() if v[0] is not None} - set(info)))
    for new_id, other in sorted(pairs):
        if other not in info or info[other][2] is None:
            continue
        score = neardup.similarity(sigs[new_id], neardup.from_bytes(info[other][2]))  # type: ignore[arg-type]
        if score < threshold:
            continue
        group = {new_id, other}
        group.update(x for x in (info[new_id][0], info[other][0]) if x is not None)
        root = min(group, key=lambda a: (info[a][1], a))
        members = group - {root}
        session.execute(
            update(Article)
            .where((Article.id.in_(members)) | (Article.original_id.in_(members)))
            .where(Article.id != root)
            .values(original_id=root)
        )
        session.execute(update(Article).where(Article.id == new_id).values(copy_similarity=score))
        session.execute(update(Article).where(Article.id == root).values(original_id=None))
        for aid in group:
            if aid in info:
                info[aid] = (None if aid == root else root, info[aid][1], info[aid][2])


def _copy_info(session: Session, ids: set[int]) -> dict[int, tuple[int | None, datetime, bytes | None]]:
    """article id → (original id, published, MinHash bytes)."""
    out: dict[int, tuple[int | None, datetime, bytes | None]] = {}
    for chunk in _chunks(sorted(ids)):
        rows = session.execute(
            select(Article.id, Article.original_id, Article.published, Article.minhash).where(Article.id.in_(chunk))
        )
        out.update({aid: (orig, published, raw) for aid, orig, published, raw in rows})
    return out
