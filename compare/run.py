"""The clustering pipeline (I/O edge): articles in the database → stories in the database.

``cluster_new_articles(session)`` is what the Celery task ``storydiff.cluster_articles``, the
in-process scheduler and ``storydiff ingest --once`` call. It takes every article that has no story
yet (and is not waiting for its full text), clusters it afresh with every story it could join —
in published-time order, so arrival order does not matter — maps the clusters onto the stored
story ids, and writes new stories, moves, merges (with redirects) and closings in one transaction
under a job lock. Idempotent: run twice, the second run changes nothing."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, func, insert, inspect, select, update
from sqlalchemy.orm import Session

from storydiff import settings
from storydiff.compare.cluster import ClusterConfig, Doc, OnlineClusterer
from storydiff.compare.search_index import index_stories
from storydiff.store.db import insert_rows
from storydiff.store.models import Article, JobLock, Story, StoryArticle, StoryRedirect, StoryTerm, Version
from storydiff.store.queries import newest_versions

BATCH = 10_000  # articles clustered per run (with the stories they may join); a larger backlog is done in turns


@dataclass
class ClusterRun:
    articles: int = 0
    new_stories: int = 0
    merged: int = 0
    closed: int = 0
    story_ids: list[int] = field(default_factory=list)  # stories that changed


def _latest_versions(session: Session, article_ids: Sequence[int]) -> dict[int, Version]:
    newest = newest_versions(article_ids)
    rows = session.scalars(
        select(Version).join(newest, (Version.article_id == newest.c.article_id) & (Version.seq == newest.c.seq))
    )
    return {v.article_id: v for v in rows}


class _Member(NamedTuple):
    """What clustering reads of an article row (not the ORM object: its MinHash alone is 1 KB)."""

    id: int
    published: datetime
    original_id: int | None


_MEMBER = (Article.id, Article.published, Article.original_id)


def _docs(session: Session, articles: Sequence[_Member]) -> Iterator[Doc]:
    """The articles as the clusterer reads them (their newest version), in the given order; read 500
    at a time, so only a chunk's texts are in memory at once (an article without a version is left
    out: it waits)."""
    for start in range(0, len(articles), 500):
        chunk = articles[start : start + 500]
        versions = _latest_versions(session, [a.id for a in chunk])
        for a in chunk:
            v = versions.get(a.id)
            if v is not None:
                yield Doc(a.id, v.title, v.text, a.published, a.original_id)


def _window(session: Session, pending: Sequence[_Member], quiet_hours: float) -> tuple[list[_Member], dict[int, int]]:
    """The articles to cluster together with the pending ones: every member of every story (open or
    closed) whose last article falls within the quiet period before the earliest pending article —
    every story a pending article could join — and where each of them is now."""
    earliest = min(a.published for a in pending)
    start = earliest - timedelta(hours=quiet_hours)
    rows = session.execute(
        select(StoryArticle.story_id, *_MEMBER)
        .join(Article, Article.id == StoryArticle.article_id)
        .join(Story, Story.id == StoryArticle.story_id)
        .where(Story.last_seen >= start)
    ).all()
    return [_Member(*member) for _, *member in rows], {row.id: row.story_id for row in rows}


def _map_ids(clusters: dict[int, list[int]], stored: dict[int, int]) -> tuple[dict[int, int], dict[int, int]]:
    """Give each new cluster the stored story id it overlaps most (largest overlap first, then the
    lowest id, then the lowest cluster: deterministic), so story ids stay stable for readers.
    Returns cluster → stored id, and absorbed stored id → the cluster now holding most of it."""
    overlap: Counter[tuple[int, int]] = Counter()
    for cluster, members in clusters.items():
        for article_id in members:
            if article_id in stored:
                overlap[(stored[article_id], cluster)] += 1
    kept: dict[int, int] = {}
    taken: set[int] = set()
    for (story_id, cluster), _ in sorted(overlap.items(), key=lambda kv: (-kv[1], kv[0])):
        if cluster not in kept and story_id not in taken:
            kept[cluster] = story_id
            taken.add(story_id)
    absorbed: dict[int, int] = {}
    for (story_id, cluster), _ in sorted(overlap.items(), key=lambda kv: (-kv[1], kv[0])):
        if story_id not in taken and story_id not in absorbed:
            absorbed[story_id] = cluster
    return kept, absorbed


def _update_stories(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write the kept stories' new title, times and status in one executemany. An ORM UPDATE per story
    made the session look for matching objects in its identity map each time (thousands of articles
    after a large run); instead, the Story objects it holds for these ids are expired once, so they
    read the new values when next used."""
    if not rows:
        return
    table = Story.__table__
    session.execute(update(table).where(table.c.id == bindparam("story_id")), rows)
    ids = {row["story_id"] for row in rows}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Story) and inspect(obj).identity[0] in ids:
            session.expire(obj)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _closing_limit(session: Session, now: datetime, config: ClusterConfig, newest: float) -> datetime:
    """Stories whose last article is older than this are closed: the quiet period before the newest
    published time seen (stored or in this run), capped at now — a future date says nothing."""
    latest = session.scalar(select(func.max(Story.last_seen)))
    stream = max(newest, _utc(latest).timestamp() if latest is not None else newest)
    return min(now, datetime.fromtimestamp(stream, UTC)) - timedelta(hours=config.quiet_hours)


def cluster_new_articles(
    session: Session, config: ClusterConfig | None = None, now: datetime | None = None
) -> ClusterRun:
    """Cluster every pending article, BATCH at a time (each batch its own transaction): a backlog is
    never left half done for the next run."""
    total = ClusterRun()
    while True:
        run = _cluster_batch(session, config, now)
        total.articles += run.articles
        total.new_stories += run.new_stories
        total.merged += run.merged
        total.closed += run.closed
        total.story_ids = sorted(set(total.story_ids) | set(run.story_ids))
        if run.articles < BATCH:
            return total


def _cluster_batch(session: Session, config: ClusterConfig | None = None, now: datetime | None = None) -> ClusterRun:
    """Assign unclustered articles to stories; commits. Safe to run concurrently and repeatedly.

    The pending articles are clustered afresh together with every story they could join (the
    window), in published-time order: the stories that come out depend on which articles there
    are, not on the order they arrived in (by feed, late, a backlog). Stored ids are kept where a
    new cluster overlaps a stored story; a story absorbed by another redirects to it."""
    now = now or datetime.now(UTC)
    config = config or ClusterConfig(quiet_hours=settings.get_float("STORYDIFF_STORY_QUIET_HOURS"))
    run = ClusterRun()
    session.execute(update(JobLock).where(JobLock.name == "cluster").values(taken_at=now.replace(tzinfo=None)))
    pending = [
        _Member(*row)
        for row in session.execute(
            select(*_MEMBER)
            .outerjoin(StoryArticle, StoryArticle.article_id == Article.id)
            .where(StoryArticle.article_id.is_(None), Article.needs_fulltext.is_(False))
            .order_by(Article.published, Article.id)
            .limit(BATCH)
        )
    ]
    if pending:
        window, stored = _window(session, pending, config.quiet_hours)
        ordered = sorted([*window, *pending], key=lambda a: (_utc(a.published), a.id))
        clusterer = OnlineClusterer(config)
        assignments = clusterer.add_all(_docs(session, ordered))
        score = {a.doc_id: a.score for a in assignments}
        clusters: dict[int, list[int]] = defaultdict(list)
        for a in assignments:
            clusters[clusterer.final_id(clusterer.story_of[a.doc_id])].append(a.doc_id)
        kept, absorbed = _map_ids(clusters, stored)
        limit = _closing_limit(session, now, config, max(clusterer.stories[c].last_seen for c in clusters))
        rows = session.execute(select(Story.id, Story.status).where(Story.id.in_(kept.values())))
        status = {story_id: state for story_id, state in rows}
        db_id: dict[int, int] = {}
        kept_rows: list[dict[str, Any]] = []
        new_rows: list[tuple[int, dict[str, Any]]] = []
        for cluster in sorted(clusters):
            story = clusterer.stories[cluster]
            values = {
                "title": story.title(),
                "first_seen": datetime.fromtimestamp(story.first_seen, UTC),
                "last_seen": datetime.fromtimestamp(story.last_seen, UTC),
            }
            values["status"] = "closed" if values["last_seen"] < limit else "open"
            run.closed += values["status"] == "closed" and status.get(kept.get(cluster, -1)) != "closed"
            if cluster in kept:
                db_id[cluster] = kept[cluster]
                kept_rows.append({"story_id": kept[cluster], **values})
            else:
                new_rows.append((cluster, values))
        if new_rows:  # one INSERT … RETURNING for the new stories (was an ORM flush each)
            created = session.scalars(
                insert(Story).returning(Story.id, sort_by_parameter_order=True), [v for _, v in new_rows]
            ).all()
            db_id.update((cluster, story_id) for (cluster, _), story_id in zip(new_rows, created, strict=True))
            run.new_stories += len(new_rows)
        # in id order, as a batch of reports locks the stories it stores (store_reports), so the two
        # seldom wait on each other in a cycle (a deadlock PostgreSQL breaks is retried as any outage)
        _update_stories(session, sorted(kept_rows, key=lambda row: row["story_id"]))
        changed: set[int] = set()
        memberships: list[tuple[int, int, float]] = []
        for cluster, members in clusters.items():
            target = db_id[cluster]
            moved = [m for m in members if m in stored and stored[m] != target]
            fresh = [m for m in members if m not in stored]
            if moved or fresh or cluster not in kept:
                changed.add(target)
            for article_id in moved:
                changed.add(stored[article_id])
                session.execute(
                    update(StoryArticle)
                    .where(StoryArticle.article_id == article_id)
                    .values(story_id=target, score=score[article_id])
                )
            memberships += [(target, m, score[m]) for m in fresh]
        # plain rows straight to the driver (an ORM object per membership cost more than its insert)
        insert_rows(session.connection(), StoryArticle.__tablename__, ("story_id", "article_id", "score"), memberships)
        for gone, cluster in sorted(absorbed.items()):
            keep = db_id[cluster]
            session.execute(delete(StoryTerm).where(StoryTerm.story_id == gone))  # the survivor is reindexed below
            session.execute(delete(Story).where(Story.id == gone))
            # the absorbed id keeps working: it (and every id that pointed at it) now points at the survivor
            session.execute(update(StoryRedirect).where(StoryRedirect.to_id == gone).values(to_id=keep))
            session.merge(StoryRedirect(from_id=gone, to_id=keep))  # (SQLite may have reused a freed id)
            changed.discard(gone)
            run.merged += 1
        run.articles = sum(1 for a in pending if a.id in score)  # (an article without a version waits)
        run.story_ids = sorted(changed)
        index_stories(session, run.story_ids)  # new, grown and surviving stories are found by their new words
    # event time, never the wall clock: a story closes when the stream of *published* times has moved
    # past its quiet period (so a backlog, or feeds in any order, give the same stories); the
    # newest published time is capped at now (a future date says nothing about the stream)
    latest = session.scalar(select(func.max(Story.last_seen)))
    if latest is not None:
        limit = _closing_limit(session, now, config, _utc(latest).timestamp())
        closing = session.execute(
            update(Story).where(Story.status == "open", Story.last_seen < limit).values(status="closed")
        )
        run.closed += int(getattr(closing, "rowcount", 0))
    session.commit()
    return run
