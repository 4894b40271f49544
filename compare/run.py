"""The clustering pipeline (I/O edge): articles in the database → stories in the database.

``cluster_new_articles(session)`` is what the Celery task ``storydiff.cluster_articles``, the
in-process scheduler and ``storydiff ingest --once`` call. It restores the open stories into the
pure ``OnlineClusterer``, assigns every article that has no story yet (and is not waiting for its
full text), writes new stories, memberships, merges and closings in one transaction under a job
lock, and is idempotent: run twice, the second run changes nothing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storydiff import settings
from storydiff.compare.cluster import ClusterConfig, Doc, OnlineClusterer
from storydiff.compare.search_index import index_stories
from storydiff.store.models import Article, JobLock, Story, StoryArticle, StoryRedirect, StoryTerm, Version
from storydiff.store.queries import newest_versions

TEMP_IDS = 1 << 40  # clusterer ids of stories not yet in the database
BATCH = 5000


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


def _docs(session: Session, articles: Sequence[Article]) -> dict[int, Doc]:
    out: dict[int, Doc] = {}
    for start in range(0, len(articles), 500):
        chunk = articles[start : start + 500]
        versions = _latest_versions(session, [a.id for a in chunk])
        for a in chunk:
            v = versions.get(a.id)
            if v is not None:
                out[a.id] = Doc(a.id, v.title, v.text, a.published, a.original_id)
    return out


def _restore(session: Session, clusterer: OnlineClusterer) -> None:
    members = session.execute(
        select(StoryArticle.story_id, StoryArticle.score, Article)
        .join(Article, Article.id == StoryArticle.article_id)
        .join(Story, Story.id == StoryArticle.story_id)
        .where(Story.status == "open")
        .order_by(Article.published, Article.id)
    ).all()
    docs = _docs(session, [a for _, _, a in members])
    by_story: dict[int, list[tuple[Doc, float]]] = defaultdict(list)
    for story_id, score, article in members:
        if article.id in docs:
            by_story[story_id].append((docs[article.id], score))
    for story_id, items in sorted(by_story.items()):
        clusterer.restore(story_id, items)


def cluster_new_articles(
    session: Session, config: ClusterConfig | None = None, now: datetime | None = None
) -> ClusterRun:
    """Assign unclustered articles to stories; commits. Safe to run concurrently and repeatedly."""
    now = now or datetime.now(UTC)
    config = config or ClusterConfig(quiet_hours=settings.get_float("STORYDIFF_STORY_QUIET_HOURS"))
    run = ClusterRun()
    session.execute(update(JobLock).where(JobLock.name == "cluster").values(taken_at=now.replace(tzinfo=None)))
    pending = session.scalars(
        select(Article)
        .outerjoin(StoryArticle, StoryArticle.article_id == Article.id)
        .where(StoryArticle.article_id.is_(None), Article.needs_fulltext.is_(False))
        .order_by(Article.published, Article.id)
        .limit(BATCH)
    ).all()
    clusterer = OnlineClusterer(config)
    if pending:
        _restore(session, clusterer)
        persisted = set(clusterer.stories)
        clusterer.next_id = TEMP_IDS
        docs = _docs(session, pending)
        assignments = clusterer.add_all(docs[a.id] for a in pending if a.id in docs)
        run.articles = len(assignments)
        gone_ids = sorted(persisted - set(clusterer.stories))  # persisted stories merged away
        changed = {clusterer.story_of[a.doc_id] for a in assignments} | {clusterer.final_id(g) for g in gone_ids}
        db_id: dict[int, int] = {sid: sid for sid in persisted if sid in clusterer.stories}
        for sid in sorted(changed):
            story = clusterer.stories[sid]
            if sid in persisted:
                session.execute(
                    update(Story)
                    .where(Story.id == sid)
                    .values(
                        title=story.title(),
                        first_seen=datetime.fromtimestamp(story.first_seen, UTC),
                        last_seen=datetime.fromtimestamp(story.last_seen, UTC),
                    )
                )
            else:
                row = Story(
                    title=story.title(),
                    status="open",
                    first_seen=datetime.fromtimestamp(story.first_seen, UTC),
                    last_seen=datetime.fromtimestamp(story.last_seen, UTC),
                )
                session.add(row)
                session.flush()
                db_id[sid] = row.id
                run.new_stories += 1
        for gone in gone_ids:
            keep = db_id[clusterer.final_id(gone)]
            session.execute(update(StoryArticle).where(StoryArticle.story_id == gone).values(story_id=keep))
            session.execute(delete(StoryTerm).where(StoryTerm.story_id == gone))  # the survivor is reindexed below
            session.execute(delete(Story).where(Story.id == gone))
            # the absorbed id keeps working: it (and every id that pointed at it) now points at the survivor
            session.execute(update(StoryRedirect).where(StoryRedirect.to_id == gone).values(to_id=keep))
            session.merge(StoryRedirect(from_id=gone, to_id=keep))  # (SQLite may have reused a freed id)
            run.merged += 1
        session.add_all(
            StoryArticle(story_id=db_id[clusterer.story_of[a.doc_id]], article_id=a.doc_id, score=a.score)
            for a in assignments
        )
        run.story_ids = sorted(db_id[sid] for sid in changed)
        index_stories(session, run.story_ids)  # new, grown and surviving stories are found by their new words
    # event time, never the wall clock: a story closes when the stream of *published* times has moved
    # past its quiet period (so a backlog, or feeds in any order, give the same stories); the
    # newest published time is capped at now (a future date says nothing about the stream)
    latest = session.scalar(select(func.max(Story.last_seen)))
    if latest is not None:
        latest = latest if latest.tzinfo else latest.replace(tzinfo=UTC)
        limit = min(now, latest) - timedelta(hours=config.quiet_hours)
        closing = session.execute(
            update(Story).where(Story.status == "open", Story.last_seen < limit).values(status="closed")
        )
        run.closed = int(getattr(closing, "rowcount", 0))
    session.commit()
    return run
