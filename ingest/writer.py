"""Storing parsed feed items: dedup by entry and canonical URL, versions on edits, and
linking near-duplicate wire copies to the earliest copy. Batched: a few queries per feed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storydiff import settings
from storydiff.store.db import insert_records, insert_rows, update_rows
from storydiff.store.models import Article, ArticleBand, ArticleFeed, Feed, Version
from storydiff.store.queries import newest_versions

if TYPE_CHECKING:
    import numpy as np
    from sqlalchemy.engine import Connection

    from storydiff.ingest.items import Item

CHUNK = 500  # ids per IN (...) query


@dataclass
class StoreCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    new_article_ids: list[int] = field(default_factory=list)
    updated_article_ids: list[int] = field(default_factory=list)
    fulltext_article_ids: list[int] = field(default_factory=list)  # new articles waiting for their page's text
    # new articles stored unsigned (their parse left the shingle hashes): (id, packed hashes), for
    # ``sign_pending`` once the refresh is over
    unsigned: list[tuple[int, bytes]] = field(default_factory=list)


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
        newest = newest_versions(chunk)
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


def store_items(
    session: Session,
    feed: Feed,
    items: Sequence[Item],
    now: datetime,
    later_languages: bool = False,
    later_signatures: bool = False,
) -> StoreCounts:
    """Insert or update the feed's items. Idempotent: the same items again change nothing.
    ``later_languages``: a new article whose language must be identified from its text is stored
    with ``PENDING_LANGUAGE`` and identified by ``identify_pending_languages`` (a one-shot command does
    it once the parse processes are gone, so the language model and the parsers are never in memory
    at the same time); otherwise it is identified here, for new articles only. An item that comes
    unsigned (its shingle hashes instead of its MinHash: a refresh parses with ``sign=False``) is
    signed here when it is a new article, or, with ``later_signatures``, stored with
    ``PENDING_SIGNATURE`` and listed in ``unsigned``: it is signed and linked to its copies by
    ``sign_pending``."""
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

    first_of_key: dict[str, Item] = {}
    also: list[Item] = []  # more entries of this feed with an already-new article's URL
    for item in fresh:
        if article_key(feed.id, item) in first_of_key:
            also.append(item)
        else:
            first_of_key[article_key(feed.id, item)] = item
    fresh = list(first_of_key.values())
    if fresh and not later_signatures and any(i.shingles is not None for i in fresh):
        from storydiff.ingest import neardup  # numpy: only where there are new articles to sign

        fresh = [  # signed here, the new articles only (a refresh's other items are already stored)
            replace(i, minhash=neardup.minhash_bytes(i.shingles), shingles=None) if i.shingles is not None else i
            for i in fresh
        ]
    if fresh:
        if any(i.minhash for i in fresh):
            from storydiff.ingest import neardup  # numpy: only where signatures are compared

            sigs = [neardup.from_bytes(i.minhash) if i.minhash else None for i in fresh]
        else:
            sigs = [None] * len(fresh)
        wants_fulltext = [fulltext_on and bool(i.url) and len(i.body) < min_chars for i in fresh]
        rows = [
            {
                "key": article_key(feed.id, i),
                "url": i.url,
                "outlet_id": feed.outlet_id,
                "first_seen": now,
                "published": i.published,
                "published_flag": i.published_flag,
                "language": PENDING_LANGUAGE if later_languages and i.language_pending else i.identified_language(),
                "minhash": PENDING_SIGNATURE if i.shingles is not None else i.minhash,
                "needs_fulltext": wants,
            }
            for i, s, wants in zip(fresh, sigs, wants_fulltext, strict=True)
        ]
        insert_records(session.connection(), Article.__table__, rows)  # no per-row RETURNING
        id_of: dict[str, int] = {}
        for chunk in _chunks([r["key"] for r in rows]):
            id_of.update(session.execute(select(Article.key, Article.id).where(Article.key.in_(chunk))).all())
        ids = [id_of[r["key"]] for r in rows]
        for article_id, item, wants in zip(ids, fresh, wants_fulltext, strict=True):
            links.append({"feed_id": feed.id, "article_id": article_id, "entry_id": item.entry_id, "first_seen": now})
            versions.append(_version_row(article_id, 1, item, content_hash(item), now, wants))
        for item in also:
            links.append(
                {
                    "feed_id": feed.id,
                    "article_id": id_of[article_key(feed.id, item)],
                    "entry_id": item.entry_id,
                    "first_seen": now,
                }
            )
        counts.unchanged += len(also)
        counts.new = len(ids)
        counts.new_article_ids = ids
        counts.fulltext_article_ids = [a for a, wants in zip(ids, wants_fulltext, strict=True) if wants]
        link_copies(session, {a: s for a, s in zip(ids, sigs, strict=True) if s is not None})
        counts.unsigned = [(a, i.shingles) for a, i in zip(ids, fresh, strict=True) if i.shingles is not None]
    insert_records(session.connection(), ArticleFeed.__table__, links)
    insert_records(session.connection(), Version.__table__, versions)
    return counts


PENDING_LANGUAGE = ""  # an article's language not identified yet (None: identified as undetermined)
PENDING_SIGNATURE = b""  # an article's MinHash not computed yet (None: too short to sign)
SIGN_BATCH = 2000  # articles signed per commit (from their stored text, by a run that stopped, per query)
LINK_BATCH = 500  # articles the refresh stored unsigned, signed and linked to their copies together
SIGN_MEMO = 20_000  # signatures one sign_pending call keeps by their shingles, at most (~2 MB)
LANGUAGE_BATCH = 2000


def _first_versions(session: Session, pending: Any, limit: int, *more: Any) -> Sequence[Any]:
    """(id, title, text, *more) of the first ``limit`` articles (by id) still ``pending``, read from
    their first version: the text they were stored with."""
    return session.execute(
        select(Article.id, Version.title, Version.text, *more)
        .join(Version, (Version.article_id == Article.id) & (Version.seq == 1))
        .where(pending)
        .order_by(Article.id)
        .limit(limit)
    ).all()


def identify_pending_languages(session: Session) -> int:
    """Identify the language of every article stored with ``PENDING_LANGUAGE``, from the text the
    writer would have used (its first version's title and summary, else body), and commit. Also run
    by the periodic sweep, so an article left pending by a run that stopped is identified later."""
    from storydiff.ingest.language import detect_language

    done = 0
    known: dict[bytes, str | None] = {}  # a text seen in this run (a wire copy in many feeds) is identified once
    while True:
        rows = _first_versions(session, Article.language == PENDING_LANGUAGE, LANGUAGE_BATCH, Version.summary)
        if not rows:
            return done
        found = []
        for aid, title, text, summary in rows:
            sample = f"{title}. {summary or text}"
            key = hashlib.blake2b(sample.encode("utf-8", "surrogatepass"), digest_size=16).digest()
            if key not in known:
                if len(known) >= LANGUAGE_BATCH:
                    known.clear()  # bounded: the digests of one batch's texts at most
                known[key] = detect_language(sample)
            found.append((known[key], aid))
        update_rows(session.connection(), "articles", ("language",), "id", found)
        session.commit()
        done += len(found)


def sign_pending(session: Session, batches: Iterable[list[tuple[int, bytes]]] = ()) -> int:
    """Sign the articles stored with ``PENDING_SIGNATURE`` and link each to its copies, and commit.
    ``batches``: what the refresh stored unsigned, one list per stored feed in the order they were
    stored (``StoreCounts.unsigned``), linked batch by batch as the storing would have; an article
    still pending after them (left by a run that stopped; also run by the periodic sweep) is signed
    from the text it was stored with."""
    from storydiff.ingest import neardup, shingles

    done = 0
    signed: dict[bytes, bytes | None] = {}  # packed shingles → signature: a wire copy repeats its original's
    first: dict[bytes, int] = {}  # signature → the first article linked with it in this call

    def sign(batch: list[tuple[int, bytes]]) -> None:
        raw = {}
        for aid, packed in batch:
            if packed not in signed:
                signed[packed] = neardup.minhash_bytes(packed)
            raw[aid] = signed[packed]
        if len(signed) > SIGN_MEMO:
            signed.clear()
            first.clear()
        update_rows(session.connection(), "articles", ("minhash",), "id", [(s, a) for a, s in raw.items()])
        link_copies(session, {aid: neardup.from_bytes(sig) for aid, sig in raw.items() if sig is not None}, first)

    # the feeds' batches in their order, several at a time (LINK_BATCH articles): linking a feed's
    # 50 items alone cost more in statements than in matching
    waiting: list[tuple[int, bytes]] = []
    for batch in batches:
        waiting += batch
        if len(waiting) >= LINK_BATCH:
            sign(waiting)
            done += len(waiting)
            session.commit()
            waiting = []
    if waiting:
        sign(waiting)
        done += len(waiting)
    session.commit()
    while True:
        rows = _first_versions(session, Article.minhash == PENDING_SIGNATURE, SIGN_BATCH)
        if not rows:
            return done
        # the text the parse shingled: the title and the body (its first version's text)
        sign([(aid, shingles.shingle_hashes(f"{title}\n{text or ''}")) for aid, title, text in rows])
        session.commit()
        done += len(rows)


BUCKET_CANDIDATES = 16  # stored members of one LSH bucket a new article is compared with (the earliest)
BUCKETS_PER_STATEMENT = 200  # sub-selects in one UNION ALL (SQLite allows 500)


def link_copies(session: Session, sigs: dict[int, np.ndarray], first: dict[bytes, int] | None = None) -> None:
    """Store LSH buckets of new articles and point every near-duplicate at the earliest copy.

    Copies form trees of depth one: each copy's ``original_id`` is the root, the earliest
    published member. Matches are resolved in memory (union-find) and written in batches.
    ``first`` (signature bytes → the article first linked with it, kept by the caller across
    calls): an article whose signature is one already linked — a wire copy word for word, 4,802
    of the 5,915 articles of the peers benchmark — joins that article's tree with similarity 1.0
    and stores no buckets of its own (they are that article's, which every later lookup finds);
    nor does one whose signature a stored article found in its buckets has (a copy stored by
    another call: another feed's refresh, another worker)."""
    if not sigs:
        return
    from storydiff.ingest import neardup

    threshold = settings.get_float("STORYDIFF_NEARDUP_THRESHOLD")
    first = {} if first is None else first
    repeats: dict[int, int] = {}  # article → the earlier article with its very signature
    for aid in sorted(sigs):
        key = sigs[aid].tobytes()
        if key in first and first[key] != aid:
            repeats[aid] = first[key]
        else:
            first.setdefault(key, aid)
    sigs = {aid: sig for aid, sig in sigs.items() if aid not in repeats}
    owner = {(bucket, aid) for aid, sig in sigs.items() for bucket in neardup.band_buckets(sig)}
    bands = sorted(owner)
    conn = session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    fresh_in: dict[int, list[int]] = {}
    for bucket, aid in bands:
        fresh_in.setdefault(bucket, []).append(aid)
    # a wire story run by hundreds of sites fills its buckets with copies that all point at one
    # original: the earliest stored members stand for a bucket, read from its B-tree with a LIMIT
    # (one sub-select a bucket), so linking one more copy costs the same however many there are
    # already — every member of a copy tree leads to the same root
    one = (
        f"SELECT * FROM (SELECT bucket, article_id FROM {ArticleBand.__tablename__} "
        f"WHERE bucket = {mark} ORDER BY article_id LIMIT {BUCKET_CANDIDATES:d}) AS b"
    )
    candidates: dict[int, set[int]] = {}
    for chunk in _chunks(sorted(fresh_in), BUCKETS_PER_STATEMENT):
        members_of: dict[int, list[int]] = {}
        for bucket, aid in conn.exec_driver_sql(" UNION ALL ".join([one] * len(chunk)), tuple(chunk)).all():
            if (bucket, aid) not in owner:
                members_of.setdefault(bucket, []).append(aid)
        for bucket in chunk:
            fresh = fresh_in[bucket]
            together = fresh + members_of.get(bucket, [])
            for new_id in fresh:
                candidates.setdefault(new_id, set()).update(together)  # (itself too: removed below)
    for new_id, found in candidates.items():
        found.discard(new_id)
    candidates = {new_id: found for new_id, found in candidates.items() if found}
    twins = _resolve_copies(session, conn, sigs, repeats, candidates, threshold) if candidates or repeats else set()
    # the buckets last, without those of an article whose very signature a stored one has (a copy
    # word for word from another feed): its rows would repeat that one's, which every lookup finds
    # (~15 plain integer rows an article: straight to the driver — SQLAlchemy's per-row parameter
    # processing cost more than the insert itself)
    insert_rows(conn, ArticleBand.__tablename__, ("bucket", "article_id"), [b for b in bands if b[1] not in twins])


def _resolve_copies(
    session: Session,
    conn: Connection,
    sigs: dict[int, np.ndarray],
    repeats: dict[int, int],
    candidates: dict[int, set[int]],
    threshold: float,
) -> set[int]:
    """Point each new article (``sigs``, ``repeats``) that matches a candidate at its tree's root
    (the earliest published member, trees of depth one, merged in memory) and store the links;
    returns the new articles whose signature a stored candidate has exactly (their twins)."""
    import numpy as np

    from storydiff.ingest import neardup

    info = _copy_info(session, set().union(set(repeats.values()), *candidates.values()) | set(sigs) | set(repeats))
    info.update(_copy_info(session, {v[0] for v in info.values() if v[0] is not None} - set(info)))
    decoded = {a: neardup.from_bytes(raw) for a, (_, _, raw) in info.items() if raw}  # (not pending)
    parent: dict[int, int | None] = {}  # new original_id per article, decided in this batch

    def root(a: int) -> int:
        while True:
            up = parent[a] if a in parent else info[a][0]
            if up is None:
                return a
            a = up

    similarity: dict[int, float] = {}
    moved_roots: dict[int, int] = {}  # old root → new root (its stored copies follow)
    twins: set[int] = set()
    for new_id in sorted(candidates.keys() | repeats.keys()):
        if new_id in repeats:
            matched, best = [repeats[new_id]], 1.0
            if repeats[new_id] in sigs:  # its twin is new too: each is the other's copy, as a lookup would find
                similarity[repeats[new_id]] = 1.0
        else:
            others = [o for o in candidates[new_id] if o in decoded]
            if not others:
                continue
            matrix = np.stack([decoded[o] for o in others])
            scores = (matrix == sigs[new_id]).mean(axis=1)
            matched = [o for o, score in zip(others, scores, strict=True) if score >= threshold]
            if not matched:
                continue
            best = float(scores.max())
            if best == 1.0 and any(o not in sigs for o, score in zip(others, scores, strict=True) if score == 1.0):
                twins.add(new_id)
        similarity[new_id] = best
        roots = {root(o) for o in matched} | {root(new_id)}
        keep = min(roots, key=lambda a: (info[a][1], a))
        for old in roots - {keep}:
            parent[old] = keep
            moved_roots[old] = keep
        if new_id != keep:
            parent[new_id] = keep
    if moved_roots:
        final = {old: root(new) for old, new in moved_roots.items()}
        update_rows(conn, "articles", ("original_id",), "original_id", [(new, old) for old, new in final.items()])
    update_rows(conn, "articles", ("original_id",), "id", [(None if root(a) == a else root(a), a) for a in parent])
    update_rows(conn, "articles", ("copy_similarity",), "id", [(s, a) for a, s in similarity.items()])
    return twins


def _copy_info(session: Session, ids: set[int]) -> dict[int, tuple[int | None, datetime, bytes | None]]:
    """article id → (original id, published, MinHash bytes)."""
    out: dict[int, tuple[int | None, datetime, bytes | None]] = {}
    for chunk in _chunks(sorted(ids)):
        found = select(Article.id, Article.original_id, Article.published, Article.minhash).where(Article.id.in_(chunk))
        rows = session.connection().execute(found).all()
        out.update({aid: (orig, published, raw) for aid, orig, published, raw in rows})
    return out
