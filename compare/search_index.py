"""The stories' search index (I/O edge): ``index_stories(session, story_ids)`` rewrites the
``story_terms`` rows of some stories from their title, their members' newest titles and leads, and
their outlets (the terms and weights are ``store.search.story_terms``). ``compare/run.py`` calls it
for every story a clustering run created, grew or merged into (an absorbed story's rows go with it),
``compare/store_reports.py`` for a story whose report it recomputes (an edited headline is found by
its new words); ``reindex(session)`` rebuilds the whole index (``storydiff reindex``). Neither commits
except ``reindex``, which commits once per batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, aliased

from storydiff.store.db import insert_rows
from storydiff.store.models import Article, Outlet, Story, StoryArticle, StoryTerm, Version
from storydiff.store.search import Member, story_terms

BATCH = 500


def story_members(session: Session, story_ids: Sequence[int]) -> dict[int, list[Member]]:
    """Each story's members as the index reads them: newest version's title and summary, outlet name."""
    later = aliased(Version)
    newest = select(func.max(later.seq)).where(later.article_id == StoryArticle.article_id).scalar_subquery()
    rows = session.execute(
        select(StoryArticle.story_id, Version.title, Version.summary, Outlet.name)
        .join(Article, Article.id == StoryArticle.article_id)
        .join(Outlet, Outlet.id == Article.outlet_id)
        .join(Version, (Version.article_id == StoryArticle.article_id) & (Version.seq == newest))
        .where(StoryArticle.story_id.in_(list(story_ids)))
        .order_by(StoryArticle.story_id, Article.published, Article.id)
    )
    members: dict[int, list[Member]] = defaultdict(list)
    for story_id, title, summary, outlet in rows:
        members[story_id].append(Member(title, summary or "", outlet))
    return members


def index_stories(session: Session, story_ids: Sequence[int]) -> int:
    """Rewrite the index rows of these stories (ids of stories that no longer exist lose theirs);
    returns the number of rows written. Flushes, never commits."""
    written = 0
    ids = sorted(set(story_ids))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        session.flush()
        # the stories' rows locked first (PostgreSQL; SQLite writes one at a time anyway): a report and a
        # clustering run indexing the same story one after the other never insert the same rows twice
        locked = select(Story.id, Story.title).where(Story.id.in_(chunk)).order_by(Story.id).with_for_update()
        titles = {sid: title for sid, title in session.execute(locked)}
        session.execute(delete(StoryTerm).where(StoryTerm.story_id.in_(chunk)))
        members = story_members(session, chunk)
        rows = [
            (story_id, term, weight)
            for story_id, title in sorted(titles.items())
            for term, weight in sorted(story_terms(title, members.get(story_id, [])).items())
        ]
        insert_rows(session.connection(), StoryTerm.__tablename__, ("story_id", "term", "weight"), rows)
        written += len(rows)
    return written


def reindex(session: Session) -> tuple[int, int]:
    """Rebuild the whole index, a batch of stories per transaction; returns (stories, rows)."""
    session.execute(delete(StoryTerm).where(StoryTerm.story_id.not_in(select(Story.id))))
    session.commit()
    stories = rows = 0
    last = 0
    while True:
        chunk = list(session.scalars(select(Story.id).where(Story.id > last).order_by(Story.id).limit(BATCH)))
        if not chunk:
            return stories, rows
        rows += index_stories(session, chunk)
        session.commit()
        stories += len(chunk)
        last = chunk[-1]
