"""Persistence: engine/session (db.py), tables (models.py), queries, Alembic migrations."""

from storydiff.store.db import make_engine, migrate, open_database, session_factory, session_scope

__all__ = ["make_engine", "migrate", "open_database", "session_factory", "session_scope"]
