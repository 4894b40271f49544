"""The database's counts (``storydiff stats``, ``/api/stats``, the home page) as plain SQL in one
statement: the pages run it through their session (every page shows these counts, and six round
trips cost more than the counting on SQLite), and ``storydiff stats`` through the database driver
alone (``quick_stats``: no SQLAlchemy, no ORM, no models to import — most of the command's
start-up time). The table and column names are the models' (``store/models.py``)."""

from __future__ import annotations

from functools import cache
from typing import Any

COUNTS = {
    "feeds": "SELECT count(*) FROM feeds",
    "articles": "SELECT count(*) FROM articles",
    "versions": "SELECT count(*) FROM versions",
    "stories": "SELECT count(*) FROM stories",
    "failing_feeds": "SELECT count(*) FROM feeds WHERE error_count > 0",
    "wire_copies": "SELECT count(*) FROM articles WHERE original_id IS NOT NULL",
}
STATS_SQL = "SELECT " + ", ".join(f"({sql}) AS {name}" for name, sql in COUNTS.items())


@cache
def _statement() -> Any:
    from sqlalchemy import text

    return text(STATS_SQL)


def stats(db: Any) -> dict[str, int]:
    """Counts of feeds, articles, versions, stories, failing feeds and wire copies; ``db``: a
    Session or a Connection (anything with ``execute``)."""
    row = db.execute(_statement()).one()
    return {name: int(value or 0) for name, value in zip(COUNTS, row, strict=True)}


def quick_stats(url: str) -> dict[str, int] | None:
    """The same counts through the DB-API driver, for a database already at the newest schema;
    None when that cannot be told that way (a new or older database, a URL with options: the
    caller then takes the full path, which migrates)."""
    from storydiff.store.revision import head_revision

    if "?" in url:
        return None
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        import sqlite3
        from pathlib import Path

        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            return None
        conn: Any = sqlite3.connect(path, timeout=30)
    elif url.startswith("postgresql+psycopg://"):
        import psycopg

        conn = psycopg.connect("postgresql://" + url.split("://", 1)[1], connect_timeout=10)
    else:
        return None
    try:
        cur = conn.cursor()
        try:
            cur.execute("SELECT version_num FROM alembic_version")
        except Exception:  # no table yet: a new database
            return None
        if [row[0] for row in cur.fetchall()] != [head_revision()]:
            return None
        cur.execute(STATS_SQL)
        return {name: int(value or 0) for name, value in zip(COUNTS, cur.fetchone(), strict=True)}
    finally:
        conn.close()
