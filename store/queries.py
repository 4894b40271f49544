"""Read queries shared by the CLI and the web app."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Subquery, and_, func, or_, select
from sqlalchemy.orm import Session

from storydiff.store.counts import stats as stats  # re-exported: the counts are plain SQL (store/counts.py)
from storydiff.store.models import Article, Feed, Outlet, StoryArticle, Version


def newest_versions(article_ids: Sequence[int] | None = None) -> Subquery:
    """(article_id, seq) of each article's newest version, optionally for some articles only."""
    stmt = select(Version.article_id, func.max(Version.seq).label("seq")).group_by(Version.article_id)
    if article_ids is not None:
        stmt = stmt.where(Version.article_id.in_(article_ids))
    return stmt.subquery()


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def feed_health(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(select(Feed, Outlet).join(Outlet).order_by(Outlet.name, Feed.id))
    return [
        {
            "id": feed.id,
            "url": feed.url,
            "title": feed.title,
            "outlet": outlet.name,
            "kind": outlet.kind,
            "country": outlet.country,
            "status": feed.last_status or "never fetched",
            "last_fetch": iso(feed.last_fetch_at),
            "last_success": iso(feed.last_success_at),
            "error_count": feed.error_count,
            "last_error": feed.last_error,
            "next_check": iso(feed.next_check_at),
        }
        for feed, outlet in rows
    ]


def recent_articles(
    session: Session, limit: int = 50, before: tuple[datetime, int] | None = None
) -> list[dict[str, Any]]:
    """Newest articles first; ``before`` (published, id) continues after the last row of a page."""
    newest = newest_versions()
    stmt = (
        select(Article, Outlet.name, Version.title)
        .join(Outlet, Article.outlet_id == Outlet.id)
        .join(newest, newest.c.article_id == Article.id)
        .join(Version, (Version.article_id == Article.id) & (Version.seq == newest.c.seq))
    )
    if before is not None:
        stmt = stmt.where(
            or_(Article.published < before[0], and_(Article.published == before[0], Article.id < before[1]))
        )
    stmt = stmt.order_by(Article.published.desc(), Article.id.desc()).limit(limit)
    return [
        {
            "id": a.id,
            "outlet": outlet,
            "title": title,
            "url": a.url,
            "published": iso(a.published),
            "language": a.language or None,  # "" while not identified yet
            "original_id": a.original_id,
        }
        for a, outlet, title in session.execute(stmt)
    ]


def insert_new(session: Session, model: Any, values: dict[str, Any]) -> int | None:
    """INSERT … ON CONFLICT DO NOTHING (SQLite and PostgreSQL): the new row's id, or None when a
    unique constraint says the row is already there (written by this or a concurrent run)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = dialect_insert(model).values(**values).on_conflict_do_nothing().returning(model.id)
    return session.execute(statement).scalar()


def link_articles(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Article rows with where they lead: ``story_id`` (the story the article belongs to, or None)
    and, for a wire copy, ``original`` = {"id", "outlet", "title", "story_id"} of the article it copies."""
    ids = {r["id"] for r in rows} | {r["original_id"] for r in rows if r.get("original_id")}
    if not ids:
        return rows
    stories: dict[int, int] = {}
    for article_id, story_id in session.execute(
        select(StoryArticle.article_id, StoryArticle.story_id)
        .where(StoryArticle.article_id.in_(ids))
        .order_by(StoryArticle.story_id)
    ):
        stories.setdefault(article_id, story_id)
    originals: dict[int, dict[str, Any]] = {}
    wanted = [r["original_id"] for r in rows if r.get("original_id")]
    if wanted:
        newest = newest_versions(wanted)
        for article, outlet, title in session.execute(
            select(Article, Outlet.name, Version.title)
            .join(Outlet, Article.outlet_id == Outlet.id)
            .join(newest, newest.c.article_id == Article.id)
            .join(Version, (Version.article_id == Article.id) & (Version.seq == newest.c.seq))
        ):
            originals[article.id] = {
                "id": article.id,
                "outlet": outlet,
                "title": title,
                "url": article.url,
                "story_id": stories.get(article.id),
            }
    return [
        r
        | {
            "story_id": stories.get(r["id"]),
            "original": originals.get(r["original_id"]) if r.get("original_id") else None,
        }
        for r in rows
    ]
