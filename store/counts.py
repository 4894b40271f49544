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


def _count(table: Any, where: Any = None) -> Any:
    stmt = select(func.count()).select_from(table)
    return (stmt if where is None else stmt.where(where)).scalar_subquery()


# one statement, built once: every page shows these counts, and six round trips (each with its own
# statement to build and look up in the compiled cache) cost more than the counting on SQLite
_STATS = select(
    _count(_FEEDS).label("feeds"),
    _count(_ARTICLES).label("articles"),
    _count(_VERSIONS).label("versions"),
    _count(_STORIES).label("stories"),
    _count(_FEEDS, _FEEDS.c.error_count > 0).label("failing_feeds"),
    _count(_ARTICLES, _ARTICLES.c.original_id.is_not(None)).label("wire_copies"),
)


def stats(db: Any) -> dict[str, int]:
    """Counts of feeds, articles, versions, stories, failing feeds and wire copies; ``db``: a
    Session or a Connection (anything with ``execute``)."""
    row = db.execute(_STATS).one()
    return {name: int(value or 0) for name, value in row._mapping.items()}
