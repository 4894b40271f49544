"""Story reports in the database (I/O edge): ``compare_story(session, story_id)`` builds one
story's report from its articles' newest versions with the pure ``compare.report`` and stores it;
``compare_stale_stories(session)`` does that for every story whose report is missing or older
than its newest article version — after clustering, full-text extraction or an edited article.
Both are idempotent: the Celery task ``storydiff.compare_story``, the in-process scheduler and
``storydiff ingest --once`` call them; pages and the API only read stored reports."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from storydiff import settings
from storydiff.compare.schema import SCHEMA_VERSION
from storydiff.compare.search_index import index_stories
from storydiff.errors import NotFound
from storydiff.ingest.urls import redact_url
from storydiff.store.models import Article, Outlet, Report, Story, Version
from storydiff.store.models import StoryArticle as Membership

if TYPE_CHECKING:
    from storydiff.compare.report import StoryArticle

MAX_STORY_ARTICLES = 200  # a report compares at most the newest 200 articles of a story
STORE_CHUNK = 50  # stale reports built, then stored in one transaction, this many at a time


def stories_articles(session: Session, story_ids: Sequence[int]) -> dict[int, list[StoryArticle]]:
    """Each story's articles as the report compares them (each member's newest version, the newest
    MAX_STORY_ARTICLES members), for many stories in one query."""
    from storydiff.compare.report import StoryArticle  # the comparison stack loads when a report is built

    # each member's newest version by a correlated lookup on (article_id, seq): a grouped subquery
    # over every version (newest_versions()) made SQLite aggregate the whole table once per story
    later = aliased(Version)
    newest = select(func.max(later.seq)).where(later.article_id == Article.id).scalar_subquery()
    rank = (
        func.row_number()
        .over(partition_by=Membership.story_id, order_by=(Article.published.desc(), Article.id.desc()))
        .label("rank")
    )
    members = (
        select(  # columns, not ORM objects: a member's MinHash alone is 1 KB, and nothing here is written
            Membership.story_id,
            Article.id,
            Outlet.name,
            Version.title,
            Version.text,
            Article.published,
            Article.url,
            Outlet.kind,
            Outlet.country,
            Article.original_id,
            rank,
        )
        .join(Membership, Membership.article_id == Article.id)
        .join(Version, (Version.article_id == Article.id) & (Version.seq == newest))
        .join(Outlet, Outlet.id == Article.outlet_id)
        .where(Membership.story_id.in_(sorted(set(story_ids))))
        .subquery()
    )
    rows = session.execute(
        select(members)
        .where(members.c.rank <= MAX_STORY_ARTICLES)
        .order_by(members.c.story_id, members.c.published.desc(), members.c.id.desc())
    ).all()
    found: dict[int, list[StoryArticle]] = {}
    for story_id, article_id, outlet, title, text, published, url, kind, country, original_id, _ in rows:
        found.setdefault(story_id, []).append(
            StoryArticle(
                id=article_id,
                outlet=outlet,
                title=title,
                text=text,
                published=published,
                url=redact_url(url) if url else url,  # reports and alerts show it
                kind=kind,
                country=country,
                original_id=original_id,
            )
        )
    return found


def _build(session: Session, stories: dict[int, str], now: datetime | None = None) -> list[tuple[int, dict, datetime]]:
    """The reports of these stories (id → title), as of when their articles were read."""
    from storydiff.compare import embed
    from storydiff.compare.report import build_report

    semantic = embed.enabled(settings.get("STORYDIFF_SEMANTIC"))
    # a report is as of when its articles were read: a version fetched after this is newer than it
    read_at = now or datetime.now(UTC)
    articles = stories_articles(session, list(stories))
    return [
        (sid, build_report(articles.get(sid, []), story_id=sid, title=title, semantic=semantic), read_at)
        for sid, title in stories.items()
    ]


def _store(session: Session, built: list[tuple[int, dict, datetime]], index: bool) -> list[int]:
    """Store the reports and commit. Two workers may compute one story at once (a clustering run
    re-queues it while it is being computed). The stories' rows are locked to store, in id order
    (PostgreSQL; SQLite has one writer anyway), so they store one after the other, and a report read
    from older data than the stored one is not stored over it: the last to finish is not always
    the newest."""
    ids = sorted(sid for sid, _, _ in built)
    locked = session.scalars(select(Story).where(Story.id.in_(ids)).order_by(Story.id).with_for_update()).all()
    stories = {story.id: story for story in locked}
    stored = select(Report).where(Report.story_id.in_(ids)).execution_options(populate_existing=True)
    rows = {row.story_id: row for row in session.scalars(stored)}  # as stored now, not as this session last saw them
    for story_id, report, read_at in built:
        story = stories.get(story_id)
        if story is None:
            continue  # merged into another while it was being computed: the survivor is recomputed
        row = rows.get(story_id)
        if row is not None:
            if row.computed_at is not None and row.schema == SCHEMA_VERSION and _utc(row.computed_at) > read_at:
                continue
        else:
            row = Report(story_id=story_id)
            session.add(row)
        body = json.dumps(report, ensure_ascii=False, sort_keys=True, default=str)
        row.schema = SCHEMA_VERSION
        row.computed_at = read_at
        row.outlets = len(report["outlets"])
        row.divergences = len(report["divergences"])
        row.types = "," + ",".join(sorted(report["counts"])) + ","
        row.etag = hashlib.sha1(body.encode()).hexdigest()
        row.body = body
        story.divergence_score = report["divergence_score"]
    if index:
        index_stories(session, ids)  # a member's edited title or lead is searchable with the report
    session.commit()
    return sorted(stories)


def compare_story(session: Session, story_id: int, now: datetime | None = None, index: bool = True) -> dict[str, Any]:
    """Build and store the story's report; commits; returns the report. ``index``: also rewrite the
    story's search-index rows (``compare_stale_stories`` does that once for a whole batch instead)."""
    story = session.get(Story, story_id)
    if story is None:
        raise NotFound(f"story {story_id} does not exist (it may have been merged into another); list stories first")
    built = _build(session, {story_id: story.title}, now)
    _store(session, built, index)
    return built[0][1]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def stale_story_ids(session: Session, limit: int = 500) -> list[int]:
    """Stories whose report is missing, of an older schema, or older than a member's newest version."""
    return [story_id for story_id, _ in _stale_stories(session, limit)]


def _stale_stories(session: Session, limit: int) -> list[tuple[int, datetime]]:
    """``stale_story_ids`` with when each story's newest version was fetched."""
    newest_fetch = (
        select(Membership.story_id, func.max(Version.fetched_at).label("fetched"))
        .join(Version, Version.article_id == Membership.article_id)
        .group_by(Membership.story_id)
        .subquery()
    )
    rows = session.execute(
        select(Story.id, newest_fetch.c.fetched)
        .join(newest_fetch, newest_fetch.c.story_id == Story.id)
        .outerjoin(Report, Report.story_id == Story.id)
        .where(
            or_(
                Report.story_id.is_(None),
                Report.schema != SCHEMA_VERSION,
                Report.computed_at < newest_fetch.c.fetched,
            )
        )
        .order_by(Story.last_seen.desc())
        .limit(limit)
    )
    return [(story_id, fetched) for story_id, fetched in rows]


def compare_stale_stories(
    session: Session, limit: int = 500, indexed: Collection[int] = (), indexed_at: datetime | None = None
) -> list[int]:
    """Recompute every stale report (see ``stale_story_ids``), ``limit`` at a time until none is
    left; returns the story ids done. ``indexed``: stories whose search rows a clustering run just
    rewrote, having started at ``indexed_at`` (``pipeline.run_once`` passes them): their rows are not
    rewritten again unless a member's version was fetched since that start (in a cold run that is
    every story: each was indexed once, not twice)."""
    done: list[int] = []
    indexed = set(indexed)
    while True:
        stale = [(s, fetched) for s, fetched in _stale_stories(session, limit) if s not in done]
        batch = [s for s, _ in stale]
        current = {s for s, fetched in stale if s in indexed and _utc(fetched) < indexed_at} if indexed_at else set()
        # the batch's search rows first, in one pass (a crash before its reports leaves them stale: redone)
        index_stories(session, [s for s in batch if s not in current])
        session.commit()
        done += compare_stories(session, batch, index=False)
        if len(batch) < limit:
            return done


def compare_stories(session: Session, story_ids: Sequence[int], index: bool = True) -> list[int]:
    """Build and store the reports of these stories, STORE_CHUNK at a time: one query for their
    articles and one transaction to store them (a query and a commit per story cost as much as
    building the report of a one-article story). A story that no longer exists (merged into another
    since it was queued) is skipped. Returns the ids of the stories whose report is now stored."""
    done: list[int] = []
    for start in range(0, len(story_ids), STORE_CHUNK):
        chunk = list(story_ids[start : start + STORE_CHUNK])
        titles: dict[int, str] = dict(session.execute(select(Story.id, Story.title).where(Story.id.in_(chunk))).all())
        done += _store(session, _build(session, {sid: titles[sid] for sid in chunk if sid in titles}), index)
    return done


def _no_report(session: Session, story_id: int) -> NotFound:
    """Why a story has no stored report: it does not exist, or it has not been compared yet."""
    if session.get(Story, story_id) is None:
        return NotFound(f"story {story_id} does not exist; see the stories list for valid ids")
    return NotFound(f"story {story_id} has no report yet; it is computed after the next pipeline run")


def load_report(session: Session, story_id: int) -> tuple[dict[str, Any], str]:
    """The stored report and its ETag; NotFound when the story has none yet."""
    row = session.get(Report, story_id)
    if row is None:
        raise _no_report(session, story_id)
    return json.loads(row.body), row.etag


def report_etag(session: Session, story_id: int) -> str:
    """The stored report's ETag without loading the report; NotFound like ``load_report``."""
    etag = session.scalar(select(Report.etag).where(Report.story_id == story_id))
    if etag is None:
        raise _no_report(session, story_id)
    return str(etag)


def report_body(session: Session, story_id: int) -> tuple[str, str]:
    """The stored report as JSON text (served as is) and its ETag."""
    row = session.execute(select(Report.body, Report.etag).where(Report.story_id == story_id)).first()
    if row is None:
        raise _no_report(session, story_id)
    return row[0], row[1]
