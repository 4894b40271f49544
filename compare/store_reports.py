"""Story reports in the database (I/O edge): ``compare_story(session, story_id)`` builds one
story's report from its articles' newest versions with the pure ``compare.report`` and stores it;
``compare_stale_stories(session)`` does that for every story whose report is missing or older
than its newest article version — after clustering, full-text extraction or an edited article.
Both are idempotent: the Celery task ``storydiff.compare_story``, the in-process scheduler and
``storydiff ingest --once`` call them; pages and the API only read stored reports."""

from __future__ import annotations

import hashlib
import json
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


def story_articles(session: Session, story_id: int) -> list[StoryArticle]:
    from storydiff.compare.report import StoryArticle  # the comparison stack loads when a report is built

    # each member's newest version by a correlated lookup on (article_id, seq): a grouped subquery
    # over every version (newest_versions()) made SQLite aggregate the whole table once per story
    later = aliased(Version)
    newest = select(func.max(later.seq)).where(later.article_id == Article.id).scalar_subquery()
    rows = session.execute(  # columns, not ORM objects: a member's MinHash alone is 1 KB, and nothing here is written
        select(
            Article.id,
            Outlet.name,
            Version.title,
            Version.text,
            Article.published,
            Article.url,
            Outlet.kind,
            Outlet.country,
            Article.original_id,
        )
        .join(Membership, Membership.article_id == Article.id)
        .join(Version, (Version.article_id == Article.id) & (Version.seq == newest))
        .join(Outlet, Outlet.id == Article.outlet_id)
        .where(Membership.story_id == story_id)
        .order_by(Article.published.desc(), Article.id.desc())
        .limit(MAX_STORY_ARTICLES)
    ).all()
    return [
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
        for article_id, outlet, title, text, published, url, kind, country, original_id in rows
    ]


def compare_story(session: Session, story_id: int, now: datetime | None = None, index: bool = True) -> dict[str, Any]:
    """Build and store the story's report; commits; returns the report. ``index``: also rewrite the
    story's search-index rows (``compare_stale_stories`` does that once for a whole batch instead)."""
    story = session.get(Story, story_id)
    if story is None:
        raise NotFound(f"story {story_id} does not exist (it may have been merged into another); list stories first")
    from storydiff.compare import embed
    from storydiff.compare.report import build_report

    semantic = embed.enabled(settings.get("STORYDIFF_SEMANTIC"))
    # the report is as of when its articles were read: a version fetched after this is newer than it
    read_at = now or datetime.now(UTC)
    report = build_report(story_articles(session, story_id), story_id=story_id, title=story.title, semantic=semantic)
    body = json.dumps(report, ensure_ascii=False, sort_keys=True, default=str)
    # Two workers may compute one story at once (a clustering run re-queues it while it is being
    # computed). The story's row is locked to store (PostgreSQL; SQLite has one writer anyway), so
    # they store one after the other, and a report read from older data than the stored one is not
    # stored over it: the last to finish is not always the newest.
    session.execute(select(Story.id).where(Story.id == story_id).with_for_update())
    row = session.get(Report, story_id, populate_existing=True) or Report(story_id=story_id)
    if row.computed_at is not None and row.schema == SCHEMA_VERSION and _utc(row.computed_at) > read_at:
        session.commit()
        return report
    row.schema = SCHEMA_VERSION
    row.computed_at = read_at
    row.outlets = len(report["outlets"])
    row.divergences = len(report["divergences"])
    row.types = "," + ",".join(sorted(report["counts"])) + ","
    row.etag = hashlib.sha1(body.encode()).hexdigest()
    row.body = body
    session.add(row)
    story.divergence_score = report["divergence_score"]
    if index:
        index_stories(session, [story_id])  # a member's edited title or lead is searchable with the report
    session.commit()
    return report


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def stale_story_ids(session: Session, limit: int = 500) -> list[int]:
    """Stories whose report is missing, of an older schema, or older than a member's newest version."""
    newest_fetch = (
        select(Membership.story_id, func.max(Version.fetched_at).label("fetched"))
        .join(Version, Version.article_id == Membership.article_id)
        .group_by(Membership.story_id)
        .subquery()
    )
    rows = session.execute(
        select(Story.id)
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
    return [r[0] for r in rows]


def compare_stale_stories(session: Session, limit: int = 500) -> list[int]:
    """Recompute every stale report (see ``stale_story_ids``), ``limit`` at a time until none is
    left; returns the story ids done."""
    done: list[int] = []
    while True:
        batch = [s for s in stale_story_ids(session, limit) if s not in done]
        # the batch's search rows first, in one pass (a crash before its reports leaves them stale: redone)
        index_stories(session, batch)
        session.commit()
        for story_id in batch:
            compare_story(session, story_id, index=False)
            done.append(story_id)
        if len(batch) < limit:
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
