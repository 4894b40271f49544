"""The database's counts (``storydiff stats``, ``/api/stats``, the home page) in SQLAlchemy Core
only: the command that prints them starts without importing the ORM and the models (about half
of its start-up time). The table and column names are the models' (``store/models.py``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import column, func, select, table

_FEEDS = table("feeds", column("error_count"))
_ARTICLES = table("articles", column("original_id"))
_VERSIONS = table("versions")
_STORIES = table("stories")


def stats(db: Any) -> dict[str, int]:
    """Counts of feeds, articles, versions, stories, failing feeds and wire copies; ``db``: a
    Session or a Connection (anything with ``scalar``)."""

    def count(stmt: Any) -> int:
        return int(db.scalar(stmt) or 0)

    return {
        "feeds": count(select(func.count()).select_from(_FEEDS)),
        "articles": count(select(func.count()).select_from(_ARTICLES)),
        "versions": count(select(func.count()).select_from(_VERSIONS)),
        "stories": count(select(func.count()).select_from(_STORIES)),
        "failing_feeds": count(select(func.count()).select_from(_FEEDS).where(_FEEDS.c.error_count > 0)),
        "wire_copies": count(select(func.count()).select_from(_ARTICLES).where(_ARTICLES.c.original_id.is_not(None))),
    }
