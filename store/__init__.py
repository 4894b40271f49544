"""Persistence: engine/session (db.py), tables (models.py), queries, Alembic migrations.

The engine helpers are loaded on first use: `storydiff stats` counts through the database driver
alone (``store.counts.quick_stats``) and starts without importing SQLAlchemy."""

from typing import TYPE_CHECKING, Any

__all__ = ["make_engine", "migrate", "open_database", "session_factory", "session_scope"]

if TYPE_CHECKING:
    from storydiff.store.db import make_engine, migrate, open_database, session_factory, session_scope
else:

    def __getattr__(name: str) -> Any:
        if name in __all__:
            from storydiff.store import db

            return getattr(db, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
